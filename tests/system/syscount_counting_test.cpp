// What syscount counts, exactly, in both variants of its programs: calls
// that return into a signal handler, breakdowns that sum to the totals,
// syscount's own calls, the errno breakdown and --errno, latency
// distributions (issue 10: Why 2, 3 and 8).
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/syscount.h"

using namespace syscount_test;

namespace {

class SyscountCounting : public SyscountVariantTest {};
SYSCOUNT_FOR_EACH_VARIANT(SyscountCounting);

// Why 2: a handler returning from an interrupted call made an `out_of_range`
// row with errors (rt_sigreturn's registers say syscall -1 and carry the
// interrupted call's -EINTR), and JSON had errors greater than count.
TEST_P(SyscountCounting, ReturnsIntoASignalHandlerAreExact) {
  const std::vector<std::vector<std::string>> modes = {{"--errors"}, {"--errors", "-L", "-P"}};
  for (const auto& mode : modes) {
    RunResult result;
    auto doc = json_report(mode, {maker_path(), "signals", "50"}, &result);
    ASSERT_TRUE(doc.is_object()) << result.err;
    auto counts = counts_from_json(doc);
    EXPECT_EQ(counts.count("out_of_range"), 0u) << doc.dump(1);
    EXPECT_EQ(counts["rt_sigreturn"].count, 50u);
    EXPECT_EQ(counts["rt_sigreturn"].errors, 0u) << "its return value is never an error";
    EXPECT_EQ(counts["rt_sigsuspend"].count, 50u);
    EXPECT_EQ(counts["rt_sigsuspend"].errors, 50u);
    EXPECT_EQ(counts["tgkill"].count, 50u);
    EXPECT_EQ(counts["tgkill"].errors, 0u);
    for (const auto& row : doc["ebpf"]["syscalls"]["syscalls"]) {
      EXPECT_LE(row["errors"].get<std::uint64_t>(), row["count"].get<std::uint64_t>()) << row.dump();
      if (row["name"] == "rt_sigsuspend") {
        EXPECT_EQ(row["errnos"], (nlohmann::json{{"ERESTARTNOHAND", 50}})) << row.dump();
      }
      if (row["name"] == "rt_sigreturn" && row.contains("latency_ns")) {
        EXPECT_EQ(row["latency_ns"]["timed"], 50);
      }
    }
  }
}

// A call seccomp refuses never enters (no sys_enter event) but returns (a
// sys_exit event with -EPERM). It was counted as a failure of a call never
// counted (errors > count); no entry was seen, so it is not counted at all,
// like a call that began before tracing.
TEST_P(SyscountCounting, ACallSeccompRefusesIsNotAPhantomError) {
  RunResult result;
  auto doc = json_report({"--errors", "-L"}, {maker_path(), "seccomp", "40"}, &result);
  ASSERT_TRUE(doc.is_object()) << result.err;
  EXPECT_EQ(result.status, 0) << result.err;
  for (const auto& row : doc["ebpf"]["syscalls"]["syscalls"]) {
    EXPECT_LE(row["errors"].get<std::uint64_t>(), row["count"].get<std::uint64_t>()) << row.dump();
  }
  auto counts = counts_from_json(doc);
  EXPECT_EQ(counts["getppid"].count, 40u);
  EXPECT_EQ(counts["getppid"].errors, 0u);
}

// Every row of TASKS (by_process or by_thread) added up per syscall, and
// their "total"s added up.
std::map<std::string, std::uint64_t> sum_rows(const nlohmann::json& tasks, std::uint64_t& total) {
  std::map<std::string, std::uint64_t> sums;
  total = 0;
  for (const auto& task : tasks) {
    total += task["total"].get<std::uint64_t>();
    for (const auto& row : task["syscalls"]) sums[row["name"]] += row["count"].get<std::uint64_t>();
  }
  return sums;
}

// syscount ARGS (with --json -o FILE) run in the background, its pid and report.
nlohmann::json background_report(const std::vector<std::string>& args, pid_t& pid) {
  const std::string report = temp_path(".json");
  std::vector<std::string> argv = {"--json", "-o", report};
  argv.insert(argv.end(), args.begin(), args.end());
  Background syscount(syscount_argv(argv));
  pid = syscount.pid();
  auto status = syscount.wait();
  EXPECT_EQ(status, std::optional<int>(0)) << syscount.err();
  auto doc = nlohmann::json::parse(slurp(report), nullptr, false);
  std::remove(report.c_str());
  return doc;
}

// Why 3: totals and breakdown were read at different moments, so with a
// busy process the breakdown summed to more than the totals. They now sum
// exactly, per syscall and in all (a call the full map could not take is in
// dropped.breakdown), and syscount's own calls are nowhere.
TEST_P(SyscountCounting, BreakdownsSumExactlyToTheTotals) {
  Background busy({maker_path(), "busy", "4"});
  ASSERT_GT(busy.pid(), 0);
  const std::string pid = std::to_string(busy.pid());
  const std::vector<std::pair<std::vector<std::string>, std::string>> runs = {
      {{"-p", pid, "--by-thread", "-d", "0.5"}, "by_thread"},
      {{"-p", pid, "-P", "--errors", "-L", "-d", "0.5"}, "by_process"},
      {{"-a", "-P", "-d", "0.5"}, "by_process"},
      {{"-a", "--by-thread", "--errors", "-d", "0.5"}, "by_thread"}};
  for (const auto& [args, key] : runs) {
    pid_t self = 0;
    auto doc = background_report(args, self);
    ASSERT_TRUE(doc.is_object()) << key;
    const auto& syscalls = doc["ebpf"]["syscalls"];
    std::uint64_t task_total = 0;
    auto sums = sum_rows(syscalls[key], task_total);
    const auto dropped = doc["dropped"]["breakdown"].get<std::uint64_t>();
    EXPECT_EQ(task_total + dropped, syscalls["total"].get<std::uint64_t>()) << key << " " << args[0];
    if (dropped == 0) {
      for (const auto& row : syscalls["syscalls"]) {
        EXPECT_EQ(sums[row["name"]], row["count"].get<std::uint64_t>()) << row["name"] << " " << key;
      }
    }
    EXPECT_GT(sums["getppid"], 0u);
    for (const auto& task : syscalls[key]) {
      EXPECT_NE(task["pid"].get<pid_t>(), self) << "syscount's own calls are never counted";
    }
  }
}

// The same in interval mode: every interval's breakdown sums to its totals.
TEST_P(SyscountCounting, IntervalBreakdownsSumExactlyToTheirTotals) {
  Background busy({maker_path(), "busy", "2"});
  ASSERT_GT(busy.pid(), 0);
  const std::string report = temp_path(".jsonl");
  RunResult result = run(syscount_argv({"--json", "-o", report, "-p", std::to_string(busy.pid()),
                                        "--by-thread", "-i", "0.2", "-d", "1"}),
                         /*discard_out=*/true);
  ASSERT_EQ(result.status, 0) << result.err;
  std::istringstream lines(slurp(report));
  std::remove(report.c_str());
  std::size_t documents = 0;
  for (std::string line; std::getline(lines, line);) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << line;
    ++documents;
    const auto& syscalls = doc["ebpf"]["syscalls"];
    std::uint64_t task_total = 0;
    sum_rows(syscalls["by_thread"], task_total);
    EXPECT_EQ(task_total + doc["dropped"]["breakdown"].get<std::uint64_t>(),
              syscalls["total"].get<std::uint64_t>())
        << "interval " << documents;
  }
  EXPECT_GE(documents, 2u);
}

