// Helpers shared by syscount's system and privilege tests: run a program and
// capture its output (in the foreground, or in the background with a
// deadline), find syscount's BPF programs, skip without root.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/syscount/tracer.h"

namespace syscount_test {

// How long a test waits for what normally takes milliseconds (syscount
// loading, a process ending). Generous, because under qemu's emulation
// (tests/kernels) everything is 4-17x slower; a wait ends as soon as its
// event comes, so this costs nothing unless the test fails.
inline constexpr std::chrono::milliseconds kPatience = std::chrono::seconds(60);

inline std::string syscount_path() { return BPFREADY_BINARY_DIR "/tools/syscount/syscount"; }

// The variant of syscount's programs the running test loads: "tp_btf" or
// "raw_tp". System tests run once per variant (SyscountVariantTest); on a
// host with BTF, raw_tp is the fallback forced with --flavour.
inline std::string& flavour_under_test() {
  static std::string flavour = "tp_btf";
  return flavour;
}

// syscount's argv: the binary, --flavour of the test, then ARGS.
inline std::vector<std::string> syscount_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {syscount_path(), "--flavour", flavour_under_test()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}
inline std::string maker_path() { return BPFREADY_BINARY_DIR "/tests/support/syscount_maker"; }

// System tests need root; CI sets BPFREADY_REQUIRE_SYSTEM_TESTS=1, where a
// skip would hide a failure.
#define SYSCOUNT_REQUIRE_ROOT()                                                        \
  do {                                                                                 \
    if (geteuid() != 0) {                                                              \
      const char* require = std::getenv("BPFREADY_REQUIRE_SYSTEM_TESTS");              \
      if (require && std::string(require) == "1") {                                    \
        FAIL() << "needs root (BPFREADY_REQUIRE_SYSTEM_TESTS=1 forbids skipping)";     \
      }                                                                                \
      GTEST_SKIP() << "needs root to load BPF programs and create test users";         \
    }                                                                                  \
  } while (0)

struct RunResult {
  int status = -1;  // exit code, 128+N when killed by signal N
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string temp_path(const std::string& tag) {
  char pattern[] = "/tmp/bpfr_sc_XXXXXX";
  int fd = mkstemp(pattern);
  if (fd >= 0) close(fd);
  unlink(pattern);  // only the unique name is wanted
  return std::string(pattern) + tag;
}

// In a forked child: runs ARGV (searched in PATH), or exits 126.
[[noreturn]] inline void exec_or_exit(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(126);
}

// Runs ARGV with stdout and stderr captured (stdout to /dev/null when
// DISCARD_OUT), after BEFORE_EXEC runs in the child (e.g. to change user).
inline RunResult run(const std::vector<std::string>& argv, bool discard_out = false,
                     const std::function<void()>& before_exec = {},
                     const std::function<void(pid_t)>& while_running = {}) {
  const std::string out_path = temp_path(".out");
  const std::string err_path = temp_path(".err");
  const pid_t pid = fork();
  if (pid == 0) {
    int out = open(discard_out ? "/dev/null" : out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    if (before_exec) before_exec();
    exec_or_exit(argv);
  }
  if (while_running) while_running(pid);
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return result;
}

// Ids of loaded BPF programs named like syscount's.
inline std::set<std::uint64_t> syscount_program_ids() {
  std::set<std::uint64_t> ids;
  auto listed = run({"/usr/sbin/bpftool", "-j", "prog", "show"});
  auto doc = nlohmann::json::parse(listed.out, nullptr, false);
  if (!doc.is_array()) return ids;
  const auto& names = bpfready::syscount_program_names();
  for (const auto& prog : doc) {
    if (!prog.contains("name")) continue;
    const auto name = prog["name"].get<std::string>();
    for (const auto& ours : names) {
      if (name == ours) ids.insert(prog["id"].get<std::uint64_t>());
    }
  }
  return ids;
}

// Programs named like syscount's that appeared since BEFORE and are still
// loaded after a grace period (another test's syscount may be running).
inline std::set<std::uint64_t> leaked_since(const std::set<std::uint64_t>& before) {
  std::set<std::uint64_t> leaked;
  for (int attempt = 0; attempt < 200; ++attempt) {  // up to 20 s: see kPatience
    leaked.clear();
    for (auto id : syscount_program_ids()) {
      if (!before.contains(id)) leaked.insert(id);
    }
    if (leaked.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return leaked;
}

// Polls CONDITION every 10 ms until it holds or WITHIN has passed: waiting
// for something another process does, never a fixed sleep. Its last value.
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds within = kPatience) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Whether a syscount program that was not loaded at BEFORE is loaded now.
inline bool new_programs_loaded(const std::set<std::uint64_t>& before) {
  for (auto id : syscount_program_ids()) {
    if (!before.contains(id)) return true;
  }
  return false;
}

// Waits until a syscount started since BEFORE has loaded its programs.
inline bool wait_for_new_programs(const std::set<std::uint64_t>& before,
                                  std::chrono::milliseconds within = kPatience) {
  return wait_until([&] { return new_programs_loaded(before); }, within);
}

// Waits until every syscount program loaded since BEFORE is gone.
inline bool programs_gone(const std::set<std::uint64_t>& before,
                          std::chrono::milliseconds within = kPatience) {
  return wait_until([&] { return !new_programs_loaded(before); }, within);
}

// Waits until syscount, process PID, holds no capability any more. It drops
// them right after attaching its programs and registering its targets, so
// from then on every call of a target is counted. True too if it ended.
inline bool wait_for_tracking(pid_t pid, std::chrono::milliseconds within = kPatience) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  return wait_until(
      [&] {
        const std::string status = slurp(path);
        return status.empty() || status.find("\nCapEff:\t0000000000000000\n") != std::string::npos;
      },
      within);
}

// A program started in the background, in its own process group, with stdin
// from a pipe the test holds, and stdout and stderr to temporary files
// (after BEFORE_EXEC runs in the child). Whatever still runs of its process group
// is killed when the object goes, so a hung run cannot outlive its test.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv,
                      const std::function<void()>& before_exec = {})
      : out_path_(temp_path(".out")), err_path_(temp_path(".err")) {
    int input[2] = {-1, -1};
    if (pipe2(input, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      dup2(input[0], 0);
      dup2(open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), 1);
      dup2(open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), 2);
      if (before_exec) before_exec();
      exec_or_exit(argv);
    }
    setpgid(pid_, pid_);  // either side may get there first
    close(input[0]);
    stdin_ = input[1];
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  }
  ~Background() {
    close_stdin();
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      if (!status_) waitpid(pid_, nullptr, 0);
    }
    if (pidfd_ >= 0) close(pidfd_);
    std::remove(out_path_.c_str());
    std::remove(err_path_.c_str());
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  void close_stdin() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }
  void signal(int signo) const {
    if (pid_ > 0 && !status_) kill(pid_, signo);
  }
  // The exit status (128+N when killed by signal N) if it ends within WITHIN.
  std::optional<int> wait(std::chrono::milliseconds within = kPatience) {
    if (status_ || pid_ <= 0 || pidfd_ < 0) return status_;
    pollfd ready{pidfd_, POLLIN, 0};
    if (poll(&ready, 1, static_cast<int>(within.count())) != 1) return std::nullopt;
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }
  [[nodiscard]] bool ended() {
    return wait(std::chrono::milliseconds(0)).has_value();
  }
  [[nodiscard]] std::string out() const { return slurp(out_path_); }
  [[nodiscard]] std::string err() const { return slurp(err_path_); }

 private:
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

