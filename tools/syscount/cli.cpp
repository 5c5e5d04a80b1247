#include "tools/syscount/cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
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
    "needed. The command runs exactly as it would without syscount: as you, with\n"
    "your groups, and none of syscount's file capabilities (root stays root).\n"
    "With a command the report goes to stderr (stdout is the command's), like\n"
    "strace and time; with -p or -a to stdout; -o FILE anywhere.\n";

constexpr const char* kExamples =
    "\nExamples:\n"
    "  syscount -- ls -l                 count what `ls -l` does, exec included\n"
    "  syscount --errors --latency -- make   add failed calls and time per call\n"
    "  syscount --json -o out.json -- ./app  JSON report to a file; app's output untouched\n"
    "  syscount -d 5 -- ./server         count for 5 s, then end it like timeout(1)\n"
    "  syscount -p 1234,5678 -d 10       10 seconds of two running processes and their children\n"
    "  syscount -a -i 1 -T 5             the whole system, top 5 every second\n"
    "  syscount --unit cron -d 60        one minute of cron.service's processes\n"
    "  syscount --category network --by-process -- curl -s example.org\n"
    "  syscount --list                   every syscall name and category\n"
    "\n"
    "Exit status: the command's (127 if it could not be executed; 124 when -d ended\n"
    "it); if the command was killed by signal N, syscount prints its report and\n"
    "kills itself with N (the shell shows 128+N); without a command 0; 2 for a usage\n"
    "error, when profiling cannot work here (the reason and the fix are printed), or\n"
    "when the report could not be written (even with a command).\n"
    "\n"
    "See syscount(8), and /usr/share/doc/bpfready/syscount.md and syscount-json.md.\n";

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
  std::string duration, interval, top, map_entries, flavour, user;
  CLI::Option* duration_option = nullptr;
  CLI::Option* interval_option = nullptr;
  CLI::Option* top_option = nullptr;
  CLI::Option* map_entries_option = nullptr;
  CLI::Option* output_option = nullptr;
  CLI::Option* flavour_option = nullptr;
  CLI::Option* user_option = nullptr;
  std::string cgroup, unit;  // --cgroup, --unit
  CLI::Option* cgroup_option = nullptr;
  CLI::Option* unit_option = nullptr;
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

// --- cgroup filter ----------------------------------------------------------
// --cgroup and --unit name the tasks to count by the cgroup they are in: a
// target of their own, like -a but for one cgroup v2 subtree.
void add_cgroup_options(CLI::App& app, OptionWords& words) {
  words.cgroup_option =
      app.add_option("--cgroup", words.cgroup,
                     "Trace every task in this cgroup v2 directory and its descendants (a "
                     "container, a service), e.g. /sys/fs/cgroup/system.slice/cron.service")
          ->type_name("PATH");
  words.unit_option =
      app.add_option("--unit", words.unit,
                     "Trace the tasks of this systemd unit (NAME.service, .scope or .slice; found "
                     "in the cgroup v2 tree, no D-Bus)")
          ->type_name("NAME");
}

// The words of --cgroup and --unit: each non-empty when given, not both.
Expected<void> apply_cgroup(const OptionWords& words, SyscountOptions& options) {
  if (words.cgroup_option->count() > 0) {
    if (words.cgroup.empty()) return SysError::plain("syscount: --cgroup needs a directory");
    options.cgroup = words.cgroup;
  }
  if (words.unit_option->count() > 0) {
    if (words.unit.empty()) return SysError::plain("syscount: --unit needs a unit name");
    options.unit = words.unit;
  }
  if (!options.cgroup.empty() && !options.unit.empty()) {
    return SysError::plain("syscount: give --cgroup or --unit, not both (a unit is a cgroup)");
  }
  return Ok{};
}
// ---------------------------------------------------------------------------