// Why 8: each syscall's failures by errno; --errno keeps only one errno.
TEST_P(SyscountCounting, ErrnoBreakdownAndFilter) {
  RunResult result;
  auto doc = json_report({"--errors"}, {maker_path()}, &result);
  ASSERT_TRUE(doc.is_object()) << result.err;
  std::map<std::string, nlohmann::json> errnos;
  for (const auto& row : doc["ebpf"]["syscalls"]["syscalls"]) {
    if (row.contains("errnos")) errnos[row["name"]] = row["errnos"];
  }
  EXPECT_EQ(errnos["fchdir"], (nlohmann::json{{"EBADF", 37}}));
  EXPECT_EQ(errnos["getpriority"], (nlohmann::json{{"EINVAL", 11}}));
  EXPECT_EQ(errnos["getsid"], (nlohmann::json{{"ESRCH", 23}}));

  doc = json_report({"--errno", "EBADF"}, {maker_path()}, &result);
  ASSERT_TRUE(doc.is_object()) << result.err;
  const auto& rows = doc["ebpf"]["syscalls"]["syscalls"];
  ASSERT_EQ(rows.size(), 1u) << rows.dump();
  EXPECT_EQ(rows[0]["name"], "fchdir");
  EXPECT_EQ(rows[0]["errors"], 37);
  EXPECT_EQ(doc["ebpf"]["syscalls"]["errors"], 37);
}

