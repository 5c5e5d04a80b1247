#include "tools/syscount/cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <sstream>

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
    "executed); otherwise 0; 2 for a usage error or when profiling cannot work here\n"
    "(the reason and the fix are printed).\n";

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The option words that need checking after parsing.
struct OptionWords {
  std::vector<std::string> pids;
  std::vector<std::string> syscalls;
  std::vector<std::string> categories;
  std::size_t top = 0;
  CLI::Option* top_option = nullptr;
};

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
                 "fork from now on); comma-separated")
      ->delimiter(',');
  app.add_flag("-a,--all", options.all, "Trace the whole system (every process)");
  app.add_option("-d,--duration", options.duration, "Stop after SECS seconds")
      ->check(CLI::PositiveNumber);
  app.add_option("-i,--interval", options.interval,
                 "Print per-interval counts every SECS seconds (JSON Lines with --json)")
      ->check(CLI::PositiveNumber);
  words.top_option =
      app.add_option("-T,--top", words.top, "Show only the N most frequent syscalls (0: all)");
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
  app.add_option("-o,--output", options.output,
                 "Write the report to FILE (created as you) instead of stdout");
  app.add_option("--map-entries", options.map_entries,
                 "Entries of the per-process/thread breakdown map (default 16384)")
      ->check(CLI::Range(1u, 1u << 24));
  app.add_flag("-v,--verbose", options.verbose, "Also print libbpf's own messages");
  app.add_flag("--list", options.list, "Print every known syscall with its category and exit");
}

// What the parser left (REST): the command when given without "--".
Expected<void> take_command(const std::vector<std::string>& rest, SyscountOptions& options) {
  if (rest.empty()) return Ok{};
  if (rest.front().size() > 1 && rest.front()[0] == '-') {
    return SysError::plain("syscount: unknown option " + rest.front() + " (see --help)");
  }
  if (!options.command.empty()) {
    return SysError::plain("syscount: unexpected argument '" + rest.front() +
                           "' before '--' (see --help)");
  }
  options.command = rest;
  return Ok{};
}

Expected<void> apply_words(const OptionWords& words, SyscountOptions& options) {
  for (const auto& word : words.pids) {
    long pid = 0;
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), pid);
    if (ec != std::errc() || end != word.data() + word.size() || pid <= 0 ||
        pid > 4L * 1024 * 1024) {
      return SysError::plain("syscount: invalid PID '" + word + "'");
    }
    options.pids.push_back(static_cast<pid_t>(pid));
  }
  for (const auto& word : words.syscalls) {
    auto nr = syscall_number(word);
    if (!nr) return SysError::plain("syscount: unknown syscall '" + word + "' (see --list)");
    options.report.only_syscalls.insert(*nr);
  }
  for (const auto& word : words.categories) {
    auto category = parse_syscall_category(word);
    if (!category) {
      return SysError::plain("syscount: unknown category '" + word +
                             "' (one of file_io, memory, process, network, time, ipc, security, "
                             "signal, system, other)");
    }
    options.report.only_categories.insert(*category);
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
  app.prefix_command(true);  // `syscount ls -l` works like `syscount -- ls -l`

  try {
    std::vector<std::string> reversed(own.rbegin(), own.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return CliExit{0, app.help()};
  } catch (const CLI::CallForVersion& version) {
    return CliExit{0, std::string(version.what()) + "\n"};
  } catch (const CLI::ParseError& error) {
    return CliExit{2, "syscount: " + one_line(error.what()) + " (see --help)"};
  }
  if (words.top_option->count() > 0) options.report.top = words.top;

  if (auto taken = take_command(app.remaining(), options); !taken) return usage_error(taken);
  if (auto applied = apply_words(words, options); !applied) return usage_error(applied);
  if (options.report.failed_only) options.report.errors = true;
  if (options.list) return options;
  if (auto one = check_one_target(options); !one) return usage_error(one);
  return options;
}

}  // namespace bpfready