void add_options(CLI::App& app, SyscountOptions& options, OptionWords& words) {
  app.add_option("-p,--pid", words.pids,
                 "Trace these running processes (all their threads, and the children they "
                 "fork from now on); comma-separated, at most 512 PIDs")
      ->delimiter(',');
  app.add_flag("-a,--all", options.all, "Trace the whole system (every process)");
  words.duration_option =
      app.add_option("-d,--duration", words.duration,
                     "Stop after SECS seconds (0.001 to 2678400, i.e. 31 days); a command "
                     "still running then gets SIGTERM, SIGKILL 2 s later, and syscount exits "
                     "124, as timeout(1)")
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
               "One JSON document (JSON Lines in interval mode); schema: "
               "/usr/share/doc/bpfready/syscount-json.md");
  words.output_option =
      app.add_option("-o,--output", options.output,
                     "Write the report to FILE (created as you; - is stdout) instead of "
                     "stderr (with a command) or stdout (-p, -a); a FIFO needs its reader first")
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
  words.user_option =
      app.add_option("-u,--user", words.user,
                     "Run the command as USER, with USER's groups and no capability (root only)")
          ->type_name("USER");
  app.add_flag("--list", options.list, "Print every known syscall with its category and exit");
  add_cgroup_options(app, words);
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
    return SysError::plain("syscount: -o/--output needs a file name, or - for stdout");
  }
  if (words.user_option->count() > 0) {
    if (words.user.empty()) return SysError::plain("syscount: -u/--user needs a user name");
    options.user = words.user;
  }
  return Ok{};
}

// NAME is an errno name this C library knows (ENOENT, E2BIG, ...).
bool is_errno_name(const std::string& name) {
  if (name.size() < 3 || name[0] != 'E') return false;
  for (int errnum = 1; errnum < 4096; ++errnum) {
    const char* known = strerrorname_np(errnum);
    if (known != nullptr && name == known) return true;
  }
  return false;
}

// A command given without "--" (REST, the end of OWN) that is an errno
// name: a value given to a flag that takes none, such as libbpf-tools'
// `syscount -e ENOENT` (here -e is --errors), is refused with the reason
// instead of being run as "ENOENT: command not found".
Expected<void> check_bare_command(const std::vector<std::string>& own,
                                  const std::vector<std::string>& rest) {
  if (rest.empty() || !is_errno_name(rest.front())) return Ok{};
  const std::string& name = rest.front();
  const std::size_t at = own.size() - rest.size();
  const std::string before = at > 0 ? own[at - 1] : "";
  const bool after_errors_flag =
      before == "--errors" || (before.size() >= 2 && before[0] == '-' && before[1] != '-' &&
                               before.back() == 'e');
  const std::string instead = "; for calls failing with " + name + " use --errno " + name;
  if (after_errors_flag) {
    return SysError::plain("syscount: -e is --errors here (count failed calls) and takes no value, "
                           "so " + name + " would be run as the command" + instead);
  }
  return SysError::plain("syscount: " + name + " is an errno name, not a command" + instead +
                         " (a command named so goes after --)");
}

// Exactly one of a command, -p and -a; -u only with a command.
Expected<void> check_one_target(const SyscountOptions& options) {
  const int targets = (options.command.empty() ? 0 : 1) + (options.pids.empty() ? 0 : 1) +
                      (options.all ? 1 : 0);
  if (options.by_cgroup() && targets > 0) {
    return SysError::plain(
        "syscount: --cgroup/--unit selects the tasks itself: give it without -- COMMAND, -p "
        "or -a (to count a command in a cgroup, start it there and give the cgroup)");
  }
  if (options.by_cgroup()) return Ok{};
  if (targets == 0) {
    return SysError::plain(
        "syscount: nothing to trace: give -- COMMAND, -p PID, -a or --cgroup PATH (see --help)");
  }
  if (targets > 1 && !options.command.empty()) {
    return SysError::plain("syscount: " + std::string(options.all ? "-a" : "-p") +
                           " traces running processes, so " + quoted(options.command.front()) +
                           " cannot be a command to run too: give only one of -- COMMAND, "
                           "-p PID and -a");
  }
  if (targets > 1) return SysError::plain("syscount: give only one of -- COMMAND, -p PID and -a");
  if (options.user && options.command.empty()) {
    return SysError::plain("syscount: -u/--user runs a command as another user; it does not "
                           "apply to -p or -a");
  }
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

  if (auto bare = check_bare_command(own, app.remaining()); !bare) return usage_error(bare);
  if (auto taken = take_command(app.remaining(), options); !taken) return usage_error(taken);
  if (auto numbers = apply_numbers(words, options); !numbers) return usage_error(numbers);
  if (auto pids = apply_pids(words.pids, options); !pids) return usage_error(pids);
  if (auto filters = apply_filters(words, options); !filters) return usage_error(filters);
  if (auto cgroup = apply_cgroup(words, options); !cgroup) return usage_error(cgroup);
  if (auto report = apply_report_options(report_words, options); !report) return usage_error(report);
  if (options.report.failed_only) options.report.errors = true;
  if (options.list) return options;
  if (auto one = check_one_target(options); !one) return usage_error(one);
  return options;
}

}  // namespace bpfready
