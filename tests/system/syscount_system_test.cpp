// syscount against ground truth on the live kernel: exact counts from a
// program that makes known calls, equality with `strace -f -c` on real
// programs, bad input, exit statuses, and no BPF program left behind.
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/syscount.h"

using namespace syscount_test;

namespace {

nlohmann::json json_report(const std::vector<std::string>& options,
                           const std::vector<std::string>& command, RunResult* result_out = nullptr) {
  const std::string report = temp_path(".json");
  std::vector<std::string> argv = {syscount_path(), "--json", "-o", report};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  RunResult result = run(argv, /*discard_out=*/true);
  if (result_out) *result_out = result;
  auto doc = nlohmann::json::parse(slurp(report), nullptr, false);
  std::remove(report.c_str());
  return doc;
}

void expect_maker_counts(const std::map<std::string, Counted>& counts, bool errors) {
  struct Expect {
    const char* name;
    std::uint64_t count;
    std::uint64_t errors;
  };
  const Expect expected[] = {{"getppid", 1000, 0}, {"fchdir", 37, 37}, {"getpgrp", 500, 0},
                             {"getpriority", 11, 11}, {"getsid", 323, 23}, {"execve", 1, 0},
                             {"exit_group", 2, 0}};
  for (const auto& e : expected) {
    ASSERT_TRUE(counts.contains(e.name)) << e.name;
    EXPECT_EQ(counts.at(e.name).count, e.count) << e.name;
    if (errors) {
      EXPECT_EQ(counts.at(e.name).errors, e.errors) << e.name;
    }
  }
}

class SyscountSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    SYSCOUNT_REQUIRE_ROOT();
    before_ = syscount_program_ids();
  }
  void TearDown() override {
    if (IsSkipped()) return;
    EXPECT_TRUE(leaked_since(before_).empty()) << "a syscount BPF program is still loaded";
  }
  std::set<std::uint64_t> before_;
};

TEST_F(SyscountSystem, CountsKnownCallsExactlyInEveryMode) {
  const std::vector<std::vector<std::string>> modes = {
      {}, {"--errors"}, {"--latency"}, {"--errors", "--latency", "--by-process", "--by-thread"}};
  for (const auto& mode : modes) {
    RunResult result;
    auto doc = json_report(mode, {maker_path()}, &result);
    ASSERT_TRUE(doc.is_object()) << result.err;
    EXPECT_EQ(result.status, 7) << "syscount's exit status is the command's";
    EXPECT_EQ(doc["exit_status"], 7);
    const bool errors = std::find(mode.begin(), mode.end(), "--errors") != mode.end();
    expect_maker_counts(counts_from_json(doc), errors);
    EXPECT_EQ(doc["ebpf"]["syscalls"]["dropped_events"], 0);
  }
}

TEST_F(SyscountSystem, BreaksDownPerThreadAndPerProcess) {
  auto doc = json_report({"--errors", "--by-process", "--by-thread"}, {maker_path()});
  ASSERT_TRUE(doc.is_object());
  const auto& syscalls = doc["ebpf"]["syscalls"];
  ASSERT_EQ(syscalls["by_process"].size(), 2u) << "the program and its forked child";
  ASSERT_EQ(syscalls["by_thread"].size(), 3u) << "main thread, second thread, child";
  auto find = [](const nlohmann::ordered_json& tasks, const std::string& name) {
    std::vector<std::uint64_t> found;
    for (const auto& task : tasks) {
      for (const auto& entry : task["syscalls"]) {
        if (entry["name"] == name) found.push_back(entry["count"].get<std::uint64_t>());
      }
    }
    return found;
  };
  EXPECT_EQ(find(syscalls["by_thread"], "getppid"), std::vector<std::uint64_t>{1000});
  EXPECT_EQ(find(syscalls["by_thread"], "getpgrp"), std::vector<std::uint64_t>{500});
  EXPECT_EQ(find(syscalls["by_process"], "getsid"), std::vector<std::uint64_t>{323});
  // The main thread and the second thread are one process.
  EXPECT_EQ(syscalls["by_thread"][0]["pid"], syscalls["by_thread"][1]["pid"]);
}

// strace under the same conditions as a command syscount starts as root: uid
// 0 without any capability (syscount never hands the command one).
std::map<std::string, Counted> strace_counts(const std::vector<std::string>& command) {
  const std::string out = temp_path(".strace");
  std::vector<std::string> argv = {"setpriv",      "--bounding-set=-all",
                                   "--inh-caps=-all", "--ambient-caps=-all",
                                   "--securebits=+noroot,+noroot_locked",
                                   "--no-new-privs", "--",
                                   "strace",       "-f", "-c", "-o", out, "--"};
  argv.insert(argv.end(), command.begin(), command.end());
  run(argv, /*discard_out=*/true);
  auto counts = counts_from_strace(slurp(out));
  std::remove(out.c_str());
  return counts;
}

// strace -c leaves out calls that never return to it (exit, exit_group).
// rt_sigreturn and restart_syscall follow asynchronous signal delivery (the
// shell's SIGCHLD handler runs or not depending on timing), so they differ
// from one run of the same command to the next, traced or not.
void expect_same_as_strace(const std::vector<std::string>& command) {
  auto ours = counts_from_json(json_report({"--errors"}, command));
  auto theirs = strace_counts(command);
  ASSERT_FALSE(theirs.empty()) << "strace gave no counts";
  for (const char* name : {"exit_group", "exit", "rt_sigreturn", "restart_syscall"}) {
    ours.erase(name);
    theirs.erase(name);
  }
  for (const auto& [name, counted] : theirs) {
    ASSERT_TRUE(ours.contains(name)) << name << " counted by strace only";
    EXPECT_EQ(ours[name].count, counted.count) << name;
    EXPECT_EQ(ours[name].errors, counted.errors) << name;
  }
  for (const auto& [name, counted] : ours) {
    EXPECT_TRUE(theirs.contains(name)) << name << " counted by syscount only (" << counted.count
                                       << ")";
  }
}

