// ebpf_diag's command line: parsing and validation into DiagOptions, with no
// side effects, so that tests can parse in-process.
#pragma once

#include <string>
#include <variant>
#include <vector>

namespace bpfready {

// --format: the report on stdout. text for people; json (docs/ebpf_diag-json.md);
// prometheus (the text exposition format); npd (one line for node-problem-
// detector's custom plugins); nfd (node-feature-discovery's feature file).
enum class OutputFormat { text, json, prometheus, npd, nfd };

// "text", "json", "prometheus", "npd", "nfd".
const char* to_string(OutputFormat format);

struct DiagOptions {
  OutputFormat format = OutputFormat::text;  // --format, or --json / --prometheus
  bool quiet = false;
  bool verbose = false;
  bool list_checks = false;
  bool no_probe = false;
  std::vector<std::string> check_ids;                // --check: only these checks run
  std::vector<std::string> required = {"syscount"};    // --require: verdicts that decide the exit status
  std::string root_dir = "/";                        // --root
  std::string color = "auto";                        // auto, always or never
  std::string user;                                  // --user: empty for this process
  std::string binary;                                // --binary, with --user
  std::string textfile;                              // --textfile DIR: Prometheus into DIR/bpfready-<subject>.prom
  std::string status_file;                           // --status-file FILE: the JSON document into FILE
  // Not an option: main sets it. The perf-event probe's link is released by
  // a child process after the report is out (release_parked_in_background).
  bool release_in_background = false;
};

// Parsing ended without options to run with: --help or --version (code 0,
// text in out) or a usage error (code 2, one line in err).
struct DiagExit {
  int code = 0;
  std::string out;
  std::string err;
};

// ARGV[0] is the program name.
std::variant<DiagOptions, DiagExit> parse_diag_args(int argc, const char* const* argv);
std::variant<DiagOptions, DiagExit> parse_diag_args(const std::vector<std::string>& args);

}  // namespace bpfready
