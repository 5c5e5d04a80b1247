// ebpf_diag's fleet formats, rendered from the one Report: --format npd, one
// line for a node-problem-detector custom plugin, and --format nfd, the
// lines of a node-feature-discovery feature file (features.d). Both decide
// their exit status with fleet_exit_code(). Host text in them (reasons,
// paths, the kernel release) is made safe for their readers here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "libcheck/report.h"

namespace bpfready {

// node-problem-detector cuts a custom plugin's message after this many bytes
// (its default max_output_length).
inline constexpr std::size_t kNpdMaxBytes = 80;

// The longest Kubernetes label value.
inline constexpr std::size_t kLabelValueMaxBytes = 63;

// The exit status of --format npd and nfd: exit_code(REPORT) (0 ready,
// 1 not ready, 2 a prediction contradicted by its probe), except that a report
// whose kernel release could not be read (the kernel.release check errors)
// and whose required verdicts no probe proved is 2: nothing was decided.
int fleet_exit_code(const Report& report);

// TEXT as part of one line: valid UTF-8 (each invalid byte becomes U+FFFD),
// tab, CR and LF as a space, every other control character (C0, DEL, C1)
// and the Unicode line, paragraph and bidirectional controls as '?'.
std::string one_line_text(std::string_view text);

// TEXT (valid UTF-8) cut to at most MAX_BYTES bytes, never inside a
// character, ending in "..." when it was cut. MAX_BYTES is at least 3.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

// --format npd: one line, without its newline, of at most kNpdMaxBytes bytes
// of one_line_text: "bpfready: ready (syscount tp_btf)", "bpfready: not
// ready: VERDICT: fails at STAGE (ERRNO): REASON; fix: STEP" or "bpfready:
// unknown: WHY", cut by truncate_utf8. With selected checks only (--check),
// whether they pass.
std::string render_npd(const Report& report);

// The npd line for an error that left nothing decided (exit status 2):
// "bpfready: unknown: MESSAGE", made safe and cut like render_npd's.
std::string npd_error_line(std::string_view message);

// TEXT as a Kubernetes label value: [A-Za-z0-9._-] only (each run of other
// bytes becomes one '_'), at most kLabelValueMaxBytes, beginning and ending
// with a letter or digit. Empty when nothing is left.
std::string label_value(std::string_view text);

// "6.18" from "6.18.44-fc-v769": the leading MAJOR.MINOR, empty when the
// release does not start with one.
std::string kernel_major_minor(std::string_view release);

// --format nfd: "bpfready.io/NAME=VALUE\n" lines, each NAME and VALUE a
// valid label name and value: ready, one per verdict (syscount, tp-btf,
// raw-tp, perf-tp: true, false, or unknown when nothing decided it),
// syscount-flavour, btf, kernel (MAJOR.MINOR) and kernel-release. With
// selected checks only (--check) there are no readiness lines.
std::string render_nfd(const Report& report);

}  // namespace bpfready
