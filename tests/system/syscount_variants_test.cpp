// The shapes of process both variants of syscount's programs must follow
// exactly (the typed tp_btf programs and the untyped raw_tp fallback, which
// learns about tasks differently), the drop counters that must stay zero,
// and the switch that picks a variant.
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/syscount.h"

using namespace syscount_test;

namespace {

class SyscountVariants : public SyscountVariantTest {};
SYSCOUNT_FOR_EACH_VARIANT(SyscountVariants);

const std::vector<std::vector<std::string>> kModes = {
    {}, {"--errors", "--latency"}, {"--errors", "--latency", "--by-process", "--by-thread"}};

std::string shown(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += word + " ";
  return text;
}

// Every repeated name insert (BPF_NOEXIST) of a process or thread that makes
// many different calls meets -EEXIST. Before 6.4 the map helpers' result is
// an int, not sign-extended, and a comparison of the long with -EEXIST
// never matched: each insert counted a false "name not kept".
TEST_P(SyscountVariants, NoNameIsDroppedForATaskSeenAgain) {
  for (const auto& breakdown : {"--by-process", "--by-thread"}) {
    RunResult result;
    auto doc = json_report({"--errors", breakdown}, {maker_path()}, &result);
    ASSERT_TRUE(doc.is_object()) << result.err;
    EXPECT_EQ(doc["dropped"]["names"], 0) << breakdown;
    const auto& tasks = doc["ebpf"]["syscalls"][breakdown == std::string("--by-process") ? "by_process" : "by_thread"];
    ASSERT_FALSE(tasks.empty()) << breakdown;
    for (const auto& task : tasks) EXPECT_EQ(task["name"], "syscount_maker") << breakdown;
  }
}

// The main thread exits first; the other thread goes on and must still be
// counted (the raw_tp variant cannot read signal->live, see
// bpf/syscount_raw.bpf.c).
TEST_P(SyscountVariants, ThreadsThatOutliveTheirLeaderAreCounted) {
  for (const auto& mode : kModes) {
    RunResult result;
    auto doc = json_report(mode, {maker_path(), "leader-exits"}, &result);
    ASSERT_TRUE(doc.is_object()) << result.err;
    EXPECT_EQ(result.status, 0) << result.err;
    auto counts = counts_from_json(doc);
    EXPECT_EQ(counts["getppid"].count, 200u) << shown(mode);
    EXPECT_EQ(counts["execve"].count, 1u) << shown(mode);
    EXPECT_EQ(doc["ebpf"]["syscalls"]["dropped_events"], 0) << shown(mode);
  }
}

// A thread other than the leader execs: the kernel makes it the leader (it
// takes the leader's TID), and the new image must be counted.
TEST_P(SyscountVariants, ExecFromASecondThreadKeepsCounting) {
  for (const auto& mode : kModes) {
    RunResult result;
    auto doc = json_report(mode, {maker_path(), "thread-exec"}, &result);
    ASSERT_TRUE(doc.is_object()) << result.err;
    EXPECT_EQ(result.status, 0) << result.err;
    auto counts = counts_from_json(doc);
    EXPECT_EQ(counts["getppid"].count, 250u) << shown(mode);
    EXPECT_EQ(counts["execve"].count, 2u) << shown(mode);
    EXPECT_EQ(doc["ebpf"]["syscalls"]["dropped_events"], 0) << shown(mode);
  }
}

// Children of children, each forking as soon as it runs: every process of
// the tree is followed from its first call.
TEST_P(SyscountVariants, FollowsAProcessTree) {
  auto doc = json_report({"--by-process"},
                         {"/bin/sh", "-c", "(/bin/sh -c '" + maker_path() + " loop 40' ) && " +
                                               maker_path() + " loop 60"});
  ASSERT_TRUE(doc.is_object());
  // The shells make calls of their own (dash reads its parent's PID).
  std::vector<std::uint64_t> makers;
  for (const auto& task : doc["ebpf"]["syscalls"]["by_process"]) {
    if (task["name"] != "syscount_maker") continue;
    for (const auto& entry : task["syscalls"]) {
      if (entry["name"] == "getppid") makers.push_back(entry["count"].get<std::uint64_t>());
    }
  }
  std::sort(makers.begin(), makers.end());
  EXPECT_EQ(makers, (std::vector<std::uint64_t>{40, 60}));
  EXPECT_EQ(doc["dropped"]["children"], 0);
}

// Children forked at the same time on different CPUs get neighbouring
// PIDs, whose tracked bits (typed variant) share a word of the table and
// bytes (raw_tp variant) a cache line: every child is followed.
TEST_P(SyscountVariants, ChildrenForkedAtOnceAreAllFollowed) {
  constexpr std::uint64_t kThreads = 4;
  constexpr std::uint64_t kEach = 500;
  auto doc = json_report({}, {maker_path(), "forks", std::to_string(kThreads), std::to_string(kEach)});
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(counts_from_json(doc)["getppid"].count, 3 * kThreads * kEach);
  EXPECT_EQ(doc["dropped"]["children"], 0);
}

// Forks (in the test, untracked) until a child gets PID, which must be
// free: /proc/sys/kernel/ns_last_pid names the PID the next fork is given
// after, and other processes of the host may take it first. The child makes
// CALLS getppid calls and exits; true when it had PID.
bool reuse_pid(pid_t pid, int calls) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    {
      std::ofstream last("/proc/sys/kernel/ns_last_pid");
      last << pid - 1;
    }
    const pid_t child = fork();
    if (child == 0) {
      if (getpid() == pid) {
        for (int i = 0; i < calls; ++i) syscall(SYS_getppid);
      }
      _exit(0);
    }
    waitpid(child, nullptr, 0);
    if (child == pid) return true;
  }
  return false;
}

