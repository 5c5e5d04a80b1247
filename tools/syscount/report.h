// syscount's result model and its renderers. A SyscountSample is what the kernel
// counters held at one moment (cumulative); a SyscountReport is a sample (or the
// difference of two, in interval mode) with what was traced and how. Both
// renderers are pure functions of a SyscountReport, so unit tests pin the output.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/syscount/syscalls.h"

namespace bpfready {

// The id the kernel counters use for syscall numbers outside the table range
// (for example -1, reported for a call skipped by seccomp or ptrace).
inline constexpr long kSyscallOutOfRange = -1;

struct SyscallStat {
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
  std::uint64_t total_ns = 0;  // entry to exit, summed over timed calls
  std::uint64_t timed = 0;     // calls that returned while traced
  SyscallStat& operator+=(const SyscallStat& other);
};
SyscallStat operator-(const SyscallStat& now, const SyscallStat& before);

using SyscallStats = std::map<long, SyscallStat>;  // syscall number -> stat

// -L: a syscall's latency distribution (bpf/syscount.h, SYSCOUNT_LAT_BUCKETS):
// bucket I counts the calls that took [latency_bucket_low(I),
// latency_bucket_high(I)) ns; the last bucket has no upper bound.
inline constexpr std::size_t kLatencyBuckets = 128;
struct LatencyHistogram {
  std::uint64_t min = 0;  // exact, over the calls counted (0 when none)
  std::uint64_t max = 0;
  std::array<std::uint64_t, kLatencyBuckets> buckets{};
  [[nodiscard]] std::uint64_t calls() const;
  // The P-th percentile (0 < P <= 100) as the upper end of the bucket that
  // holds it (at most 25% above the true value), kept within [min, max].
  [[nodiscard]] std::uint64_t percentile(double p) const;
};
std::uint64_t latency_bucket_low(std::size_t index);
std::optional<std::uint64_t> latency_bucket_high(std::size_t index);  // nullopt: the last
// The bucket a time of NS nanoseconds falls in (the kernel's computation).
std::size_t latency_bucket_of(std::uint64_t ns);

// syscall number -> errno (positive) -> failures.
using ErrnoCounts = std::map<int, std::uint64_t>;

struct TaskId {
  std::uint32_t tgid = 0;
  std::uint32_t tid = 0;  // 0 when only per-process counts were kept
  auto operator<=>(const TaskId&) const = default;  // NOLINT(modernize-use-nullptr): tidy 14 bug
};

struct Dropped {
  std::uint64_t breakdown = 0;         // calls missing from per-process/thread counts
  std::uint64_t names = 0;             // processes whose name was not kept
  std::uint64_t latency = 0;           // calls not timed (no per-thread slot)
  std::uint64_t recursion_misses = 0;  // program runs the kernel skipped
  std::uint64_t children = 0;          // raw_tp programs: children not followed
  std::uint64_t errnos = 0;            // failures missing from the errno breakdown
  [[nodiscard]] std::uint64_t events() const {
    return breakdown + latency + recursion_misses + children + errnos;
  }
};

struct SyscountSample {
  SyscallStats totals;
  std::map<TaskId, SyscallStats> by_task;
  std::map<std::uint32_t, std::string> names;  // TGID or TID -> comm
  std::map<long, LatencyHistogram> latency;    // -L, per syscall number
  std::map<long, ErrnoCounts> errnos;          // --errors, per syscall number
  Dropped dropped;
};
// Per-interval deltas. Names are taken from NOW.
SyscountSample operator-(const SyscountSample& now, const SyscountSample& before);

enum class TargetMode { command, pids, all, cgroup };

// -S/--sort: the order of the rows (count: the default).
enum class SortKey { count, time, errors, name };
std::optional<SortKey> parse_sort_key(std::string_view text);

struct SyscountReportOptions {
  bool errors = false;
  bool latency = false;
  bool by_process = false;
  bool by_thread = false;
  std::optional<std::size_t> top;       // rows in the table / top_syscalls
  std::set<long> only_syscalls;         // empty: all
  std::set<SyscallCategory> only_categories;  // empty: all
  bool failed_only = false;             // only syscalls with errors
  SortKey sort = SortKey::count;        // -S
  std::set<long> histograms;            // --histogram: syscalls whose histogram is printed
  std::optional<int> only_errno;        // --errno: only failures with this errno are counted
};

struct SyscountReport {
  TargetMode mode = TargetMode::command;
  // Which variant of the BPF programs counted: "tp_btf" (typed, the
  // default) or "raw_tp" (the fallback for kernels without BTF or before 5.11).
  std::string programs = "tp_btf";
  std::vector<std::string> command;
  std::vector<pid_t> pids;
  std::optional<int> exit_status;  // command mode, once the command ended
  std::optional<int> signal;       // the signal that killed the command
  std::optional<std::string> error;  // why the command could not be executed
  double duration_sec = 0;         // of this report (the interval in interval mode)
  std::optional<std::size_t> interval_index;  // interval mode: 1, 2, ...
  double interval_start_sec = 0;   // seconds since tracing started
  bool final = true;               // last document of the run
  SyscountSample sample;
};

struct SyscallRow {
  long nr = 0;
  std::string name;
  SyscallCategory category = SyscallCategory::other;
  SyscallStat stat;
  // Totals rows only (null in per-process/thread rows): into the sample.
  const LatencyHistogram* latency = nullptr;
  const ErrnoCounts* errnos = nullptr;
};
// The rows a report shows: filtered, sorted by options.sort (count: by
// count, then name), all rows (TOP applies only where the renderers say so).
std::vector<SyscallRow> select_rows(const SyscallStats& stats, const SyscountReportOptions& options);
// The totals rows of SAMPLE, with their latency histograms and errno counts.
std::vector<SyscallRow> select_total_rows(const SyscountSample& sample,
                                          const SyscountReportOptions& options);
// A duration in ns for a terminal column: "850ns", "12.3us", "4.56ms", "1.23s".
std::string format_duration(std::uint64_t ns);
// The funclatency-style histogram of one row (--histogram).
std::string render_histogram(const SyscallRow& row);

// Processes or threads with their filtered rows, busiest first.
struct TaskRows {
  TaskId id;
  std::string name;
  std::uint64_t total = 0;
  std::vector<SyscallRow> rows;
};
std::vector<TaskRows> select_tasks(const SyscountSample& sample, const SyscountReportOptions& options,
                                   bool per_thread);

std::string render_syscount_text(const SyscountReport& report, const SyscountReportOptions& options);
nlohmann::ordered_json render_syscount_json(const SyscountReport& report, const SyscountReportOptions& options);

std::string_view to_string(TargetMode mode);
std::string display_name(long nr);  // "read", "syscall_451", "out_of_range"

}  // namespace bpfready
