// syscount against ground truth on the live kernel: exact counts from a
// program that makes known calls, equality with `strace -f -c` on real
// programs, bad input, exit statuses, and no BPF program left behind.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "support/syscount.h"

using namespace syscount_test;

namespace {

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

class SyscountSystem : public SyscountVariantTest {};
SYSCOUNT_FOR_EACH_VARIANT(SyscountSystem);

TEST_P(SyscountSystem, CountsKnownCallsExactlyInEveryMode) {
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
    EXPECT_EQ(doc["programs"], GetParam()) << "the report says which programs counted";
  }
}

TEST_P(SyscountSystem, BreaksDownPerThreadAndPerProcess) {
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

// strace under the same conditions as a command syscount starts as root:
// root as it is (syscount changes nothing for root's command).
std::map<std::string, Counted> strace_counts(const std::vector<std::string>& command) {
  const std::string out = temp_path(".strace");
  std::vector<std::string> argv = {"strace", "-f", "-c", "-o", out, "--"};
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
  // A call a signal interrupts before it completes fails with ERESTARTNOINTR
  // (or another restart code) and is made again: one more call and one more
  // error, in one run and not the next (the shell's SIGCHLD comes when it
  // comes). Calls that succeed must match exactly; the failures of the calls
  // a signal can restart here may differ by such restarts, and only by them.
  const std::set<std::string> restartable = {"clone", "clone3", "fork", "vfork", "wait4", "waitid", "read", "write"};
  for (const auto& [name, counted] : theirs) {
    ASSERT_TRUE(ours.contains(name)) << name << " counted by strace only";
    EXPECT_EQ(ours[name].count - ours[name].errors, counted.count - counted.errors) << name << ": successful calls";
    if (!restartable.contains(name)) {
      EXPECT_EQ(ours[name].errors, counted.errors) << name;
    }
  }
  for (const auto& [name, counted] : ours) {
    EXPECT_TRUE(theirs.contains(name)) << name << " counted by syscount only (" << counted.count
                                       << ")";
  }
}

TEST_P(SyscountSystem, EqualsStraceOnAShellPipeline) {
  // Small writes (below PIPE_BUF) keep every reader's call count fixed.
  expect_same_as_strace(
      {"/bin/sh", "-c", "echo hello | tr a-z A-Z | wc -c; ls /usr | sort -r | wc -l"});
}

TEST_P(SyscountSystem, EqualsStraceOnLsRecursive) { expect_same_as_strace({"ls", "-R", "/usr/share"}); }

TEST_P(SyscountSystem, ExitStatusIsTheCommands) {
  EXPECT_EQ(run(syscount_argv({"--", "/bin/sh", "-c", "exit 3"}), true).status, 3);
  EXPECT_EQ(run(syscount_argv({"--", "/bin/sh", "-c", "kill -TERM $$"}), true).status, 128 + 15);
  auto not_found = run(syscount_argv({"--", "bpfr-sc-no-such-command"}), true);
  EXPECT_EQ(not_found.status, 127);
  EXPECT_EQ(line_count(not_found.err), 1u) << not_found.err;
}

TEST_P(SyscountSystem, BadInputIsOneLineAndNonZero) {
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
    auto result = run(syscount_argv(args), true);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_NE(result.status, 0) << shown;
    EXPECT_EQ(line_count(result.err), 1u) << shown << ": " << result.err;
    EXPECT_EQ(result.err.rfind("syscount: ", 0), 0u) << result.err;
  }
}

