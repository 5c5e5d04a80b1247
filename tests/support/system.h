// Shared helpers for the system and privilege tests: root gating, test users,
// running commands, tracefs state.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

// System tests need root. When the environment asks for them
// (BPFREADY_REQUIRE_SYSTEM_TESTS=1, as CI does), not being able to run is a
// failure, not a skip.
#define BPFREADY_REQUIRE_ROOT()                                                               \
  do {                                                                                        \
    if (::geteuid() != 0) {                                                                   \
      if (std::getenv("BPFREADY_REQUIRE_SYSTEM_TESTS") != nullptr) {                          \
        FAIL() << "system test needs root, and BPFREADY_REQUIRE_SYSTEM_TESTS is set";         \
      }                                                                                       \
      GTEST_SKIP() << "needs root (set BPFREADY_REQUIRE_SYSTEM_TESTS=1 to make this a failure)"; \
    }                                                                                         \
  } while (0)

namespace bpfready::testing {

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string output;  // stdout (and stderr when merged)
};

// Runs a shell command line and captures its stdout (stderr too with 2>&1 in CMD).
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

inline std::string unique_name(const std::string& prefix) {
  std::random_device device;
  return prefix + std::to_string(::getpid() % 100000) + "_" + std::to_string(device() % 100000);
}

// A throw-away user (no home, own group), removed on destruction.
class TestUser {
 public:
  TestUser() : name_(unique_name("bpfr_u")) {
    created_ = run_command("useradd -M -U -s /bin/sh " + name_ + " 2>&1").exit_code == 0;
  }
  ~TestUser() {
    if (created_) run_command("userdel " + name_ + " >/dev/null 2>&1; groupdel " + name_ + " >/dev/null 2>&1");
  }
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;
  [[nodiscard]] bool ok() const { return created_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  // Runs COMMAND as this user through a login-less shell.
  [[nodiscard]] CommandResult run(const std::string& command) const {
    return run_command("runuser -u " + name_ + " -- sh -c '" + command + "'");
  }

 private:
  std::string name_;
  bool created_ = false;
};

// A directory every user can traverse, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/bpfready-test-XXXXXX";
    path_ = ::mkdtemp(pattern) != nullptr ? pattern : "";
    if (!path_.empty()) ::chmod(path_.c_str(), 0755);
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Mounts tracefs at /sys/kernel/tracing for the test if it is not mounted,
// and unmounts it again only if this object mounted it.
class TracefsMounted {
 public:
  TracefsMounted() {
    if (run_command("findmnt -n -t tracefs /sys/kernel/tracing >/dev/null").exit_code != 0) {
      mounted_here_ = run_command("mount -t tracefs nodev /sys/kernel/tracing").exit_code == 0;
    }
  }
  ~TracefsMounted() {
    if (mounted_here_) run_command("umount /sys/kernel/tracing");
  }
  TracefsMounted(const TracefsMounted&) = delete;
  TracefsMounted& operator=(const TracefsMounted&) = delete;

 private:
  bool mounted_here_ = false;
};

inline std::string binary_path(const std::string& relative) {
  return std::string(BPFREADY_BINARY_DIR) + "/" + relative;
}

// BPF objects (programs, maps, links, perf events) this process still holds
// open: the kernel frees them when their last descriptor closes, so this is
// the precise leak test, immune to other processes loading programs.
inline int open_bpf_descriptors() {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (target.starts_with("anon_inode:bpf") || target == "anon_inode:[perf_event]") ++count;
  }
  return count;
}

}  // namespace bpfready::testing
