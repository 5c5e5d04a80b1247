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
  for (const auto& [nr, hist] : now.latency) {
    LatencyHistogram delta = hist;  // min and max: of the run so far
    if (auto found = before.latency.find(nr); found != before.latency.end()) {
      for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
        delta.buckets[i] = minus(hist.buckets[i], found->second.buckets[i]);
      }
    }
    if (delta.calls()) out.latency[nr] = delta;
  }
  for (const auto& [nr, counts] : now.errnos) {
    const auto found = before.errnos.find(nr);
    for (const auto& [err, count] : counts) {
      std::uint64_t earlier = 0;
      if (found != before.errnos.end()) {
        if (auto was = found->second.find(err); was != found->second.end()) earlier = was->second;
      }
      if (const auto delta = minus(count, earlier)) out.errnos[nr][err] = delta;
    }
  }
  out.dropped.errnos = minus(now.dropped.errnos, before.dropped.errnos);
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
  std::sort(rows.begin(), rows.end(), [&options](const SyscallRow& a, const SyscallRow& b) {
    switch (options.sort) {
      case SortKey::time:
        if (a.stat.total_ns != b.stat.total_ns) return a.stat.total_ns > b.stat.total_ns;
        break;
      case SortKey::errors:
        if (a.stat.errors != b.stat.errors) return a.stat.errors > b.stat.errors;
        break;
      case SortKey::name:
        return a.name < b.name;
      case SortKey::count:
        break;
    }
    if (a.stat.count != b.stat.count) return a.stat.count > b.stat.count;
    return a.name < b.name;
  });
  return rows;
}

std::vector<SyscallRow> select_total_rows(const SyscountSample& sample,
                                          const SyscountReportOptions& options) {
  auto rows = select_rows(sample.totals, options);
  for (auto& row : rows) {
    if (auto found = sample.latency.find(row.nr); found != sample.latency.end()) {
      row.latency = &found->second;
    }
    if (auto found = sample.errnos.find(row.nr); found != sample.errnos.end()) {
      row.errnos = &found->second;
    }
  }
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

// "1 syscall", "2 syscalls".
std::string counted(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + ' ' + (n == 1 ? one : many);
}

// One column of a table: every cell is known before the widths are.
struct Column {
  std::string header;
  bool left = false;  // aligned left (names), else right (numbers)
  std::vector<std::string> cells;
};

std::string errno_cell(const ErrnoCounts* errnos) {
  if (!errnos) return "";
  std::vector<std::pair<std::uint64_t, int>> order;
  for (const auto& [err, count] : *errnos) order.emplace_back(count, err);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::string cell;
  for (const auto& [count, err] : order) {
    cell += (cell.empty() ? "" : ", ") + errno_name(err) + ' ' + std::to_string(count);
  }
  return cell;
}

void add_latency_cells(std::vector<Column>& columns, std::size_t first, const SyscallRow& row) {
  const auto& stat = row.stat;
  const auto* hist = row.latency && row.latency->calls() ? row.latency : nullptr;
  const std::string none = "-";
  columns[first].cells.push_back(stat.timed ? format_duration(stat.total_ns) : none);
  columns[first + 1].cells.push_back(hist ? format_duration(hist->min) : none);
  columns[first + 2].cells.push_back(stat.timed ? format_duration(stat.total_ns / stat.timed) : none);
  columns[first + 3].cells.push_back(hist ? format_duration(hist->percentile(50)) : none);
  columns[first + 4].cells.push_back(hist ? format_duration(hist->percentile(90)) : none);
  columns[first + 5].cells.push_back(hist ? format_duration(hist->percentile(99)) : none);
  columns[first + 6].cells.push_back(hist ? format_duration(hist->max) : none);
}

std::vector<Column> table_columns(const std::vector<SyscallRow>& rows, std::size_t shown,
                                  const SyscountReportOptions& options) {
  std::vector<Column> columns = {{"SYSCALL", true, {}}, {"COUNT", false, {}}};
  const std::size_t errors_at = columns.size();
  if (options.errors) columns.push_back({"ERRORS", false, {}});
  const std::size_t latency_at = columns.size();
  if (options.latency) {
    for (const char* name : {"TOTAL", "MIN", "AVG", "P50", "P90", "P99", "MAX"}) {
      columns.push_back({name, false, {}});
    }
  }
  const std::size_t category_at = columns.size();
  columns.push_back({"CATEGORY", true, {}});
  const bool with_errnos = options.errors && std::any_of(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(shown),
                                                         [](const SyscallRow& row) { return row.errnos != nullptr; });
  if (with_errnos) columns.push_back({"ERRNO", true, {}});
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& row = rows[i];
    columns[0].cells.push_back(row.name);
    columns[1].cells.push_back(std::to_string(row.stat.count));
    if (options.errors) columns[errors_at].cells.push_back(std::to_string(row.stat.errors));
    if (options.latency) add_latency_cells(columns, latency_at, row);
    columns[category_at].cells.emplace_back(to_string(row.category));
    if (with_errnos) columns.back().cells.push_back(errno_cell(row.errnos));
  }
  return columns;
}