// -L: the distribution of each syscall, and --histogram in the terminal.
TEST_P(SyscountCounting, LatencyDistribution) {
  RunResult result;
  auto doc = json_report({"-L"}, {maker_path()}, &result);
  ASSERT_TRUE(doc.is_object()) << result.err;
  bool seen = false;
  for (const auto& row : doc["ebpf"]["syscalls"]["syscalls"]) {
    if (row["name"] != "getppid") continue;
    seen = true;
    const auto& latency = row["latency_ns"];
    EXPECT_EQ(latency["timed"], 1000);
    std::uint64_t in_buckets = 0;
    for (const auto& bucket : latency["buckets"]) in_buckets += bucket["count"].get<std::uint64_t>();
    EXPECT_EQ(in_buckets, 1000u);
    EXPECT_LE(latency["min"].get<std::uint64_t>(), latency["p50"].get<std::uint64_t>());
    EXPECT_LE(latency["p50"].get<std::uint64_t>(), latency["p90"].get<std::uint64_t>());
    EXPECT_LE(latency["p90"].get<std::uint64_t>(), latency["p99"].get<std::uint64_t>());
    EXPECT_LE(latency["p99"].get<std::uint64_t>(), latency["max"].get<std::uint64_t>());
    // The kernel's bucket of the shortest and the longest call holds them.
    const auto& buckets = latency["buckets"];
    ASSERT_FALSE(buckets.empty());
    const auto min = latency["min"].get<std::uint64_t>();
    const auto max = latency["max"].get<std::uint64_t>();
    EXPECT_LE(buckets.front()["low"].get<std::uint64_t>(), min) << buckets.dump();
    EXPECT_GT(buckets.front()["high"].get<std::uint64_t>(), min) << buckets.dump();
    EXPECT_LE(buckets.back()["low"].get<std::uint64_t>(), max) << buckets.dump();
    EXPECT_GT(buckets.back()["high"].get<std::uint64_t>(), max) << buckets.dump();
  }
  EXPECT_TRUE(seen);

  const std::string report = temp_path(".txt");
  result = run(syscount_argv({"--histogram", "getppid,fchdir", "-o", report, "--", maker_path()}), true);
  const std::string text = slurp(report);
  std::remove(report.c_str());
  EXPECT_EQ(result.status, 7) << result.err;
  EXPECT_NE(text.find("getppid: latency histogram (1000 calls)"), std::string::npos) << text;
  EXPECT_NE(text.find("fchdir: latency histogram (37 calls)"), std::string::npos) << text;
  EXPECT_NE(text.find("P99"), std::string::npos) << text;
}

// Why 9: the row syscount prints can be asked for.
TEST_P(SyscountCounting, OutOfRangeCanBeSelected) {
  RunResult result;
  auto doc = json_report({"--syscall", "out_of_range,getppid"}, {maker_path()}, &result);
  ASSERT_TRUE(doc.is_object()) << result.err;
  EXPECT_EQ(doc["ebpf"]["syscalls"]["total"], 1000);
}

// The new options' bad values: one line, exit 2, nothing loaded.
TEST(SyscountCountingOptions, BadValuesAreOneLineUsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-S", "size"}, "syscount: -S/--sort takes count, time, errors or name, not 'size'\n"},
      {{"--errno", "ENOSUCH"}, "syscount: unknown errno 'ENOSUCH' (a name such as ENOENT or EAGAIN)\n"},
      {{"--histogram", "nosuchcall"}, "syscount: unknown syscall 'nosuchcall' (see --list)\n"}};
  for (const auto& [options, message] : cases) {
    std::vector<std::string> argv = {syscount_path()};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"--", "true"});
    const RunResult result = run(argv);
    EXPECT_EQ(result.status, 2) << options[0];
    EXPECT_EQ(result.err, message);
    EXPECT_TRUE(result.out.empty());
  }
}

}  // namespace
