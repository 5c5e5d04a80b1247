#include "tools/syscount/cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

#include "libcheck/common/text.h"
#include "libcheck/expected.h"

namespace bpfready {

namespace {

constexpr const char* kDescription =
    "Count the syscalls of a command, of running processes, or of the whole system,\n"
    "exactly and with little overhead, using eBPF raw tracepoints.\n"
    "\n"
    "Runs as root, or as an ordinary user when the binary has the file\n"
    "capabilities cap_bpf,cap_perfmon (see tracefs-setup). No tracefs access is\n"
    "needed. The command runs as you, without any capability.\n";

constexpr const char* kExamples =
    "\nExamples:\n"
    "  syscount -- ls -l                 count what `ls -l` does, exec included\n"
    "  syscount --errors --latency -- make   add failed calls and time per call\n"
    "  syscount --json -o out.json -- ./app  JSON report to a file; app's output untouched\n"
    "  syscount -p 1234,5678 -d 10       10 seconds of two running processes and their children\n"
    "  syscount -a -i 1 -T 5             the whole system, top 5 every second\n"
    "  syscount --category network --by-process -- curl -s example.org\n"
    "  syscount --list                   every syscall name and category\n"
    "\n"
    "Exit status: the command's (128+N if killed by signal N, 127 if it could not be\n"
    "executed); otherwise 0; 2 for a usage error, when profiling cannot work here\n"
    "(the reason and the fix are printed), or when the report could not be written\n"
    "(even with a command).\n";

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The option words that need checking after parsing: taken as text, so
// that every number is checked here, whole and against its range.
struct OptionWords {
  std::vector<std::string> pids;
  std::vector<std::string> syscalls;
  std::vector<std::string> categories;
  std::string duration, interval, top, map_entries, flavour;
  CLI::Option* duration_option = nullptr;
  CLI::Option* interval_option = nullptr;
  CLI::Option* top_option = nullptr;
  CLI::Option* map_entries_option = nullptr;
  CLI::Option* output_option = nullptr;
  CLI::Option* flavour_option = nullptr;
};

// WORD as it may be shown in a message: quoted, with no control character.
std::string quoted(const std::string& word) { return "'" + escape_for_terminal(word) + "'"; }

// A finite number of seconds in [kMinSeconds, kMaxSeconds]: NaN, infinities,
// hexadecimal and trailing text are refused.
Expected<double> parse_seconds(const std::string& option, const std::string& word) {
  double value = 0;
  const char* end = word.data() + word.size();
  auto [stop, ec] = std::from_chars(word.data(), end, value, std::chars_format::general);
  if (ec != std::errc() || stop != end || !std::isfinite(value) || value < kMinSeconds ||
      value > kMaxSeconds) {
    return SysError::plain("syscount: " + option + " takes seconds from 0.001 to 2678400 (31 days), not " +
                           quoted(word));
  }
  return value;
}

// A decimal integer in [MIN, MAX]: no sign, no exponent, no overflow.
Expected<std::uint64_t> parse_count(const std::string& option, const std::string& word,
                                    std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  const char* end = word.data() + word.size();
  auto [stop, ec] = std::from_chars(word.data(), end, value);
  if (ec != std::errc() || stop != end || value < min || value > max) {
    return SysError::plain("syscount: " + option + " takes a whole number from " +
                           std::to_string(min) + " to " + std::to_string(max) + ", not " +
                           quoted(word));
  }
  return value;
}

// The words after the first "--" are the command; the rest are syscount's.
std::vector<std::string> split_command(const std::vector<std::string>& args,
                                       SyscountOptions& options) {
  std::vector<std::string> own(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (auto dashes = std::find(own.begin(), own.end(), "--"); dashes != own.end()) {
    options.command.assign(dashes + 1, own.end());
    own.erase(dashes, own.end());
  }
  return own;
}

void add_options(CLI::App& app, SyscountOptions& options, OptionWords& words) {
  app.add_option("-p,--pid", words.pids,
                 "Trace these running processes (all their threads, and the children they "
                 "fork from now on); comma-separated, at most 512 PIDs")
      ->delimiter(',');
  app.add_flag("-a,--all", options.all, "Trace the whole system (every process)");
  words.duration_option =
      app.add_option("-d,--duration", words.duration,
                     "Stop after SECS seconds (0.001 to 2678400, i.e. 31 days)")
          ->type_name("SECS");
  words.interval_option =
      app.add_option("-i,--interval", words.interval,
                     "Print per-interval counts every SECS seconds (JSON Lines with --json; "
                     "0.001 to 2678400)")
          ->type_name("SECS");
  words.top_option = app.add_option("-T,--top", words.top,
                                    "Show only the N most frequent syscalls (0 to 1024; 0: all)")
                         ->type_name("N");
  app.add_flag("-e,--errors", options.report.errors, "Count failed calls (negative return)");
  app.add_flag("-L,--latency", options.report.latency,
               "Measure time in each syscall (entry to exit)");
  app.add_flag("-P,--by-process", options.report.by_process, "Break counts down per process");
  app.add_flag("--by-thread", options.report.by_thread, "Break counts down per thread");
  app.add_option("--syscall", words.syscalls, "Report only these syscalls (NAME[,NAME])")
      ->delimiter(',');
  app.add_option("--category", words.categories,
                 "Report only these categories: file_io, memory, process, network, time, ipc, "
                 "security, signal, system, other")
      ->delimiter(',');
  app.add_flag("--failed", options.report.failed_only,
               "Report only syscalls that failed at least once (implies --errors)");
  app.add_flag("-j,--json", options.json,
               "One JSON document (JSON Lines in interval mode); see docs/syscount-json.md");
  words.output_option =
      app.add_option("-o,--output", options.output,
                     "Write the report to FILE (created as you) instead of stdout; a FIFO "
                     "needs its reader first")
          ->type_name("FILE");
  words.map_entries_option =
      app.add_option("--map-entries", words.map_entries,
                     "Entries of the per-process/thread breakdown map (1 to 16777216; default "
                     "16384)")
          ->type_name("N");
  words.flavour_option =
      app.add_option("--flavour", words.flavour,
                     "For troubleshooting and tests: load the typed (tp_btf) or the untyped "
                     "fallback (raw_tp) programs instead of the ones this kernel calls for "
                     "(auto, the default)")
          ->type_name("auto|tp_btf|raw_tp");
  app.add_flag("-v,--verbose", options.verbose,
               "Also say which programs are loaded, and print libbpf's own messages");
  app.add_flag("--list", options.list, "Print every known syscall with its category and exit");
}

// What the parser left (REST): the command when given without "--".
Expected<void> take_command(const std::vector<std::string>& rest, SyscountOptions& options) {
  if (rest.empty()) return Ok{};
  if (rest.front().size() > 1 && rest.front()[0] == '-') {
    return SysError::plain("syscount: unknown option " + quoted(rest.front()) + " (see --help)");
  }
  if (!options.command.empty()) {
    return SysError::plain("syscount: unexpected argument " + quoted(rest.front()) +
                           " before '--' (see --help)");
  }
  options.command = rest;
  return Ok{};
}

// -p: each PID once, in the order given, and at most kMaxPids of them.
Expected<void> apply_pids(const std::vector<std::string>& words, SyscountOptions& options) {
  std::set<pid_t> seen;
  for (const auto& word : words) {
    long pid = 0;
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), pid);
    if (ec != std::errc() || end != word.data() + word.size() || pid <= 0 ||
        pid > 4L * 1024 * 1024) {
      return SysError::plain("syscount: invalid PID " + quoted(word));
    }
    if (!seen.insert(static_cast<pid_t>(pid)).second) continue;
    if (seen.size() > kMaxPids) {
      return SysError::plain("syscount: too many PIDs: -p takes at most " +
                             std::to_string(kMaxPids) + " (-a traces every process)");
    }
    options.pids.push_back(static_cast<pid_t>(pid));
  }
  return Ok{};
}

Expected<void> apply_filters(const OptionWords& words, SyscountOptions& options) {
  for (const auto& word : words.syscalls) {
    auto nr = syscall_number(word);
    if (!nr) return SysError::plain("syscount: unknown syscall " + quoted(word) + " (see --list)");
    options.report.only_syscalls.insert(*nr);
  }
  for (const auto& word : words.categories) {
    auto category = parse_syscall_category(word);
    if (!category) {
      return SysError::plain("syscount: unknown category " + quoted(word) +
                             " (one of file_io, memory, process, network, time, ipc, security, "
                             "signal, system, other)");
    }
    options.report.only_categories.insert(*category);
  }
  return Ok{};
}

// -d, -i, -T, --map-entries, --flavour and -o, when given.
Expected<void> apply_numbers(const OptionWords& words, SyscountOptions& options) {
  if (words.duration_option->count() > 0) {
    auto seconds = parse_seconds("-d/--duration", words.duration);
    if (!seconds) return seconds.error();
    options.duration = *seconds;
  }
  if (words.interval_option->count() > 0) {
    auto seconds = parse_seconds("-i/--interval", words.interval);
    if (!seconds) return seconds.error();
    options.interval = *seconds;
  }
  if (words.top_option->count() > 0) {
    auto top = parse_count("-T/--top", words.top, 0, kMaxTop);
    if (!top) return top.error();
    options.report.top = static_cast<std::size_t>(*top);
  }
  if (words.map_entries_option->count() > 0) {
    auto entries = parse_count("--map-entries", words.map_entries, 1, kMaxMapEntries);
    if (!entries) return entries.error();
    options.map_entries = static_cast<std::uint32_t>(*entries);
  }
  if (words.flavour_option->count() > 0 && words.flavour != "auto") {
    const auto flavour = probe_flavour_from_string(words.flavour);
    if (!flavour || *flavour == ProbeFlavour::perf_tp) {
      return SysError::plain("syscount: --flavour takes auto, tp_btf or raw_tp, not " +
                             quoted(words.flavour));
    }
    options.flavour = flavour;
  }
  if (words.output_option->count() > 0 && options.output.empty()) {
    return SysError::plain("syscount: -o/--output needs a file name (without -o the report goes to stdout)");
  }
  return Ok{};
}

// Exactly one of a command, -p and -a.
Expected<void> check_one_target(const SyscountOptions& options) {
  const int targets = (options.command.empty() ? 0 : 1) + (options.pids.empty() ? 0 : 1) +
                      (options.all ? 1 : 0);
  if (targets == 0) {
    return SysError::plain(
        "syscount: nothing to trace: give -- COMMAND, -p PID or -a (see --help)");
  }
  if (targets > 1) return SysError::plain("syscount: give only one of -- COMMAND, -p PID and -a");
  return Ok{};
}

CliExit usage_error(const Expected<void>& failed) { return CliExit{2, failed.error().message}; }

// --- -S/--sort, --histogram, --errno: what is counted and how it is shown ---

struct ReportWords {
  std::string sort;
  std::vector<std::string> histograms;
  std::string errno_word;
  CLI::Option* sort_option = nullptr;
  CLI::Option* errno_option = nullptr;
};

void add_report_options(CLI::App& app, ReportWords& words) {
  words.sort_option = app.add_option("-S,--sort", words.sort,
                                     "Order rows by count (the default), time (total, with -L), "
                                     "errors or name")
                          ->type_name("KEY");
  app.add_option("--histogram", words.histograms,
                 "Print the latency histogram of these syscalls (NAME[,NAME]; implies -L)")
      ->delimiter(',')
      ->type_name("SYSCALL");
  words.errno_option = app.add_option("--errno", words.errno_word,
                                      "Count only failures with this errno, e.g. ENOENT "
                                      "(implies --errors and --failed)")
                           ->type_name("NAME");
}

Expected<void> apply_report_options(const ReportWords& words, SyscountOptions& options) {
  auto& report = options.report;
  if (words.sort_option->count() > 0) {
    const auto key = parse_sort_key(words.sort);
    if (!key) {
      return SysError::plain("syscount: -S/--sort takes count, time, errors or name, not " +
                             quoted(words.sort));
    }
    report.sort = *key;
  }
  for (const auto& word : words.histograms) {
    auto nr = syscall_number(word);
    if (!nr) return SysError::plain("syscount: unknown syscall " + quoted(word) + " (see --list)");
    report.histograms.insert(*nr);
    report.latency = true;
  }
  if (words.errno_option->count() > 0) {
    const auto err = errno_number(words.errno_word);
    if (!err) {
      return SysError::plain("syscount: unknown errno " + quoted(words.errno_word) +
                             " (a name such as ENOENT or EAGAIN)");
    }
    report.only_errno = *err;
    report.errors = true;
    report.failed_only = true;
  }
  return Ok{};
}

}  // namespace