TEST_P(SyscountSystem, FollowsExistingProcessAndItsChildren) {
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
  // The target goes on once syscount tracks it (it has dropped its
  // capabilities), however long loading takes.
  auto result = run(syscount_argv({"--json", "--errors", "-o", report, "-p", std::to_string(target)}),
                    true, {}, [&](pid_t syscount) {
                      EXPECT_TRUE(wait_for_tracking(syscount));
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

TEST_P(SyscountSystem, SigtermPrintsSummaryAndDetaches) {
  auto result = run(syscount_argv({"--json", "-a"}), false, {}, [](pid_t pid) {
    EXPECT_TRUE(wait_for_tracking(pid));
    kill(pid, SIGTERM);
  });
  EXPECT_EQ(result.status, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << result.out;
  EXPECT_GT(doc["ebpf"]["syscalls"]["total"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(doc["mode"], "all");
}

// Four interval documents are waited for, then SIGTERM ends the run with a
// final one: no assumption on how fast the host is.
TEST_P(SyscountSystem, IntervalModeWritesJsonLinesOfDeltas) {
  Background traced(syscount_argv({"--json", "-a", "-i", "0.05"}));
  EXPECT_TRUE(wait_until([&] { return traced.ended() || line_count(traced.out()) >= 4; },
                         kPatience))
      << traced.err();
  traced.signal(SIGTERM);
  ASSERT_EQ(traced.wait(), 0) << traced.err();
  std::istringstream lines(traced.out());
  std::vector<nlohmann::json> docs;
  for (std::string line; std::getline(lines, line);) {
    docs.push_back(nlohmann::json::parse(line, nullptr, false));
    ASSERT_TRUE(docs.back().is_object()) << line;
  }
  ASSERT_GE(docs.size(), 5u) << "four intervals and the final document";
  EXPECT_EQ(docs.front()["interval"]["index"], 1);
  EXPECT_EQ(docs.back()["interval"]["final"], true);
}

TEST_P(SyscountSystem, FiltersLimitTheReport) {
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

// --- hostile input (issue 9) -----------------------------------------------

std::vector<std::string> with_syscount(const std::vector<std::string>& args) {
  return syscount_argv(args);
}

std::string shown(const std::vector<std::string>& args) {
  std::string text;
  for (const auto& arg : args) text += "'" + arg + "' ";
  return text;
}

// One line on stderr starting "syscount: ", nothing on stdout.
void expect_one_error_line(Background& run, int status, const std::string& what) {
  const auto ended = run.wait(kPatience);
  ASSERT_TRUE(ended.has_value()) << what << ": still running after a minute";
  EXPECT_EQ(*ended, status) << what << ": " << run.err();
  const std::string err = run.err();
  EXPECT_EQ(line_count(err), 1u) << what << ": " << err;
  EXPECT_EQ(err.rfind("syscount: ", 0), 0u) << what << ": " << err;
  EXPECT_EQ(run.out(), "") << what;
}

TEST_P(SyscountSystem, OutOfRangeOptionsFailAtOnce) {
  const std::vector<std::vector<std::string>> cases = {
      {"-i", "nan", "-a"},          {"-i", "1e10", "-a"},       {"-i", "1e-12", "-a"},
      {"-d", "nan", "--", "true"},  {"-d", "1e10", "--", "true"}, {"-d", "1e308", "--", "true"},
      {"-d", "-1", "-a"},           {"-T", "-1", "-a"},         {"-T", "99999999999999999999999", "-a"},
      {"--syscall", "syscall_99999999999", "-a"}, {"-o", "", "-a"},  {"--map-entries", "0", "-a"}};
  for (const auto& args : cases) {
    Background run(with_syscount(args));
    expect_one_error_line(run, 2, shown(args));
  }
}

// The by_process entries named NAME in any of the JSON Lines of TEXT; false
// (with a failure) when a line is not a JSON document.
std::size_t entries_named(const std::string& text, const std::string& name) {
  std::size_t found = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << "not JSON: " << line;
    if (!doc.is_object()) continue;
    for (const auto& task : doc["ebpf"]["syscalls"]["by_process"]) found += task["name"] == name;
  }
  return found;
}

const std::string kReplaced = "\xef\xbf\xbd\xef\xbf\xbd" "A";  // "\xff\xfe" "A" as valid UTF-8

TEST_P(SyscountSystem, InvalidUtf8ProcessNameGivesValidJsonWithPid) {
  NamedTarget target;
  Background run(with_syscount({"--json", "-P", "-p", std::to_string(target.pid())}));
  ASSERT_TRUE(wait_for_tracking(run.pid())) << run.err();
  target.go_and_wait();
  ASSERT_EQ(run.wait(), 0) << run.err();
  auto doc = nlohmann::json::parse(run.out(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << run.out() << run.err();
  ASSERT_EQ(doc["ebpf"]["syscalls"]["by_process"].size(), 1u);
  EXPECT_EQ(doc["ebpf"]["syscalls"]["by_process"][0]["name"], kReplaced);
}

TEST_P(SyscountSystem, InvalidUtf8ProcessNameGivesValidJsonLinesSystemWide) {
  NamedTarget target;
  Background run(with_syscount({"--json", "-P", "-a", "-i", "0.05"}));
  ASSERT_TRUE(wait_for_tracking(run.pid())) << run.err();
  target.go_and_wait();
  // The interval that saw the calls is written within 0.05 s or so.
  EXPECT_TRUE(wait_until([&] { return run.ended() || run.out().find("\\ufffd") != std::string::npos ||
                                      run.out().find(kReplaced) != std::string::npos; }))
      << run.err();
  run.signal(SIGTERM);
  ASSERT_EQ(run.wait(), 0) << run.err();
  EXPECT_GE(entries_named(run.out(), kReplaced), 1u) << run.err();
}

// A command whose name and arguments are not UTF-8 and hold escape sequences.
class HostileCommand {
 public:
  explicit HostileCommand(const std::string& target) : dir_(temp_path(".d")) {
    std::filesystem::create_directory(dir_);
    link_ = dir_ + "/\xff\xfe\x1b[31mA";
    std::filesystem::create_symlink(target, link_);
  }
  ~HostileCommand() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  HostileCommand(const HostileCommand&) = delete;
  HostileCommand& operator=(const HostileCommand&) = delete;
  [[nodiscard]] const std::string& path() const { return link_; }
  [[nodiscard]] std::string report() const { return dir_ + "/report"; }

 private:
  std::string dir_, link_;
};

TEST_P(SyscountSystem, HostileCommandGivesValidJsonAndEscapedText) {
  HostileCommand command("/bin/true");
  auto json = run(with_syscount({"--json", "-P", "-o", command.report(), "--", command.path(),
                                 "\xc3\x28", "\x1b]0;owned\x07"}));
  EXPECT_EQ(json.status, 0) << json.err;
  auto doc = nlohmann::json::parse(slurp(command.report()), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << json.err;
  EXPECT_EQ(doc["command"][1], "\xef\xbf\xbd(");
  EXPECT_EQ(doc["command"][2], "\x1b]0;owned\x07") << "JSON escapes control characters itself";
  EXPECT_EQ(doc["ebpf"]["syscalls"]["by_process"][0]["name"], "\xef\xbf\xbd\xef\xbf\xbd\x1b[31mA");

  auto missing = run(with_syscount({"--", command.path() + "-missing"}));
  EXPECT_EQ(missing.status, 127);
  EXPECT_EQ(missing.err.find('\x1b'), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("\xef\xbf\xbd\xef\xbf\xbd\\e[31mA-missing: "), std::string::npos)
      << missing.err;

  auto text = run(with_syscount({"-P", "-o", "-", "--", command.path(), "\x1b]0;owned\x07"}));
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find('\x07'), std::string::npos) << text.out;
  // Quoted as it would be typed, with the control characters escaped.
  EXPECT_NE(text.out.find("$'\\e]0;owned\\x07' exited with status 0"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\xef\xbf\xbd\xef\xbf\xbd\\e[31mA: "), std::string::npos) << text.out;
}

TEST_P(SyscountSystem, HostileCommandGivesValidJsonLinesInIntervalMode) {
  HostileCommand command("/bin/sh");
  Background traced(with_syscount({"--json", "-P", "-i", "0.02", "-o", command.report(), "--",
                                   command.path(), "-c", "read line; exit 0"}));
  // Until the first interval with the command's calls has been written.
  EXPECT_TRUE(wait_until([&] {
    return traced.ended() || slurp(command.report()).find("\\u001b[31mA") != std::string::npos;
  })) << traced.err();
  traced.close_stdin();
  ASSERT_EQ(traced.wait(), 0) << traced.err();
  const std::string lines = slurp(command.report());
  EXPECT_GE(entries_named(lines, "\xef\xbf\xbd\xef\xbf\xbd\x1b[31mA"), 1u) << traced.err();
  EXPECT_NE(lines.find("\"final\":true"), std::string::npos) << lines;
}

// --- stopping, -o FIFOs and -p targets --------------------------------------

TEST_P(SyscountSystem, FifoWithoutReaderIsAnErrorNotAHang) {
  Fifo fifo;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-o", fifo.path(), "-a"}, {"-o", fifo.path(), "--", "true"}}) {
    Background run(with_syscount(args));
    expect_one_error_line(run, 2, shown(args));
    EXPECT_NE(run.err().find("no process is reading"), std::string::npos) << run.err();
  }
}

// True while process PID waits to write: blocked in write(2), or in a poll
// over two descriptors (syscount's wait for the output or a stop signal;
// its wait for targets in -a mode polls one).
bool blocked_writing(pid_t pid) {
  std::istringstream fields(slurp("/proc/" + std::to_string(pid) + "/syscall"));
  long nr = -1;
  std::string first, second;
  fields >> nr >> first >> second;
  return nr == SYS_write || ((nr == SYS_poll || nr == SYS_ppoll) && second == "0x2");
}

// A reader that stops reading blocks syscount's writes; SIGTERM still stops
// the trace at once, and the report is completed once the reader reads.
TEST_P(SyscountSystem, StopSignalInterruptsABlockedReportWrite) {
  Fifo fifo;
  ASSERT_TRUE(fifo.open_reader());
  Background run(with_syscount({"--json", "-a", "-i", "0.005", "-o", fifo.path()}));
  ASSERT_TRUE(wait_for_new_programs(before_)) << run.err();
  // The first document fills the FIFO's one page; the next one blocks.
  ASSERT_TRUE(wait_until([&] {
    return run.ended() || (fifo.buffered() > 0 && blocked_writing(run.pid()));
  })) << run.err();
  run.signal(SIGTERM);
  EXPECT_TRUE(programs_gone(before_)) << "SIGTERM did not stop a blocked syscount";
  const std::string lines = fifo.drain();
  ASSERT_EQ(run.wait(), 0) << run.err();
  std::size_t documents = 0;
  std::istringstream stream(lines);
  nlohmann::json last;
  for (std::string line; std::getline(stream, line); ++documents) {
    last = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(last.is_object()) << "line " << documents + 1 << " is not JSON: " << line;
  }
  EXPECT_GE(documents, 2u);
  EXPECT_EQ(last["interval"]["final"], true);
}

// A -p target that is gone before syscount watches it ends the run (here
// syscount is slowed down at pidfd_open, where it used to find the target).
TEST_P(SyscountSystem, TargetGoneWhileAttachingEndsTheRun) {
  NamedTarget target;
  Background run({"strace", "-o", "/dev/null", "-e", "trace=pidfd_open", "-e",
                  "inject=pidfd_open:delay_enter=1500000", syscount_path(), "--flavour",
                  GetParam(), "--json", "-p",
                  std::to_string(target.pid())});
  ASSERT_TRUE(wait_for_new_programs(before_)) << run.err();
  const pid_t gone = target.pid();
  target.go_and_wait();
  ASSERT_EQ(run.wait(kPatience), 0) << "a gone target was waited for forever";
  auto doc = nlohmann::json::parse(run.out(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << run.out() << run.err();
  EXPECT_EQ(doc["pids"], nlohmann::json::array({gone}));
}

std::string pid_list(const std::vector<std::unique_ptr<NamedTarget>>& targets, std::size_t count) {
  std::string pids;
  for (std::size_t i = 0; i < count && i < targets.size(); ++i) {
    pids += (i ? "," : "") + std::to_string(targets[i]->pid());
  }
  return pids;
}

TEST_P(SyscountSystem, ManyPidsAreWatchedOrRefusedClearly) {
  std::vector<std::unique_ptr<NamedTarget>> targets;
  targets.reserve(513);
  for (int i = 0; i < 513; ++i) targets.push_back(std::make_unique<NamedTarget>("bpfr_sc_many"));
  Background refused(with_syscount({"-p", pid_list(targets, 513)}));
  expect_one_error_line(refused, 2, "-p 513 PIDs");
  EXPECT_NE(refused.err().find("at most 512"), std::string::npos) << refused.err();

  // Fewer descriptors allowed than targets: refused in one line of ours.
  Background limited(with_syscount({"-p", pid_list(targets, 200)}), [] {
    rlimit few{64, 64};
    setrlimit(RLIMIT_NOFILE, &few);
  });
  expect_one_error_line(limited, 2, "-p 200 PIDs with 64 descriptors");
  EXPECT_NE(limited.err().find("too many open files"), std::string::npos) << limited.err();

  targets.pop_back();
  Background run(with_syscount({"--json", "-p", pid_list(targets, 512)}));
  ASSERT_TRUE(wait_for_tracking(run.pid())) << run.err();
  for (auto& target : targets) target->go_and_wait();
  ASSERT_EQ(run.wait(), 0) << run.err();
  auto doc = nlohmann::json::parse(run.out(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << run.err();
  EXPECT_EQ(doc["pids"].size(), 512u);
  EXPECT_EQ(counts_from_json(doc)["getppid"].count, 5120u);
}

// A report that could not be written is a failure (2), even with a command.
TEST_P(SyscountSystem, LostReportIsExitStatusTwo) {
  auto full = run(with_syscount({"-o", "/dev/full", "--", "/bin/sh", "-c", "exit 3"}));
  EXPECT_EQ(full.status, 2) << full.err;
  EXPECT_EQ(line_count(full.err), 1u) << full.err;
  EXPECT_NE(full.err.find("/dev/full"), std::string::npos) << full.err;

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-o", "-", "--", "/bin/sh", "-c", "exit 3"}, {"--json", "-a", "-d", "0.01"}}) {
    auto closed = run(with_syscount(args), false, [] { close(1); });
    EXPECT_EQ(closed.status, 2) << shown(args) << closed.err;
    EXPECT_EQ(line_count(closed.err), 1u) << closed.err;
    EXPECT_NE(closed.err.find("stdout"), std::string::npos) << closed.err;
  }
}

// Ctrl-C as soon as the programs are attached: nothing stays loaded, and a
// command that outlives syscount is reported as still running.
TEST_P(SyscountSystem, InterruptRightAfterAttachingLeavesNothingLoaded) {
  Background command_mode(with_syscount({"--", "/bin/sh", "-c", "read line"}));
  ASSERT_TRUE(wait_for_new_programs(before_)) << command_mode.err();
  command_mode.signal(SIGINT);
  EXPECT_EQ(command_mode.wait(), 128 + SIGINT) << command_mode.err();
  EXPECT_TRUE(programs_gone(before_));

  Background all(with_syscount({"-a", "-d", "2678400"}));
  ASSERT_TRUE(wait_for_new_programs(before_)) << all.err();
  all.signal(SIGINT);
  EXPECT_EQ(all.wait(), 0) << all.err();
  EXPECT_NE(all.out().find("syscount: "), std::string::npos) << all.out();
}

}  // namespace
