// One result model, several renderers. Nothing prints while checks run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "libcheck/checks.h"
#include "libcheck/verdicts.h"

namespace bpfready {

inline constexpr int kReportSchemaVersion = 2;

struct Report {
  std::string tool_version;
  std::string hostname;
  std::string kernel_release;
  bool live = true;
  // Who the report is about, for Prometheus labels: the user name of this
  // process or of --user, and the binary that user runs (--binary; empty when
  // none is named). Every series carries them, so the files of several
  // subjects can sit side by side in one textfile directory.
  std::string subject;
  std::string binary;
  std::vector<CheckResult> checks;
  std::vector<Verdict> verdicts;
  std::vector<std::string> required_verdicts;  // which verdicts decide the exit code
  // Only the checks a caller selected ran (ebpf_diag --check): there are no
  // verdicts, and the checks decide the exit code.
  bool selected_checks_only = false;
};

// 0 ready, 1 not ready, 2 a prediction contradicted by its probe (model bug).
// With selected_checks_only: 1 when a check failed or errored, else 0.
// render_json emits it as "exit_code", and "ready" (exit_code == 0).
int exit_code(const Report& report);

// TEXT for a terminal: unchanged when it is valid UTF-8 without control
// characters (ordinary text), else all of it through escape_for_terminal.
std::string terminal_text(std::string_view text);

// Host-provided text (hostname, release, reasons, evidence, paths) may be
// hostile. JSON gets it as valid UTF-8 (valid_utf8: each invalid byte becomes
// U+FFFD); Prometheus label values too, with \\, \" and \n escaped; the text
// renderer shows it through terminal_text.
std::string render_text(const Report& report, bool colour, bool verbose);
nlohmann::json render_json(const Report& report);
// Every Prometheus series carries subject="..." (and binary="..." when the
// report names one).
std::string render_prometheus(const Report& report);

}  // namespace bpfready