void print_line(std::ostringstream& out, const std::string& indent,
                const std::vector<Column>& columns, const std::vector<std::size_t>& widths,
                std::size_t row) {
  std::string line = indent;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const std::string& cell = row == 0 ? columns[c].header : columns[c].cells[row - 1];
    const std::string pad(widths[c] - cell.size(), ' ');
    if (c > 0) line += "  ";
    line += columns[c].left ? cell + pad : pad + cell;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out << line << '\n';
}

// Every column as wide as its widest cell, so no value ever overflows.
void table(std::ostringstream& out, const std::vector<SyscallRow>& rows,
           const SyscountReportOptions& options, const std::string& indent) {
  const std::size_t shown = options.top && *options.top > 0 ? std::min(*options.top, rows.size())
                                                            : rows.size();
  const auto columns = table_columns(rows, shown, options);
  std::vector<std::size_t> widths;
  for (const auto& column : columns) {
    std::size_t width = column.header.size();
    for (const auto& cell : column.cells) width = std::max(width, cell.size());
    widths.push_back(width);
  }
  for (std::size_t row = 0; row <= shown; ++row) print_line(out, indent, columns, widths, row);
  if (shown < rows.size()) {
    out << indent << "(" << rows.size() - shown << " more " << (rows.size() - shown == 1 ? "syscall" : "syscalls")
        << "; -T 0 shows all)\n";
  }
}

}  // namespace

namespace {

void warnings(std::ostringstream& out, const Dropped& dropped) {
  if (dropped.breakdown) {
    out << "warning: " << counted(dropped.breakdown, "call is", "calls are")
        << " missing from the per-process/thread breakdown (map full; raise "
           "--map-entries); the totals include them\n";
  }
  if (dropped.latency) {
    out << "warning: " << counted(dropped.latency, "call was", "calls were")
        << " not followed to its exit (not timed, not checked for failure)\n";
  }
  if (dropped.recursion_misses) {
    out << "warning: the kernel skipped " << counted(dropped.recursion_misses, "program run", "program runs")
        << " (recursion); those calls are not counted\n";
  }
  if (dropped.children) {
    out << "warning: " << counted(dropped.children, "new process or thread", "new processes or threads")
        << " could not be followed; their calls are not counted\n";
  }
  if (dropped.errnos) {
    out << "warning: " << counted(dropped.errnos, "failure is", "failures are")
        << " missing from the errno breakdown (map full); the error counts include them\n";
  }
  if (dropped.names) {
    out << "note: " << counted(dropped.names, "process name was", "process names were") << " not kept\n";
  }
}

// ARGV as it would be typed in a shell, safe for a terminal: a word that
// needs no escaping is shell-quoted ('a b', 'it'\''s'); any other is
// written $'...' with its control characters escaped (\n, \e, \x07) and
// bytes that are not UTF-8 as U+FFFD.
std::string command_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& word : argv) {
    if (!line.empty()) line += ' ';
    std::string escaped = escape_for_terminal(word);
    if (escaped == word) {
      line += shell_quote(word);
      continue;
    }
    line += "$'";
    for (const char c : escaped) line += c == '\'' ? std::string("\\'") : std::string(1, c);
    line += '\'';
  }
  return line;
}

void headline(std::ostringstream& out, const SyscountReport& report,
              const SyscountReportOptions& options, std::uint64_t total, std::uint64_t errors) {
  if (report.interval_index) {
    out << "interval " << *report.interval_index << " ("
        << format("%.3f", report.interval_start_sec) << " s +"
        << format("%.3f", report.duration_sec) << " s): ";
  } else {
    out << "syscount: ";
  }
  out << counted(total, "syscall", "syscalls");
  if (options.errors) out << ", " << errors << " failed";
  if (options.only_errno) out << " with " << errno_name(*options.only_errno);
  if (!report.interval_index) out << " in " << format("%.3f", report.duration_sec) << " s";
  if (report.mode == TargetMode::command && !report.command.empty() && report.final) {
    // As it would be typed, with no control character reaching the terminal.
    out << "; " << command_line(report.command);
    if (report.signal) {
      out << " killed by signal " << *report.signal;
    } else if (report.exit_status) {
      out << " exited with status " << *report.exit_status;
    } else {
      out << " still running";
    }
  }
  out << '\n';
}

}  // namespace

