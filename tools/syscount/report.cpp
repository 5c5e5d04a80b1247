#include "tools/syscount/report.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "libcheck/common/text.h"
#include "libcheck/parse.h"

namespace bpfready {

SyscallStat& SyscallStat::operator+=(const SyscallStat& other) {
  count += other.count;
  errors += other.errors;
  total_ns += other.total_ns;
  timed += other.timed;
  return *this;
}

namespace {
// Counters only grow; a smaller "now" (an entry removed) reads as zero.
std::uint64_t minus(std::uint64_t now, std::uint64_t before) { return now > before ? now - before : 0; }

SyscallStats minus(const SyscallStats& now, const SyscallStats& before) {
  SyscallStats out;
  for (const auto& [nr, stat] : now) {
    auto found = before.find(nr);
    SyscallStat delta = found == before.end() ? stat : stat - found->second;
    if (delta.count || delta.errors || delta.timed) out[nr] = delta;
  }
  return out;
}
}  // namespace

SyscallStat operator-(const SyscallStat& now, const SyscallStat& before) {
  return SyscallStat{minus(now.count, before.count), minus(now.errors, before.errors),
                     minus(now.total_ns, before.total_ns), minus(now.timed, before.timed)};
}

SyscountSample operator-(const SyscountSample& now, const SyscountSample& before) {
  SyscountSample out;
  out.totals = minus(now.totals, before.totals);
  for (const auto& [task, stats] : now.by_task) {
    auto found = before.by_task.find(task);
    auto delta = found == before.by_task.end() ? stats : minus(stats, found->second);
    if (!delta.empty()) out.by_task[task] = std::move(delta);
  }
  out.names = now.names;
  out.dropped.breakdown = minus(now.dropped.breakdown, before.dropped.breakdown);
  out.dropped.names = minus(now.dropped.names, before.dropped.names);
  out.dropped.latency = minus(now.dropped.latency, before.dropped.latency);
  out.dropped.recursion_misses =
      minus(now.dropped.recursion_misses, before.dropped.recursion_misses);
  out.dropped.children = minus(now.dropped.children, before.dropped.children);
  return out;
}

std::string_view to_string(TargetMode mode) {
  // In the order of the enum's values.
  constexpr std::array<std::string_view, 4> names = {"command", "pids", "all", "cgroup"};
  const auto index = static_cast<std::size_t>(mode);
  return index < names.size() ? names[index] : names[0];
}

std::string display_name(long nr) {
  return nr == kSyscallOutOfRange ? std::string("out_of_range") : syscall_name(nr);
}

namespace {
SyscallCategory category_of(long nr) {
  return nr == kSyscallOutOfRange ? SyscallCategory::other : syscall_category(nr);
}

bool wanted(long nr, const SyscallStat& stat, const SyscountReportOptions& options) {
  if (!options.only_syscalls.empty() && !options.only_syscalls.contains(nr)) return false;
  if (!options.only_categories.empty() && !options.only_categories.contains(category_of(nr))) {
    return false;
  }
  if (options.failed_only && stat.errors == 0) return false;
  return stat.count > 0 || stat.errors > 0;
}

std::uint64_t total_of(const std::vector<SyscallRow>& rows) {
  std::uint64_t total = 0;
  for (const auto& row : rows) total += row.stat.count;
  return total;
}
}  // namespace

std::vector<SyscallRow> select_rows(const SyscallStats& stats, const SyscountReportOptions& options) {
  std::vector<SyscallRow> rows;
  for (const auto& [nr, stat] : stats) {
    if (!wanted(nr, stat, options)) continue;
    rows.push_back(SyscallRow{nr, display_name(nr), category_of(nr), stat});
  }
  std::sort(rows.begin(), rows.end(), [](const SyscallRow& a, const SyscallRow& b) {
    if (a.stat.count != b.stat.count) return a.stat.count > b.stat.count;
    return a.name < b.name;
  });
  return rows;
}

std::vector<TaskRows> select_tasks(const SyscountSample& sample, const SyscountReportOptions& options,
                                   bool per_thread) {
  std::map<TaskId, SyscallStats> grouped;
  for (const auto& [task, stats] : sample.by_task) {
    TaskId id = per_thread ? task : TaskId{task.tgid, 0};
    auto& into = grouped[id];
    for (const auto& [nr, stat] : stats) into[nr] += stat;
  }
  std::vector<TaskRows> out;
  for (auto& [id, stats] : grouped) {
    TaskRows task{id, {}, 0, select_rows(stats, options)};
    if (task.rows.empty()) continue;
    task.total = total_of(task.rows);
    std::uint32_t name_key = per_thread && id.tid ? id.tid : id.tgid;
    if (auto found = sample.names.find(name_key); found != sample.names.end()) {
      task.name = found->second;
    } else if (auto leader = sample.names.find(id.tgid); leader != sample.names.end()) {
      task.name = leader->second;
    }
    out.push_back(std::move(task));
  }
  std::sort(out.begin(), out.end(), [](const TaskRows& a, const TaskRows& b) {
    if (a.total != b.total) return a.total > b.total;
    return a.id < b.id;
  });
  return out;
}

namespace {

std::string format(const char* fmt, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, fmt, value);
  return buffer;
}

void table(std::ostringstream& out, const std::vector<SyscallRow>& rows,
           const SyscountReportOptions& options, const std::string& indent) {
  const std::size_t shown = options.top && *options.top > 0 ? std::min(*options.top, rows.size())
                                                            : rows.size();
  std::size_t width = 7;
  for (std::size_t i = 0; i < shown; ++i) width = std::max(width, rows[i].name.size());
  char line[256];
  std::snprintf(line, sizeof line, "%s%-*s %12s", indent.c_str(), static_cast<int>(width),
                "SYSCALL", "COUNT");
  out << line;
  if (options.errors) out << "     ERRORS";
  if (options.latency) out << "    TOTAL(ms)      AVG(us)";
  out << "  CATEGORY\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& row = rows[i];
    std::snprintf(line, sizeof line, "%s%-*s %12" PRIu64, indent.c_str(), static_cast<int>(width),
                  row.name.c_str(), row.stat.count);
    out << line;
    if (options.errors) {
      std::snprintf(line, sizeof line, " %10" PRIu64, row.stat.errors);
      out << line;
    }
    if (options.latency) {
      const double total_ms = static_cast<double>(row.stat.total_ns) / 1e6;
      out << format(" %12.3f", total_ms);
      if (row.stat.timed) {
        out << format(" %12.3f", static_cast<double>(row.stat.total_ns) /
                                     static_cast<double>(row.stat.timed) / 1e3);
      } else {
        out << "            -";
      }
    }
    out << "  " << to_string(row.category) << '\n';
  }
  if (shown < rows.size()) {
    out << indent << "(" << rows.size() - shown << " more syscalls; -T 0 shows all)\n";
  }
}

}  // namespace

