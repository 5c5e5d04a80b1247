// syscount's result model and its renderers. A SyscountSample is what the kernel
// counters held at one moment (cumulative); a SyscountReport is a sample (or the
// difference of two, in interval mode) with what was traced and how. Both
// renderers are pure functions of a SyscountReport, so unit tests pin the output.
#pragma once

#include <sys/types.h>

#include <cstdint>
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
  [[nodiscard]] std::uint64_t events() const {
    return breakdown + latency + recursion_misses + children;
  }
};

struct SyscountSample {
  SyscallStats totals;
  std::map<TaskId, SyscallStats> by_task;
  std::map<std::uint32_t, std::string> names;  // TGID or TID -> comm
  Dropped dropped;
};
// Per-interval deltas. Names are taken from NOW.
SyscountSample operator-(const SyscountSample& now, const SyscountSample& before);

enum class TargetMode { command, pids, all, cgroup };

struct SyscountReportOptions {
  bool errors = false;
  bool latency = false;
  bool by_process = false;
  bool by_thread = false;
  std::optional<std::size_t> top;       // rows in the table / top_syscalls
  std::set<long> only_syscalls;         // empty: all
  std::set<SyscallCategory> only_categories;  // empty: all
  bool failed_only = false;             // only syscalls with errors
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
};
// The rows a report shows: filtered, sorted by count (then name), all rows
// (TOP applies only where the renderers say so).
std::vector<SyscallRow> select_rows(const SyscallStats& stats, const SyscountReportOptions& options);

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
