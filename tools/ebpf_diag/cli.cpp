#include "tools/ebpf_diag/cli.h"

#include <CLI/CLI.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "libcheck/checks.h"
#include "libcheck/common/text.h"
#include "libcheck/verdicts.h"
#include "tools/ebpf_diag/app.h"

namespace bpfready {

namespace {

constexpr int kExitUsage = 2;

constexpr const char* kDescription =
    "ebpf_diag: proves whether eBPF profiling works on this host.\n\n"
    "Reads kernel version and config, BTF, sysctls, capabilities, tracefs/debugfs and lockdown, then loads\n"
    "a minimal BPF program through a raw tracepoint and through a tracefs tracepoint, makes a known number\n"
    "of syscalls and reads the count back. It reports which tool classes work for this process, the\n"
    "smallest fix when one does not, and settings that weaken the host. It never changes the system.\n\n"
    "Exit status: 0 ready, 1 not ready, 2 usage error, internal error, or a prediction contradicted by\n"
    "its probe (with --format npd or nfd, 2 also when the host's kernel release cannot be read).\n\n"
    "Examples:\n"
    "  ebpf_diag                      text report (run it as the user who will profile)\n"
    "  ebpf_diag --json               one JSON document (fields: ebpf_diag(8))\n"
    "  ebpf_diag --format npd         one line for node-problem-detector (see ebpf_diag(8))\n"
    "  ebpf_diag --format nfd         node-feature-discovery feature lines (see ebpf_diag(8))\n"
    "  ebpf_diag --textfile /var/lib/prometheus/node-exporter\n"
    "                                 Prometheus text into bpfready-<user>.prom there, replaced atomically\n"
    "  ebpf_diag --textfile /var/lib/prometheus/node-exporter --status-file /run/bpfready/status.json\n"
    "                                 the same, and the JSON document cached for other tools\n"
    "  ebpf_diag --quiet && echo ready\n"
    "  ebpf_diag --check probe.raw_tp --check tracefs.event_id\n"
    "  sudo ebpf_diag --user alice --binary /usr/local/bin/syscount\n"
    "                                 predict for alice running that binary, and prove it as alice\n\n"
    "See ebpf_diag(8), and /usr/share/doc/bpfready/ebpf_diag.md and ebpf_diag-json.md.\n";

// What the format options said, reconciled after parsing (resolve_format).
struct FormatFlags {
  bool json = false;
  bool prometheus = false;
  std::string format;  // --format, empty when not given
};

constexpr OutputFormat kAllFormats[] = {OutputFormat::text, OutputFormat::json, OutputFormat::prometheus,
                                        OutputFormat::npd, OutputFormat::nfd};

void add_output_options(CLI::App& app, DiagOptions& o, FormatFlags& f) {
  std::vector<std::string> names;
  for (const auto format : kAllFormats) names.emplace_back(to_string(format));
  app.add_option("--format", f.format,
                 "Output on stdout: text (default), json (/usr/share/doc/bpfready/ebpf_diag-json.md), prometheus (text exposition), "
                 "npd (one line for a node-problem-detector custom plugin: exit 0 ready, 1 not ready, 2 unknown), "
                 "nfd (node-feature-discovery feature file lines, bpfready.io/NAME=VALUE)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember(names));
  auto* json_opt = app.add_flag("--json", f.json, "Same as --format json");
  auto* prom_opt = app.add_flag("--prometheus", f.prometheus, "Same as --format prometheus");
  json_opt->excludes(prom_opt);
  app.add_option("--textfile", o.textfile,
                 "Write the Prometheus text to DIR/bpfready-<subject>.prom for node_exporter's textfile collector, "
                 "through a temporary file and a rename (never half a file); nothing goes to stdout")
      ->type_name("DIR")
      ->excludes(json_opt);
  app.add_option("--status-file", o.status_file,
                 "Also write the JSON document to FILE (through a temporary file in its directory and a rename, "
                 "mode 0644), whatever is printed; combines with --textfile and --quiet")
      ->type_name("FILE");
}

// The one format the options name, or a usage error when two disagree.
std::optional<std::string> resolve_format(const FormatFlags& f, DiagOptions& o) {
  if (!f.format.empty()) {
    for (const auto format : kAllFormats) {
      if (f.format == to_string(format)) o.format = format;
    }
  }
  const auto alias = [&](bool given, OutputFormat format) -> std::optional<std::string> {
    if (!given) return std::nullopt;
    if (!f.format.empty() && o.format != format) {
      return std::string("--") + to_string(format) + " conflicts with --format " + f.format;
    }
    o.format = format;
    return std::nullopt;
  };
  if (auto error = alias(f.json, OutputFormat::json)) return error;
  if (auto error = alias(f.prometheus, OutputFormat::prometheus)) return error;
  const bool prints_nothing_anyway = o.format == OutputFormat::text || o.format == OutputFormat::prometheus;
  if (!o.textfile.empty() && !prints_nothing_anyway) {
    return std::string("--textfile prints nothing on stdout; it conflicts with --format ") + to_string(o.format);
  }
  return std::nullopt;
}

void add_options(CLI::App& app, DiagOptions& o, FormatFlags& f) {
  app.set_version_flag("--version", std::string("ebpf_diag ") + BPFREADY_VERSION);
  add_output_options(app, o, f);
  app.add_flag("-q,--quiet", o.quiet, "Print nothing; the exit status is the verdict");
  app.add_flag("-v,--verbose", o.verbose, "Show the evidence of every check and libbpf's own messages");
  app.add_flag("--list-checks", o.list_checks, "List the check ids with what each reads, and exit");
  app.add_option("--check", o.check_ids, "Run only this check (repeatable); the exit status is 1 if any fails")
      ->type_name("ID");
  app.add_flag("--no-probe", o.no_probe, "Do not load any BPF program; verdicts are predictions only");
  app.add_option("--require", o.required,
                 "Verdicts that must be ready for exit status 0: syscount (the variant syscount loads here), "
                 "tp_btf (typed raw tracepoints), raw_tp (raw tracepoints), perf_tp (tracefs tracepoints)")
      ->delimiter(',')
      ->check(CLI::IsMember(verdict_ids()))
      ->default_str(kSyscountVerdict);
  app.add_option("--root", o.root_dir, "Read the host from this directory instead of / (fixture trees; no probes run)")
      ->check(CLI::ExistingDirectory);
  auto* user_opt = app.add_option("--user", o.user,
                                  "Report readiness for this user (name or uid) instead of this process; as root, "
                                  "also prove it by running the probes as that user with exactly the capabilities "
                                  "--binary would give them");
  app.add_option("--binary", o.binary,
                 "With --user: the binary the user will run (its file capabilities and mode count)")
      ->check(CLI::ExistingFile)
      ->needs(user_opt);
  app.add_option("--color", o.color, "Colour in the text report")->check(CLI::IsMember({"auto", "always", "never"}));
}

}  // namespace

const char* to_string(OutputFormat format) {
  switch (format) {
    case OutputFormat::text: return "text";
    case OutputFormat::json: return "json";
    case OutputFormat::prometheus: return "prometheus";
    case OutputFormat::npd: return "npd";
    case OutputFormat::nfd: return "nfd";
  }
  return "text";
}

std::variant<DiagOptions, DiagExit> parse_diag_args(int argc, const char* const* argv) {
  static const char* const kNoArguments[] = {"ebpf_diag", nullptr};
  if (argc < 1 || argv == nullptr) {
    argc = 1;
    argv = kNoArguments;
  }
  DiagOptions options;
  FormatFlags format_flags;
  CLI::App app{kDescription, "ebpf_diag"};
  add_options(app, options, format_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      std::ostringstream out;
      std::ostringstream err;
      const int code = app.exit(e, out, err);
      return DiagExit{code, out.str(), err.str()};
    }
    // The message may quote what was typed: escape it for the terminal.
    return DiagExit{kExitUsage, "", "ebpf_diag: " + escape_for_terminal(e.what()) + " (see --help)\n"};
  }
  if (auto conflict = resolve_format(format_flags, options)) {
    return DiagExit{kExitUsage, "", "ebpf_diag: " + *conflict + " (see --help)\n"};
  }
  if (app.count("--status-file") > 0 && (options.status_file.empty() || options.status_file.back() == '/')) {
    return DiagExit{kExitUsage, "", "ebpf_diag: --status-file needs a file name, not '" +
                                        escape_for_terminal(options.status_file) + "'\n"};
  }
  if (app.count("--user") > 0 && options.user.empty()) {
    // An unset shell variable must not turn into a report about this process.
    return DiagExit{kExitUsage, "", "ebpf_diag: --user needs a user name or uid, not an empty string\n"};
  }
  if (options.list_checks) return options;  // it lists every check, whatever --check says
  for (const auto& id : options.check_ids) {
    if (id == kUserSubjectCheck) {
      if (options.user.empty()) {
        return DiagExit{kExitUsage, "", std::string("ebpf_diag: the ") + kUserSubjectCheck +
                                            " check exists only with --user USER\n"};
      }
      continue;
    }
    if (find_check(id) == nullptr) {
      return DiagExit{kExitUsage, "",
                      "ebpf_diag: unknown check '" + escape_for_terminal(id) + "' (see --list-checks)\n"};
    }
  }
  return options;
}

std::variant<DiagOptions, DiagExit> parse_diag_args(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  return parse_diag_args(static_cast<int>(args.size()), argv.data());
}

}  // namespace bpfready