// A forked process with the name NAME (prctl(PR_SET_NAME), so any bytes),
// that makes 10 getppid calls when told to, then exits.
class NamedTarget {
 public:
  explicit NamedTarget(const char* name = "\xff\xfe" "A") {
    int go[2];
    if (pipe2(go, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(go[1]);
      prctl(PR_SET_NAME, name, 0, 0, 0);
      char byte = 0;
      if (read(go[0], &byte, 1) != 1) _exit(1);
      for (int i = 0; i < 10; ++i) syscall(SYS_getppid);
      _exit(0);
    }
    close(go[0]);
    go_ = go[1];
  }
  ~NamedTarget() {
    if (go_ >= 0) close(go_);  // it exits without a call
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  NamedTarget(const NamedTarget&) = delete;
  NamedTarget& operator=(const NamedTarget&) = delete;
  [[nodiscard]] pid_t pid() const { return pid_; }
  // Lets it make its calls and waits until it has exited (and is reaped).
  void go_and_wait() {
    (void)!write(go_, "g", 1);
    close(go_);
    go_ = -1;
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
};

// A FIFO, and a reader on it that reads only when told to.
class Fifo {
 public:
  Fifo() : path_(temp_path(".fifo")) { mkfifo(path_.c_str(), 0600); }
  ~Fifo() {
    if (reader_ >= 0) close(reader_);
    std::remove(path_.c_str());
  }
  Fifo(const Fifo&) = delete;
  Fifo& operator=(const Fifo&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  // Opens the reader, with the FIFO's buffer at one page: the first write
  // fills it, the next one blocks.
  bool open_reader() {
    reader_ = open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    return reader_ >= 0 && fcntl(reader_, F_SETPIPE_SZ, 4096) >= 0;
  }
  [[nodiscard]] int buffered() const {
    int bytes = 0;
    return ioctl(reader_, FIONREAD, &bytes) == 0 ? bytes : -1;
  }
  // Everything until the writer closes its end (or WITHIN passes).
  std::string drain(std::chrono::milliseconds within = kPatience) {
    std::string text;
    char buffer[65536];
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd ready{reader_, POLLIN, 0};
      if (poll(&ready, 1, 100) < 0) break;
      const ssize_t n = read(reader_, buffer, sizeof buffer);
      if (n == 0) break;
      if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
  }

 private:
  std::string path_;
  int reader_ = -1;
};

inline std::size_t line_count(const std::string& text) {
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

// syscount's JSON report (-o FILE) of COMMAND run with OPTIONS; the run's
// status and messages in *RESULT_OUT when given. Not an object when there
// was no report.
inline nlohmann::json json_report(const std::vector<std::string>& options,
                                  const std::vector<std::string>& command,
                                  RunResult* result_out = nullptr) {
  const std::string report = temp_path(".json");
  std::vector<std::string> args = {"--json", "-o", report};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  RunResult result = run(syscount_argv(args), /*discard_out=*/true);
  if (result_out) *result_out = result;
  auto doc = nlohmann::json::parse(slurp(report), nullptr, false);
  std::remove(report.c_str());
  return doc;
}

// A system test of syscount, run once with each variant of its programs:
// needs root, and checks that no syscount program is left loaded.
class SyscountVariantTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    SYSCOUNT_REQUIRE_ROOT();
    flavour_under_test() = GetParam();
    before_ = syscount_program_ids();
  }
  void TearDown() override {
    if (IsSkipped()) return;
    EXPECT_TRUE(leaked_since(before_).empty()) << "a syscount BPF program is still loaded";
  }
  std::set<std::uint64_t> before_;
};

// Test names end in the variant: .../tp_btf, .../raw_tp.
inline std::string variant_name(const ::testing::TestParamInfo<std::string>& variant) {
  return variant.param;
}

// Instantiates SUITE (a SyscountVariantTest) once per variant.
#define SYSCOUNT_FOR_EACH_VARIANT(SUITE)                                                   \
  INSTANTIATE_TEST_SUITE_P(Variants, SUITE, ::testing::Values("tp_btf", "raw_tp"), \
                           ::syscount_test::variant_name)

// syscall name -> {count, errors} from a syscount JSON report.
struct Counted {
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
};
inline std::map<std::string, Counted> counts_from_json(const nlohmann::json& doc) {
  std::map<std::string, Counted> counts;
  for (const auto& entry : doc["ebpf"]["syscalls"]["syscalls"]) {
    Counted counted;
    counted.count = entry["count"].get<std::uint64_t>();
    if (entry.contains("errors")) counted.errors = entry["errors"].get<std::uint64_t>();
    counts[entry["name"].get<std::string>()] = counted;
  }
  return counts;
}

// syscall name -> {calls, errors} from `strace -c` output.
inline std::map<std::string, Counted> counts_from_strace(const std::string& text) {
  std::map<std::string, Counted> counts;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;) fields.push_back(word);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (fields.size() < 5 || fields[0].find_first_not_of("0123456789.") != std::string::npos) {
      continue;
    }
    if (fields.back() == "total") continue;
    Counted counted;
    counted.count = std::stoull(fields[3]);
    if (fields.size() == 6) counted.errors = std::stoull(fields[4]);
    counts[fields.back()] = counted;
  }
  return counts;
}

}  // namespace syscount_test