std::string render_syscount_text(const SyscountReport& report, const SyscountReportOptions& options) {
  std::ostringstream out;
  const auto rows = select_rows(report.sample.totals, options);
  const std::uint64_t total = total_of(rows);
  std::uint64_t errors = 0;
  for (const auto& row : rows) errors += row.stat.errors;

  if (report.interval_index) {
    out << "interval " << *report.interval_index << " ("
        << format("%.3f", report.interval_start_sec) << " s +"
        << format("%.3f", report.duration_sec) << " s): ";
  } else {
    out << "syscount: ";
  }
  out << total << " syscalls";
  if (options.errors) out << ", " << errors << " failed";
  if (!report.interval_index) out << " in " << format("%.3f", report.duration_sec) << " s";
  if (report.mode == TargetMode::command && !report.command.empty() && report.final) {
    out << "; " << escape_for_terminal(join(report.command));
    if (report.signal) {
      out << " killed by signal " << *report.signal;
    } else if (report.exit_status) {
      out << " exited with status " << *report.exit_status;
    } else {
      out << " still running";
    }
  }
  out << '\n';
  table(out, rows, options, "");

  auto tasks_section = [&](bool per_thread) {
    for (const auto& task : select_tasks(report.sample, options, per_thread)) {
      out << '\n' << (per_thread ? "TID " : "PID ") << (per_thread ? task.id.tid : task.id.tgid);
      if (per_thread) out << " (PID " << task.id.tgid << ")";
      out << ' ' << (task.name.empty() ? "?" : escape_for_terminal(task.name)) << ": " << task.total
          << " syscalls\n";
      table(out, task.rows, options, "  ");
    }
  };
  if (options.by_process) tasks_section(false);
  if (options.by_thread) tasks_section(true);

  const auto& dropped = report.sample.dropped;
  if (dropped.breakdown) {
    out << "warning: " << dropped.breakdown
        << " calls are missing from the per-process/thread breakdown (map full; raise "
           "--map-entries); the totals include them\n";
  }
  if (dropped.latency) out << "warning: " << dropped.latency << " calls were not timed\n";
  if (dropped.recursion_misses) {
    out << "warning: the kernel skipped " << dropped.recursion_misses
        << " program runs (recursion); those calls are not counted\n";
  }
  if (dropped.children) {
    out << "warning: " << dropped.children
        << " new processes or threads could not be followed; their calls are not counted\n";
  }
  if (dropped.names) out << "note: " << dropped.names << " process names were not kept\n";
  if (report.programs != "tp_btf") {
    out << "note: counted by syscount's " << report.programs
        << " programs, the fallback for kernels without typed tracepoints\n";
  }
  return out.str();
}

namespace {
nlohmann::ordered_json row_json(const SyscallRow& row, const SyscountReportOptions& options) {
  nlohmann::ordered_json entry = {{"name", row.name}, {"count", row.stat.count}};
  entry["nr"] = row.nr == kSyscallOutOfRange ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.nr);
  entry["category"] = to_string(row.category);
  if (options.errors) entry["errors"] = row.stat.errors;
  if (options.latency) {
    entry["latency_ns"] = {
        {"total", row.stat.total_ns},
        {"timed", row.stat.timed},
        {"avg", row.stat.timed ? static_cast<double>(row.stat.total_ns) /
                                     static_cast<double>(row.stat.timed)
                               : 0.0}};
  }
  return entry;
}