std::string syscall_table_text() {
  std::ostringstream out;
  for (const auto& known : known_syscalls()) {
    out << known.nr << ' ' << known.name << ' ' << to_string(syscall_category(known.nr)) << '\n';
  }
  return out.str();
}

std::variant<SyscountOptions, CliExit> parse_syscount_args(const std::vector<std::string>& args) {
  SyscountOptions options;
  std::vector<std::string> own = split_command(args, options);

  CLI::App app{kDescription, "syscount"};
  app.footer(kExamples);
  app.get_formatter()->column_width(30);
  app.set_version_flag("--version", std::string("syscount ") + BPFREADY_VERSION);
  OptionWords words;
  add_options(app, options, words);
  ReportWords report_words;
  add_report_options(app, report_words);
  app.prefix_command(true);  // `syscount ls -l` works like `syscount -- ls -l`

  try {
    std::vector<std::string> reversed(own.rbegin(), own.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return CliExit{0, app.help()};
  } catch (const CLI::CallForVersion& version) {
    return CliExit{0, std::string(version.what()) + "\n"};
  } catch (const CLI::ParseError& error) {
    return CliExit{2, "syscount: " + escape_for_terminal(one_line(error.what())) + " (see --help)"};
  }

  if (auto taken = take_command(app.remaining(), options); !taken) return usage_error(taken);
  if (auto numbers = apply_numbers(words, options); !numbers) return usage_error(numbers);
  if (auto pids = apply_pids(words.pids, options); !pids) return usage_error(pids);
  if (auto filters = apply_filters(words, options); !filters) return usage_error(filters);
  if (auto report = apply_report_options(report_words, options); !report) return usage_error(report);
  if (options.report.failed_only) options.report.errors = true;
  if (options.list) return options;
  if (auto one = check_one_target(options); !one) return usage_error(one);
  return options;
}

}  // namespace bpfready