std::string render_syscount_text(const SyscountReport& report, const SyscountReportOptions& options) {
  std::ostringstream out;
  const auto rows = select_total_rows(report.sample, options);
  const std::uint64_t total = total_of(rows);
  std::uint64_t errors = 0;
  for (const auto& row : rows) errors += row.stat.errors;

  headline(out, report, options, total, errors);
  table(out, rows, options, "");

  auto tasks_section = [&](bool per_thread) {
    for (const auto& task : select_tasks(report.sample, options, per_thread)) {
      out << '\n' << (per_thread ? "TID " : "PID ") << (per_thread ? task.id.tid : task.id.tgid);
      if (per_thread) out << " (PID " << task.id.tgid << ")";
      out << ' ' << (task.name.empty() ? "?" : escape_for_terminal(task.name)) << ": "
          << counted(task.total, "syscall", "syscalls") << '\n';
      table(out, task.rows, options, "  ");
    }
  };
  if (options.by_process) tasks_section(false);
  if (options.by_thread) tasks_section(true);
  for (long nr : options.histograms) {
    auto found = std::find_if(rows.begin(), rows.end(), [nr](const SyscallRow& row) { return row.nr == nr; });
    if (found != rows.end()) {
      out << render_histogram(*found);
    } else {
      out << '\n' << display_name(nr) << ": latency histogram: no call timed\n";
    }
  }

  warnings(out, report.sample.dropped);
  if (report.programs != "tp_btf") {
    out << "note: counted by syscount's " << report.programs
        << " programs, the fallback for kernels without typed tracepoints\n";
  }
  return out.str();
}

namespace {
// min, max, percentiles and the non-empty buckets (docs/syscount-json.md).
void add_distribution(nlohmann::ordered_json& into, const LatencyHistogram& hist) {
  into["min"] = hist.min;
  into["max"] = hist.max;
  into["p50"] = hist.percentile(50);
  into["p90"] = hist.percentile(90);
  into["p99"] = hist.percentile(99);
  auto buckets = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    if (hist.buckets[i] == 0) continue;
    const auto high = latency_bucket_high(i);
    buckets.push_back({{"index", i},
                       {"low", latency_bucket_low(i)},
                       {"high", high ? nlohmann::ordered_json(*high) : nlohmann::ordered_json(nullptr)},
                       {"count", hist.buckets[i]}});
  }
  into["buckets"] = std::move(buckets);
}

nlohmann::ordered_json row_json(const SyscallRow& row, const SyscountReportOptions& options) {
  nlohmann::ordered_json entry = {{"name", row.name}, {"count", row.stat.count}};
  entry["nr"] = row.nr == kSyscallOutOfRange ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.nr);
  entry["category"] = to_string(row.category);
  if (options.errors) entry["errors"] = row.stat.errors;
  if (options.errors && row.errnos) {
    nlohmann::ordered_json by_errno = nlohmann::ordered_json::object();
    for (const auto& [err, count] : *row.errnos) by_errno[errno_name(err)] = count;
    entry["errnos"] = std::move(by_errno);
  }
  if (options.latency) {
    entry["latency_ns"] = {
        {"total", row.stat.total_ns},
        {"timed", row.stat.timed},
        {"avg", row.stat.timed ? static_cast<double>(row.stat.total_ns) /
                                     static_cast<double>(row.stat.timed)
                               : 0.0}};
    if (row.latency && row.latency->calls()) add_distribution(entry["latency_ns"], *row.latency);
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
        {"children", dropped.children},
        {"errnos", dropped.errnos}}},
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
  const auto rows = select_total_rows(report.sample, options);
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
  // The most frequent, whatever -S sorts the rows by; -T 0: all of them.
  const std::size_t top_n = !options.top ? 10 : *options.top > 0 ? *options.top : rows.size();
  std::vector<const SyscallRow*> by_count;
  by_count.reserve(rows.size());
  for (const auto& row : rows) by_count.push_back(&row);
  std::stable_sort(by_count.begin(), by_count.end(), [](const SyscallRow* a, const SyscallRow* b) {
    return a->stat.count != b->stat.count ? a->stat.count > b->stat.count : a->name < b->name;
  });
  auto top = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < by_count.size() && i < top_n; ++i) {
    top.push_back({{"name", by_count[i]->name}, {"count", by_count[i]->stat.count}});
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
  if (options.only_errno) syscalls["only_errno"] = errno_name(*options.only_errno);
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