nlohmann::ordered_json rows_json(const std::vector<SyscallRow>& rows, const SyscountReportOptions& options) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& row : rows) list.push_back(row_json(row, options));
  return list;
}

// Host text (arguments, process names) is any bytes; JSON strings are UTF-8.
nlohmann::ordered_json utf8_words(const std::vector<std::string>& words) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& word : words) list.push_back(valid_utf8(word));
  return list;
}

double fraction(std::uint64_t part, std::uint64_t total) {
  return total ? static_cast<double>(part) / static_cast<double>(total) : 0.0;
}

// The document around ebpf.syscalls: what was traced, how it ended, what
// could not be recorded, which programs counted.
nlohmann::ordered_json document_json(const SyscountReport& report, nlohmann::ordered_json syscalls) {
  const auto& dropped = report.sample.dropped;
  nlohmann::ordered_json doc = {
      {"schema", "bpfready.syscount/1"},
      {"mode", to_string(report.mode)},
      {"command", report.mode == TargetMode::command ? utf8_words(report.command)
                                                     : nlohmann::ordered_json(nullptr)},
      {"pids", report.pids},
      {"exit_status", report.exit_status ? nlohmann::ordered_json(*report.exit_status)
                                         : nlohmann::ordered_json(nullptr)},
      {"signal", report.signal ? nlohmann::ordered_json(*report.signal) : nlohmann::ordered_json(nullptr)},
      {"duration_sec", report.duration_sec},
      {"dropped",
       {{"breakdown", dropped.breakdown},
        {"names", dropped.names},
        {"latency", dropped.latency},
        {"recursion_misses", dropped.recursion_misses},
        {"children", dropped.children}}},
      {"programs", report.programs},
      {"ebpf", {{"syscalls", std::move(syscalls)}}},
  };
  if (report.error) doc["error"] = valid_utf8(*report.error);
  if (report.interval_index) {
    doc["interval"] = {{"index", *report.interval_index},
                       {"start_sec", report.interval_start_sec},
                       {"final", report.final}};
  }
  return doc;
}
}  // namespace

nlohmann::ordered_json render_syscount_json(const SyscountReport& report, const SyscountReportOptions& options) {
  const auto rows = select_rows(report.sample.totals, options);
  const std::uint64_t total = total_of(rows);

  std::map<SyscallCategory, std::uint64_t> per_category;
  std::uint64_t errors = 0;
  for (const auto& row : rows) {
    per_category[row.category] += row.stat.count;
    errors += row.stat.errors;
  }
  nlohmann::ordered_json by_category = nlohmann::ordered_json::object();
  for (auto category : kAllSyscallCategories) {
    by_category[std::string(to_string(category))] = per_category[category];
  }
  const std::size_t top_n = options.top && *options.top > 0 ? *options.top : 10;
  auto top = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < rows.size() && i < top_n; ++i) {
    top.push_back({{"name", rows[i].name}, {"count", rows[i].stat.count}});
  }
  auto count = [&](SyscallCategory c) { return per_category[c]; };
  nlohmann::ordered_json analysis = {
      {"syscall_rate_per_sec",
       report.duration_sec > 0 ? static_cast<double>(total) / report.duration_sec : 0.0},
      {"io_intensity", fraction(count(SyscallCategory::file_io), total)},
      {"memory_intensity", fraction(count(SyscallCategory::memory), total)},
      {"cpu_intensity",
       fraction(count(SyscallCategory::process) + count(SyscallCategory::time), total)},
      {"network_intensity", fraction(count(SyscallCategory::network), total)},
  };

  const auto& dropped = report.sample.dropped;
  nlohmann::ordered_json syscalls = {
      {"total", total},
      {"by_category", by_category},
      {"top_syscalls", top},
      {"analysis", analysis},
      {"syscalls", rows_json(rows, options)},
      {"dropped_events", dropped.events()},
  };
  if (options.errors) syscalls["errors"] = errors;
  auto tasks_json = [&](bool per_thread) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& task : select_tasks(report.sample, options, per_thread)) {
      nlohmann::ordered_json entry = {{"pid", task.id.tgid}};
      if (per_thread) entry["tid"] = task.id.tid;
      entry["name"] = task.name.empty() ? nlohmann::ordered_json(nullptr)
                                        : nlohmann::ordered_json(valid_utf8(task.name));
      entry["total"] = task.total;
      entry["syscalls"] = rows_json(task.rows, options);
      list.push_back(std::move(entry));
    }
    return list;
  };
  if (options.by_process) syscalls["by_process"] = tasks_json(false);
  if (options.by_thread) syscalls["by_thread"] = tasks_json(true);
  return document_json(report, std::move(syscalls));
}

}  // namespace bpfready