// A traced child exits and its PID is given to a process nobody traces:
// that process is not counted (the raw_tp variant must see the PID reused
// without reading signal->live).
TEST_P(SyscountVariants, AReusedPidIsNotCounted) {
  const std::string pid_file = temp_path(".pid");
  Background traced(syscount_argv(
      {"--json", "-o", "-", "--", "/bin/sh", "-c",
       maker_path() + " loop 7 > /dev/null & echo $! > " + pid_file + "; wait; read line; exit 0"}));
  pid_t child = 0;
  ASSERT_TRUE(wait_until([&] {
    std::istringstream(slurp(pid_file)) >> child;
    return child > 0 && access(("/proc/" + std::to_string(child)).c_str(), F_OK) != 0;
  })) << traced.err();
  std::remove(pid_file.c_str());
  const bool reused = reuse_pid(child, 1000);
  traced.close_stdin();
  ASSERT_EQ(traced.wait(), 0) << traced.err();
  if (!reused) GTEST_SKIP() << "PID " << child << " was taken by another process of the host";
  auto doc = nlohmann::json::parse(traced.out(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << traced.out() << traced.err();
  const auto getppid = counts_from_json(doc)["getppid"].count;
  EXPECT_GE(getppid, 7u);
  EXPECT_LT(getppid, 1000u) << "the process that reused PID " << child << " was counted";
}

// Sets kernel.pid_max for one test and puts it back after.
class PidMaxForTest {
 public:
  PidMaxForTest() { std::ifstream("/proc/sys/kernel/pid_max") >> original_; }
  ~PidMaxForTest() {
    if (original_ > 0) set(original_);
  }
  PidMaxForTest(const PidMaxForTest&) = delete;
  PidMaxForTest& operator=(const PidMaxForTest&) = delete;
  static bool set(long value) {
    std::ofstream file("/proc/sys/kernel/pid_max");
    file << value;
    file.flush();
    return static_cast<bool>(file);
  }

 private:
  long original_ = 0;
};

// The tracked-process table is sized to pid_max when syscount starts. When
// pid_max is raised while it runs, a child given a PID beyond the table is
// counted as a child not followed (never as someone else's slot), and the
// rest is counted as before.
TEST_P(SyscountVariants, AChildBeyondTheTableIsCountedAsNotFollowed) {
  PidMaxForTest restore;
  ASSERT_TRUE(PidMaxForTest::set(32768));
  const std::string pid_file = temp_path(".pid");
  Background traced(syscount_argv(
      {"--json", "-o", "-", "--", "/bin/sh", "-c",
       "echo $$ > " + pid_file + "; read line; " + maker_path() + " loop 500 > /dev/null; exit 0"}));
  ASSERT_TRUE(wait_until([&] { return !slurp(pid_file).empty(); })) << traced.err();
  std::remove(pid_file.c_str());
  ASSERT_TRUE(PidMaxForTest::set(65536));
  {
    std::ofstream last("/proc/sys/kernel/ns_last_pid");
    last << 40000;
  }
  traced.close_stdin();
  ASSERT_EQ(traced.wait(), 0) << traced.err();
  auto doc = nlohmann::json::parse(traced.out(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << traced.out() << traced.err();
  EXPECT_EQ(doc["dropped"]["children"], 1) << traced.out();
  EXPECT_LT(counts_from_json(doc)["getppid"].count, 500u) << "the child beyond the table was counted";
  EXPECT_GT(counts_from_json(doc)["read"].count, 0u) << "the shell itself was not counted";
}

// getppid calls of a -p process that, once syscount tracks it, runs the
// maker (its child) with CALLS calls.
std::uint64_t getppid_of_followed_process(int calls) {
  int to_target[2];
  if (pipe(to_target) != 0) return 0;
  const std::string script = "read line; " + maker_path() + " loop " + std::to_string(calls);
  const pid_t target = fork();
  if (target == 0) {
    dup2(to_target[0], 0);
    close(to_target[1]);
    dup2(open("/dev/null", O_WRONLY), 1);
    execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    _exit(126);
  }
  close(to_target[0]);
  const std::string report = temp_path(".json");
  run(syscount_argv({"--json", "-o", report, "-p", std::to_string(target)}), true, {},
      [&](pid_t syscount) {
        EXPECT_TRUE(wait_for_tracking(syscount));
        (void)!write(to_target[1], "go\n", 3);
        close(to_target[1]);
      });
  waitpid(target, nullptr, 0);
  auto doc = nlohmann::json::parse(slurp(report), nullptr, false);
  std::remove(report.c_str());
  return doc.is_object() ? counts_from_json(doc)["getppid"].count : 0;
}

// With systemd's pid_max the table is 4 MiB, which the default variant makes
// in a thread beside the pre-flight (tracer.h): a command with children,
// in every mode, and a -p process with a child are counted exactly as with
// a small table.
TEST_P(SyscountVariants, ALargeTableCountsTheSame) {
  PidMaxForTest restore;
  const std::vector<std::string> command = {
      "/bin/sh", "-c",
      maker_path() + " loop 300 > /dev/null; " + maker_path() + " loop 200 > /dev/null"};
  for (const auto& options : kModes) {
    std::uint64_t counted[2] = {0, 0};
    for (int large = 0; large < 2; ++large) {
      ASSERT_TRUE(PidMaxForTest::set(large ? 4194304 : 32768));
      RunResult result;
      auto doc = json_report(options, command, &result);
      ASSERT_TRUE(doc.is_object()) << shown(options) << result.err;
      EXPECT_EQ(doc["dropped"]["children"], 0) << shown(options);
      counted[large] = counts_from_json(doc)["getppid"].count;
    }
    EXPECT_GE(counted[0], 500u) << shown(options);
    EXPECT_EQ(counted[1], counted[0]) << shown(options);
  }
  EXPECT_EQ(getppid_of_followed_process(70), 70u);
}

// Makes bpf(BPF_MAP_LOOKUP_ELEM) and bpf(BPF_MAP_LOOKUP_BATCH) fail with
// EPERM in this process and what it runs, as kernels before 5.19 do for a
// process without CAP_BPF while kernel.unprivileged_bpf_disabled is set.
bool refuse_map_reads() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_bpf, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_MAP_LOOKUP_ELEM, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_MAP_LOOKUP_BATCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// Counters that cannot be read are an error: no report of zeros, exit 2,
// and nothing left loaded, even with a command.
TEST_P(SyscountVariants, UnreadableCountersAreAnErrorNotZeros) {
  const std::string report = temp_path(".json");
  auto result = run(syscount_argv({"--json", "-o", report, "--", maker_path()}), true,
                    [] { if (!refuse_map_reads()) _exit(125); });
  EXPECT_EQ(result.status, 2) << result.err;
  EXPECT_EQ(line_count(result.err), 1u) << result.err;
  EXPECT_NE(result.err.find("syscount: no report: cannot read the syscall counters"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("5.19"), std::string::npos) << result.err;
  EXPECT_EQ(slurp(report), "") << "a report was written";
  std::remove(report.c_str());
}

TEST_P(SyscountVariants, VerboseSaysWhichProgramsAreLoaded) {
  auto result = run(syscount_argv({"-v", "-o", "/dev/null", "--", "/bin/true"}));
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.err.find("loading the " + GetParam() + " programs"), std::string::npos)
      << result.err;
}

// Names of the syscount programs loaded now that were not at BEFORE.
std::set<std::string> program_names_since(const std::set<std::uint64_t>& before) {
  std::set<std::string> names;
  auto listed = run({"/usr/sbin/bpftool", "-j", "prog", "show"});
  auto doc = nlohmann::json::parse(listed.out, nullptr, false);
  if (!doc.is_array()) return names;
  const auto ours = syscount_program_ids();
  for (const auto& prog : doc) {
    const auto id = prog.value("id", std::uint64_t{0});
    if (ours.contains(id) && !before.contains(id)) names.insert(prog.value("name", ""));
  }
  return names;
}

// The default mode (a command or PIDs, totals only) gets the entry program
// compiled for it, which reads none of the settings (bpf/syscount_common.bpf.h,
// tgids_filtered); every other mode gets the one that reads them.
TEST_P(SyscountVariants, OnlyTheDefaultModeLoadsTheTallyProgram) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "syscount_tally"},
      {{"--errors"}, "syscount_enter"},
      {{"--latency"}, "syscount_enter"},
      {{"--by-process"}, "syscount_enter"},
      {{"--by-thread"}, "syscount_enter"},
  };
  for (const auto& [options, entry] : cases) {
    NamedTarget target;
    std::vector<std::string> args = options;
    for (const auto& arg : {"-o", "/dev/null", "-p"}) args.emplace_back(arg);
    args.push_back(std::to_string(target.pid()));
    Background syscount(syscount_argv(args));
    ASSERT_TRUE(wait_for_new_programs(before_)) << syscount.err();
    ASSERT_TRUE(wait_for_tracking(syscount.pid())) << syscount.err();
    const auto names = program_names_since(before_);
    const std::string other = entry == "syscount_tally" ? "syscount_enter" : "syscount_tally";
    EXPECT_TRUE(names.contains(entry)) << shown(options);
    EXPECT_FALSE(names.contains(other)) << shown(options);
    target.go_and_wait();
    EXPECT_EQ(syscount.wait(), 0) << syscount.err();
    ASSERT_TRUE(programs_gone(before_));
  }
}

TEST(SyscountFlavourOption, UnknownFlavourIsAOneLineUsageError) {
  for (const auto& flavour : {"perf_tp", "typed", ""}) {
    auto result = run({syscount_path(), "--flavour", flavour, "--", "/bin/true"});
    EXPECT_EQ(result.status, 2) << flavour;
    EXPECT_EQ(line_count(result.err), 1u) << result.err;
    EXPECT_EQ(result.err.rfind("syscount: --flavour takes auto, tp_btf or raw_tp", 0), 0u)
        << result.err;
  }
}

// On a kernel with BTF, auto loads the typed programs.
TEST(SyscountFlavourOption, AutoPicksTheTypedProgramsWhereTheKernelHasBtf) {
  SYSCOUNT_REQUIRE_ROOT();
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) GTEST_SKIP() << "this kernel has no BTF";
  flavour_under_test() = "auto";
  auto doc = json_report({}, {"/bin/true"});
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["programs"], "tp_btf");
}

}  // namespace