TEST_F(SyscountSystem, EqualsStraceOnAShellPipeline) {
  // Small writes (below PIPE_BUF) keep every reader's call count fixed.
  expect_same_as_strace(
      {"/bin/sh", "-c", "echo hello | tr a-z A-Z | wc -c; ls /usr | sort -r | wc -l"});
}

TEST_F(SyscountSystem, EqualsStraceOnLsRecursive) { expect_same_as_strace({"ls", "-R", "/usr/share"}); }

TEST_F(SyscountSystem, ExitStatusIsTheCommands) {
  EXPECT_EQ(run({syscount_path(), "--", "/bin/sh", "-c", "exit 3"}, true).status, 3);
  EXPECT_EQ(run({syscount_path(), "--", "/bin/sh", "-c", "kill -TERM $$"}, true).status, 128 + 15);
  auto not_found = run({syscount_path(), "--", "bpfr-sc-no-such-command"}, true);
  EXPECT_EQ(not_found.status, 127);
  EXPECT_EQ(line_count(not_found.err), 1u) << not_found.err;
}

TEST_F(SyscountSystem, BadInputIsOneLineAndNonZero) {
  const std::string unwritable = "/proc/bpfr-sc-no-such-dir/report";
  const std::vector<std::vector<std::string>> cases = {
      {"--syscall", "no_such_call", "--", "true"},
      {"--category", "no_such_category", "--", "true"},
      {"-p", "4194303"},
      {"-p", "abc"},
      {},
      {"-a", "-p", "1"},
      {"-o", unwritable, "--", "true"},
      {"-o", "/", "--", "true"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {syscount_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run(argv, true);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_NE(result.status, 0) << shown;
    EXPECT_EQ(line_count(result.err), 1u) << shown << ": " << result.err;
    EXPECT_EQ(result.err.rfind("syscount: ", 0), 0u) << result.err;
  }
}

TEST_F(SyscountSystem, FollowsExistingProcessAndItsChildren) {
  // The target waits, then runs the maker in place (same PID); the maker's
  // fork must be followed.
  const std::string script = "read line; exec " + maker_path();
  int to_target[2];
  ASSERT_EQ(pipe(to_target), 0);
  const pid_t target = fork();
  if (target == 0) {
    dup2(to_target[0], 0);
    close(to_target[1]);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    _exit(126);
  }
  close(to_target[0]);
  const std::string report = temp_path(".json");
  auto result = run({syscount_path(), "--json", "--errors", "-o", report, "-p",
                     std::to_string(target)},
                    true, {}, [&](pid_t) {
                      std::this_thread::sleep_for(std::chrono::milliseconds(700));
                      (void)!write(to_target[1], "go\n", 3);
                      close(to_target[1]);
                    });
  int status = 0;
  waitpid(target, &status, 0);
  EXPECT_EQ(result.status, 0) << result.err;
  auto doc = nlohmann::json::parse(slurp(report), nullptr, false);
  std::remove(report.c_str());
  ASSERT_TRUE(doc.is_object()) << result.err;
  auto counts = counts_from_json(doc);
  EXPECT_EQ(counts["getppid"].count, 1000u);
  EXPECT_EQ(counts["getsid"].count, 323u) << "the forked child is followed";
  EXPECT_EQ(counts["getsid"].errors, 23u);
  EXPECT_EQ(counts["execve"].count, 1u);
}

TEST_F(SyscountSystem, SigtermPrintsSummaryAndDetaches) {
  auto result = run({syscount_path(), "--json", "-a"}, false, {}, [](pid_t pid) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill(pid, SIGTERM);
  });
  EXPECT_EQ(result.status, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << result.out;
  EXPECT_GT(doc["ebpf"]["syscalls"]["total"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(doc["mode"], "all");
}

TEST_F(SyscountSystem, IntervalModeWritesJsonLinesOfDeltas) {
  auto result = run({syscount_path(), "--json", "-a", "-i", "0.1", "-d", "0.45"});
  EXPECT_EQ(result.status, 0) << result.err;
  std::istringstream lines(result.out);
  std::vector<nlohmann::json> docs;
  for (std::string line; std::getline(lines, line);) {
    docs.push_back(nlohmann::json::parse(line, nullptr, false));
    ASSERT_TRUE(docs.back().is_object()) << line;
  }
  ASSERT_GE(docs.size(), 4u);
  EXPECT_EQ(docs.front()["interval"]["index"], 1);
  EXPECT_EQ(docs.back()["interval"]["final"], true);
}

TEST_F(SyscountSystem, FiltersLimitTheReport) {
  auto doc = json_report({"--syscall", "getppid,getsid", "--errors"}, {maker_path()});
  ASSERT_TRUE(doc.is_object());
  auto counts = counts_from_json(doc);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(doc["ebpf"]["syscalls"]["total"], 1323);
  doc = json_report({"--failed"}, {maker_path()});
  for (const auto& [name, counted] : counts_from_json(doc)) EXPECT_GT(counted.errors, 0u) << name;
  doc = json_report({"--category", "file_io"}, {maker_path()});
  for (const auto& entry : doc["ebpf"]["syscalls"]["syscalls"]) EXPECT_EQ(entry["category"], "file_io");
}

}  // namespace
