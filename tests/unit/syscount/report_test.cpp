// syscount's report model and renderers: the JSON keeps the reference fields
// (total, by_category with ten keys, top_syscalls, analysis) and adds the
// rest only when asked; deltas, filters and naming.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "tools/syscount/report.h"

namespace bpfready {
namespace {

SyscountSample example() {
  SyscountSample sample;
  sample.totals[0] = {60, 0, 6000, 60};          // read
  sample.totals[257] = {20, 5, 0, 0};            // openat
  sample.totals[9] = {10, 0, 0, 0};              // mmap
  sample.totals[41] = {5, 0, 0, 0};              // socket
  sample.totals[228] = {3, 0, 0, 0};             // clock_nanosleep? (228 clock_gettime)
  sample.totals[451] = {2, 0, 0, 0};             // unknown to the headers
  sample.by_task[{100, 100}][0] = {50, 0, 0, 0};
  sample.by_task[{100, 101}][0] = {10, 0, 0, 0};
  sample.by_task[{200, 200}][257] = {20, 5, 0, 0};
  sample.names[100] = "app";
  sample.names[200] = "child";
  return sample;
}

SyscountReport report_of(const SyscountSample& sample) {
  SyscountReport report;
  report.mode = TargetMode::command;
  report.command = std::vector<std::string>{"app", "--flag"};
  report.exit_status = 0;
  report.duration_sec = 2.0;
  report.sample = sample;
  return report;
}

TEST(SyscountJson, KeepsTheReferenceFields) {
  auto doc = render_syscount_json(report_of(example()), SyscountReportOptions{});
  const auto& syscalls = doc["ebpf"]["syscalls"];
  EXPECT_EQ(syscalls["total"], 100);
  ASSERT_EQ(syscalls["by_category"].size(), 10u);
  for (const char* key : {"file_io", "memory", "process", "network", "time", "ipc", "security",
                          "signal", "system", "other"}) {
    EXPECT_TRUE(syscalls["by_category"].contains(key)) << key;
  }
  EXPECT_EQ(syscalls["by_category"]["file_io"], 80);
  EXPECT_EQ(syscalls["by_category"]["other"], 2);
  ASSERT_TRUE(syscalls["top_syscalls"].is_array());
  EXPECT_EQ(syscalls["top_syscalls"][0], (nlohmann::ordered_json{{"name", "read"}, {"count", 60}}));
  const auto& analysis = syscalls["analysis"];
  EXPECT_DOUBLE_EQ(analysis["syscall_rate_per_sec"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(analysis["io_intensity"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(analysis["memory_intensity"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(analysis["network_intensity"].get<double>(), 0.05);
  EXPECT_DOUBLE_EQ(analysis["cpu_intensity"].get<double>(), 0.03);
  EXPECT_EQ(doc["command"], (nlohmann::ordered_json{"app", "--flag"}));
  EXPECT_EQ(doc["exit_status"], 0);
  EXPECT_EQ(doc["duration_sec"], 2.0);
  EXPECT_EQ(syscalls["dropped_events"], 0);
}

TEST(SyscountJson, ErrorsLatencyAndBreakdownsOnlyWhenAsked) {
  auto plain = render_syscount_json(report_of(example()), SyscountReportOptions{});
  const auto& entry = plain["ebpf"]["syscalls"]["syscalls"][0];
  EXPECT_EQ(entry["name"], "read");
  EXPECT_EQ(entry["count"], 60);
  EXPECT_FALSE(entry.contains("errors"));
  EXPECT_FALSE(entry.contains("latency_ns"));
  EXPECT_FALSE(plain["ebpf"]["syscalls"].contains("by_process"));

  SyscountReportOptions options;
  options.errors = true;
  options.latency = true;
  options.by_process = true;
  options.by_thread = true;
  auto full = render_syscount_json(report_of(example()), options);
  const auto& syscalls = full["ebpf"]["syscalls"];
  EXPECT_EQ(syscalls["errors"], 5);
  EXPECT_EQ(syscalls["syscalls"][0]["errors"], 0);
  EXPECT_EQ(syscalls["syscalls"][0]["latency_ns"]["avg"], 100.0);
  ASSERT_EQ(syscalls["by_process"].size(), 2u);
  EXPECT_EQ(syscalls["by_process"][0]["pid"], 100);
  EXPECT_EQ(syscalls["by_process"][0]["name"], "app");
  EXPECT_EQ(syscalls["by_process"][0]["total"], 60);
  ASSERT_EQ(syscalls["by_thread"].size(), 3u);
  EXPECT_EQ(syscalls["by_thread"][0]["tid"], 100);
  EXPECT_EQ(syscalls["by_thread"][1]["name"], "child");
}

TEST(SyscountJson, UnknownNumbersAreReportedByNumber) {
  auto doc = render_syscount_json(report_of(example()), SyscountReportOptions{});
  bool found = false;
  for (const auto& entry : doc["ebpf"]["syscalls"]["syscalls"]) {
    if (entry["name"] == "syscall_451") {
      found = true;
      EXPECT_EQ(entry["nr"], 451);
      EXPECT_EQ(entry["category"], "other");
    }
  }
  EXPECT_TRUE(found);
}

TEST(SyscountReport, FiltersApplyToRowsAndTotals) {
  SyscountReportOptions options;
  options.only_categories = {SyscallCategory::file_io};
  auto doc = render_syscount_json(report_of(example()), options);
  EXPECT_EQ(doc["ebpf"]["syscalls"]["total"], 80);
  options = {};
  options.failed_only = true;
  options.errors = true;
  auto rows = select_rows(example().totals, options);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].name, "openat");
  options = {};
  options.only_syscalls = {9};
  rows = select_rows(example().totals, options);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].name, "mmap");
}

TEST(SyscountReport, IntervalDeltas) {
  SyscountSample before = example();
  SyscountSample now = example();
  now.totals[0].count += 7;
  now.totals[39] = {1, 0, 0, 0};  // getpid, new
  now.dropped.breakdown = 3;
  SyscountSample delta = now - before;
  ASSERT_EQ(delta.totals.size(), 2u);
  EXPECT_EQ(delta.totals[0].count, 7u);
  EXPECT_EQ(delta.totals[39].count, 1u);
  EXPECT_EQ(delta.dropped.breakdown, 3u);
  EXPECT_TRUE(delta.by_task.empty());
}

TEST(SyscountText, TableSortedByCountWithTop) {
  SyscountReportOptions options;
  options.top = 2;
  options.errors = true;
  const std::string text = render_syscount_text(report_of(example()), options);
  EXPECT_NE(text.find("syscount: 100 syscalls, 5 failed"), std::string::npos) << text;
  EXPECT_NE(text.find("app --flag exited with status 0"), std::string::npos) << text;
  const auto read_at = text.find("read");
  const auto openat_at = text.find("openat");
  ASSERT_NE(read_at, std::string::npos);
  ASSERT_NE(openat_at, std::string::npos);
  EXPECT_LT(read_at, openat_at);
  EXPECT_EQ(text.find("mmap"), std::string::npos) << "-T 2 hides the third row";
  EXPECT_NE(text.find("(4 more syscalls"), std::string::npos) << text;
  EXPECT_NE(text.find("ERRORS"), std::string::npos);
}

// Process names and arguments come from the host: a name set with
// prctl(PR_SET_NAME, "\xff\xfe...") once made the JSON renderer throw.
SyscountSample hostile_sample() {
  SyscountSample sample = example();
  sample.names[100] = "\xff\xfe" "A";
  sample.names[200] = "\x1b[2Jevil\x9b";
  return sample;
}

SyscountReport hostile_report() {
  SyscountReport report = report_of(hostile_sample());
  report.command = {"/tmp/\xff\x1b]0;owned\x07", "arg\xc3"};
  return report;
}

TEST(SyscountJson, HostileTextBecomesValidUtf8) {
  SyscountReportOptions options;
  options.by_process = true;
  options.by_thread = true;
  const auto doc = render_syscount_json(hostile_report(), options);
  std::string text;
  ASSERT_NO_THROW(text = doc.dump(2));
  const auto parsed = nlohmann::json::parse(text);
  EXPECT_EQ(parsed["command"][0], "/tmp/\xef\xbf\xbd\x1b]0;owned\x07");
  EXPECT_EQ(parsed["command"][1], "arg\xef\xbf\xbd");
  const auto& by_process = parsed["ebpf"]["syscalls"]["by_process"];
  ASSERT_EQ(by_process.size(), 2u);
  EXPECT_EQ(by_process[0]["name"], "\xef\xbf\xbd\xef\xbf\xbd" "A") << "one U+FFFD per invalid byte";
  EXPECT_EQ(by_process[1]["name"], "\x1b[2Jevil\xef\xbf\xbd");
  EXPECT_EQ(parsed["ebpf"]["syscalls"]["by_thread"][0]["name"], "\xef\xbf\xbd\xef\xbf\xbd" "A");
}

TEST(SyscountText, HostileTextIsEscaped) {
  SyscountReportOptions options;
  options.by_process = true;
  options.by_thread = true;
  const std::string text = render_syscount_text(hostile_report(), options);
  for (char control : {'\x1b', '\x07', '\x9b', '\xff', '\xfe'}) {
    EXPECT_EQ(text.find(control), std::string::npos) << static_cast<int>(control) << "\n" << text;
  }
  EXPECT_NE(text.find("$'/tmp/\xef\xbf\xbd\\e]0;owned\\x07' $'arg\xef\xbf\xbd' exited"), std::string::npos)
      << text;
  EXPECT_NE(text.find("PID 100 \xef\xbf\xbd\xef\xbf\xbd" "A: 60 syscalls"), std::string::npos)
      << text;
  EXPECT_NE(text.find("PID 200 \\e[2Jevil\xef\xbf\xbd: 20 syscalls"), std::string::npos) << text;
}

TEST(SyscountText, DroppedEventsAreNeverSilent) {
  SyscountSample sample = example();
  sample.dropped.breakdown = 12;
  sample.dropped.recursion_misses = 1;
  const std::string text = render_syscount_text(report_of(sample), SyscountReportOptions{});
  EXPECT_NE(text.find("12 calls are missing"), std::string::npos) << text;
  EXPECT_NE(text.find("skipped 1 program run "), std::string::npos) << text;
  auto doc = render_syscount_json(report_of(sample), SyscountReportOptions{});
  EXPECT_EQ(doc["ebpf"]["syscalls"]["dropped_events"], 13);
  EXPECT_EQ(doc["dropped"]["breakdown"], 12);

  sample.dropped.children = 2;
  EXPECT_NE(render_syscount_text(report_of(sample), SyscountReportOptions{})
                .find("warning: 2 new processes or threads could not be followed"),
            std::string::npos);
  doc = render_syscount_json(report_of(sample), SyscountReportOptions{});
  EXPECT_EQ(doc["dropped"]["children"], 2);
  EXPECT_EQ(doc["ebpf"]["syscalls"]["dropped_events"], 15);
}

TEST(SyscountReport, SaysWhichProgramsCounted) {
  SyscountReport report = report_of(example());
  EXPECT_EQ(render_syscount_json(report, SyscountReportOptions{})["programs"], "tp_btf");
  EXPECT_EQ(render_syscount_text(report, SyscountReportOptions{}).find("raw_tp"), std::string::npos)
      << "the default programs need no note";
  report.programs = "raw_tp";
  EXPECT_EQ(render_syscount_json(report, SyscountReportOptions{})["programs"], "raw_tp");
  EXPECT_NE(render_syscount_text(report, SyscountReportOptions{})
                .find("note: counted by syscount's raw_tp programs"),
            std::string::npos);
}

// Why 9: -T 0 means all rows in JSON as in the table, not the default 10.
TEST(SyscountJson, TopZeroListsEverySyscall) {
  SyscountSample sample;
  for (long nr = 0; nr < 15; ++nr) sample.totals[nr] = {static_cast<std::uint64_t>(nr + 1), 0, 0, 0};
  SyscountReportOptions options;
  options.top = 0;
  EXPECT_EQ(render_syscount_json(report_of(sample), options)["ebpf"]["syscalls"]["top_syscalls"].size(), 15u);
  options.top = std::nullopt;
  EXPECT_EQ(render_syscount_json(report_of(sample), options)["ebpf"]["syscalls"]["top_syscalls"].size(), 10u);
}

// Why 9: the header showed argv unquoted, with raw newlines.
TEST(SyscountText, CommandIsQuotedAndEscaped) {
  SyscountReport report = report_of(example());
  report.command = {"sh", "-c", "echo a\nb; true", "it's", "a\\b"};
  const std::string text = render_syscount_text(report, SyscountReportOptions{});
  const std::string first = text.substr(0, text.find('\n'));
  EXPECT_NE(first.find("; sh -c $'echo a\\nb; true' 'it'\\''s' $'a\\\\b' exited with status 0"),
            std::string::npos)
      << first;
}

// Why 9: "(1 more syscalls", "1 syscalls".
TEST(SyscountText, SingularWhereThereIsOne) {
  SyscountSample sample;
  sample.totals[0] = {5, 0, 0, 0};
  sample.totals[1] = {1, 0, 0, 0};
  sample.dropped.recursion_misses = 1;
  sample.dropped.breakdown = 1;
  SyscountReportOptions options;
  options.top = 1;
  const std::string text = render_syscount_text(report_of(sample), options);
  EXPECT_NE(text.find("(1 more syscall;"), std::string::npos) << text;
  EXPECT_NE(text.find("skipped 1 program run "), std::string::npos) << text;
  EXPECT_NE(text.find("warning: 1 call is missing"), std::string::npos) << text;
  sample.totals.erase(0);
  EXPECT_NE(render_syscount_text(report_of(sample), {}).find("syscount: 1 syscall in"), std::string::npos);
}

// The column of a header word and the cells under it end at the same place.
std::size_t end_of(const std::string& line, const std::string& word) {
  const auto at = line.find(word);
  return at == std::string::npos ? std::string::npos : at + word.size();
}

// Why 9: an AVG(us) of 603317967.346 overflowed its column.
TEST(SyscountText, LatencyColumnsFitTheirValues) {
  SyscountSample sample;
  sample.totals[0] = {2, 0, 1206635934692, 2};  // read: 603 s per call
  sample.totals[7] = {100000000, 0, 5000000000, 100000000};  // poll
  SyscountReportOptions options;
  options.latency = true;
  const std::string text = render_syscount_text(report_of(sample), options);
  std::istringstream lines(text);
  std::string line, header;
  std::getline(lines, line);
  std::getline(lines, header);
  ASSERT_NE(header.find("AVG"), std::string::npos) << text;
  std::getline(lines, line);
  EXPECT_EQ(end_of(header, "AVG"), end_of(line, "50ns")) << text;  // poll first: more calls
  std::getline(lines, line);
  EXPECT_EQ(end_of(header, "AVG"), end_of(line, "603s")) << text;
  EXPECT_EQ(end_of(header, "TOTAL"), end_of(line, "1207s")) << text;
}

TEST(SyscountReport, SortKeys) {
  SyscountReportOptions options;
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& row : select_rows(example().totals, options)) out.push_back(row.name);
    return out;
  };
  EXPECT_EQ(names().front(), "read");
  options.sort = SortKey::errors;
  EXPECT_EQ(names().front(), "openat");
  options.sort = SortKey::time;
  EXPECT_EQ(names().front(), "read");
  options.sort = SortKey::name;
  EXPECT_EQ(names().front(), "clock_gettime");
  EXPECT_EQ(names().back(), "syscall_451");
  EXPECT_EQ(parse_sort_key("errors"), SortKey::errors);
  EXPECT_FALSE(parse_sort_key("size").has_value());
}

// Bucket I holds [low(I), high(I)), and the kernel's index computation
// (mirrored by latency_bucket_of) puts every value in the bucket that holds it.
TEST(SyscountLatency, BucketsTileTheLine) {
  EXPECT_EQ(latency_bucket_low(0), 0u);
  for (std::size_t i = 0; i + 1 < kLatencyBuckets; ++i) {
    ASSERT_EQ(latency_bucket_high(i), latency_bucket_low(i + 1)) << i;
    EXPECT_EQ(latency_bucket_of(latency_bucket_low(i)), i) << i;
    EXPECT_EQ(latency_bucket_of(*latency_bucket_high(i) - 1), i) << i;
  }
  EXPECT_FALSE(latency_bucket_high(kLatencyBuckets - 1).has_value());
  EXPECT_EQ(latency_bucket_of(~std::uint64_t{0}), kLatencyBuckets - 1);
  EXPECT_EQ(latency_bucket_low(8), 8u);
  EXPECT_EQ(latency_bucket_high(8), 10u);
  EXPECT_EQ(latency_bucket_of(1000), 35u);  // [896, 1024)
}

TEST(SyscountLatency, PercentilesAndHistogram) {
  SyscountSample sample;
  sample.totals[0] = {100, 0, 100000, 100};
  LatencyHistogram hist;
  hist.min = 900;
  hist.max = 50000;
  hist.buckets[latency_bucket_of(1000)] = 90;
  hist.buckets[latency_bucket_of(50000)] = 10;
  sample.latency[0] = hist;
  EXPECT_EQ(hist.percentile(50), 1023u);
  EXPECT_EQ(hist.percentile(90), 1023u);
  EXPECT_EQ(hist.percentile(99), 50000u) << "within [min, max]";
  SyscountReportOptions options;
  options.latency = true;
  options.histograms = {0};
  const auto doc = render_syscount_json(report_of(sample), options);
  const auto& latency = doc["ebpf"]["syscalls"]["syscalls"][0]["latency_ns"];
  EXPECT_EQ(latency["min"], 900);
  EXPECT_EQ(latency["p50"], 1023);
  ASSERT_EQ(latency["buckets"].size(), 2u);
  EXPECT_EQ(latency["buckets"][0], (nlohmann::ordered_json{{"index", 35}, {"low", 896}, {"high", 1024}, {"count", 90}}));
  const std::string text = render_syscount_text(report_of(sample), options);
  EXPECT_NE(text.find("read: latency histogram (100 calls)"), std::string::npos) << text;
  EXPECT_NE(text.find("         896 -> 1023        : 90 "), std::string::npos) << text;
  EXPECT_NE(text.find("|" + std::string(40, '*') + "|"), std::string::npos) << text;
}

TEST(SyscountReport, ErrnoBreakdown) {
  SyscountSample sample = example();
  sample.errnos[257] = {{2, 4}, {13, 1}};
  SyscountReportOptions options;
  options.errors = true;
  const auto doc = render_syscount_json(report_of(sample), options);
  const auto& rows = doc["ebpf"]["syscalls"]["syscalls"];
  const auto openat = std::find_if(rows.begin(), rows.end(), [](const auto& row) { return row["name"] == "openat"; });
  ASSERT_NE(openat, rows.end());
  EXPECT_EQ((*openat)["errnos"], (nlohmann::ordered_json{{"ENOENT", 4}, {"EACCES", 1}}));
  const std::string text = render_syscount_text(report_of(sample), options);
  EXPECT_NE(text.find("ENOENT 4, EACCES 1"), std::string::npos) << text;
}

TEST(SyscountReport, IntervalDeltasOfDistributions) {
  SyscountSample before;
  before.latency[0].buckets[3] = 2;
  before.errnos[2][2] = 5;
  SyscountSample now = before;
  now.latency[0].buckets[3] = 7;
  now.errnos[2][2] = 6;
  now.errnos[2][13] = 1;
  const SyscountSample delta = now - before;
  EXPECT_EQ(delta.latency.at(0).buckets[3], 5u);
  EXPECT_EQ(delta.errnos.at(2), (ErrnoCounts{{2, 1}, {13, 1}}));
}

}  // namespace
}  // namespace bpfready
