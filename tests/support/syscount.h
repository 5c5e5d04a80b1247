// Helpers shared by syscount's system and privilege tests: run a program and
// capture its output, find syscount's BPF programs, skip without root.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/syscount/tracer.h"

namespace syscount_test {

inline std::string syscount_path() { return BPFREADY_BINARY_DIR "/tools/syscount/syscount"; }
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
    std::vector<char*> args;
    for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(126);
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
  for (int attempt = 0; attempt < 20; ++attempt) {
    leaked.clear();
    for (auto id : syscount_program_ids()) {
      if (!before.contains(id)) leaked.insert(id);
    }
    if (leaked.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return leaked;
}

inline std::size_t line_count(const std::string& text) {
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

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
