#include "tools/ebpf_diag/fleet.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "libcheck/common/text.h"
#include "libcheck/verdicts.h"

namespace bpfready {

namespace {

constexpr const char* kLabelPrefix = "bpfready.io/";

bool is_required(const Report& report, const Verdict& verdict) {
  const auto& required = report.required_verdicts;
  return required.empty() || std::find(required.begin(), required.end(), verdict.id) != required.end();
}

const CheckResult* find_check_result(const Report& report, std::string_view id) {
  for (const auto& check : report.checks) {
    if (check.id == id) return &check;
  }
  return nullptr;
}

// The kernel.release row when the release could not be read: then nothing
// but a probe can decide.
const CheckResult* unreadable_kernel(const Report& report) {
  const auto* row = find_check_result(report, "kernel.release");
  return row != nullptr && row->status == Status::error ? row : nullptr;
}

bool undecided(const Report& report, const Verdict& verdict) {
  return verdict.mismatch || (unreadable_kernel(report) != nullptr && !verdict.proof);
}

// "syscount tp_btf" for syscount (the flavour it loads here), else the id.
std::string verdict_name(const Verdict& verdict) {
  if (verdict.id == kSyscountVerdict) return verdict.id + " " + std::string(to_string(verdict.flavour));
  return verdict.id;
}

// Bidirectional and line-breaking format characters: they reorder or break
// what a console shows.
bool is_format_control(std::uint32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string ready_line(const Report& report) {
  std::string names;
  for (const auto& v : report.verdicts) {
    if (is_required(report, v)) names += (names.empty() ? "" : ", ") + verdict_name(v);
  }
  return "bpfready: ready (" + names + ")";
}

// "fails at load (EPERM): ": where the probe failed, else where the model
// says it would; the short part of the line that says the most.
std::string failure_point(const Verdict& verdict) {
  ProbeStage stage = verdict.prediction.stage;
  int errnum = verdict.prediction.errnum;
  if (verdict.proof && !verdict.proof->ok) {
    stage = verdict.proof->stage;
    errnum = verdict.proof->errnum;
  } else if (verdict.prediction.ok) {
    return "";
  }
  std::string text = "fails at " + std::string(to_string(stage));
  const char* name = errnum != 0 ? strerrorname_np(errnum) : nullptr;
  if (name != nullptr) text += " (" + std::string(name) + ")";
  return text + ": ";
}

std::string not_ready_line(const Report& report) {
  for (const auto& v : report.verdicts) {
    if (!is_required(report, v) || v.ready) continue;
    std::string line = "bpfready: not ready: " + verdict_name(v) + ": " + failure_point(v) + v.reason;
    if (!v.fix_steps.empty()) {
      line += "; fix: " + v.fix_steps.front();
    } else if (!v.no_safe_fix.empty()) {
      line += "; no safe fix: " + v.no_safe_fix;
    }
    return line;
  }
  return "bpfready: not ready";
}

std::string unknown_line(const Report& report) {
  for (const auto& v : report.verdicts) {
    if (v.mismatch) return "bpfready: unknown: model mismatch on " + verdict_name(v) + ": " + v.reason;
  }
  if (const auto* row = unreadable_kernel(report)) return "bpfready: unknown: " + row->reason;
  return "bpfready: unknown";
}

std::string selected_checks_line(const Report& report) {
  for (const auto& c : report.checks) {
    if (c.status == Status::fail || c.status == Status::error) {
      return "bpfready: check " + std::string(to_string(c.status)) + ": " + c.id + ": " + c.reason;
    }
  }
  return "bpfready: the selected checks pass";
}

bool label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool alphanumeric(char c) { return label_char(c) && c != '.' && c != '_' && c != '-'; }

std::string readiness(bool unknown, bool ready) {
  if (unknown) return "unknown";
  return ready ? "true" : "false";
}

}  // namespace

int fleet_exit_code(const Report& report) {
  const int code = exit_code(report);
  if (code == 2 || report.selected_checks_only) return code;
  const bool any_undecided = std::any_of(report.verdicts.begin(), report.verdicts.end(), [&](const Verdict& v) {
    return is_required(report, v) && undecided(report, v);
  });
  return any_undecided ? 2 : code;
}

std::string one_line_text(std::string_view text) {
  const std::string valid = valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size();) {
    const auto lead = static_cast<unsigned char>(valid[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    std::uint32_t cp = length == 1 ? lead : lead & (0x7FU >> length);
    for (std::size_t k = 1; k < length && i + k < valid.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(valid[i + k]) & 0x3FU);
    }
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      out += ' ';
    } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || is_format_control(cp)) {
      out += '?';
    } else {
      out.append(valid, i, length);
    }
    i += length;
  }
  return out;
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  constexpr std::string_view kEllipsis = "...";
  std::size_t cut = max_bytes - std::min(max_bytes, kEllipsis.size());
  // Back to the first byte of a character: continuation bytes are 10xxxxxx.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  while (cut > 0 && text[cut - 1] == ' ') --cut;
  return std::string(text.substr(0, cut)) + std::string(kEllipsis);
}

std::string render_npd(const Report& report) {
  std::string line;
  if (report.selected_checks_only) {
    line = selected_checks_line(report);
  } else {
    const int code = fleet_exit_code(report);
    line = code == 0 ? ready_line(report) : code == 1 ? not_ready_line(report) : unknown_line(report);
  }
  return truncate_utf8(one_line_text(line), kNpdMaxBytes);
}

std::string npd_error_line(std::string_view message) {
  return truncate_utf8(one_line_text("bpfready: unknown: " + std::string(message)), kNpdMaxBytes);
}

std::string label_value(std::string_view text) {
  std::string out;
  bool skipped = false;
  for (const char c : text) {
    if (!label_char(c)) {
      skipped = true;
      continue;
    }
    if (skipped && !out.empty()) out += '_';
    skipped = false;
    out += c;
  }
  const auto first = std::find_if(out.begin(), out.end(), alphanumeric);
  out.erase(out.begin(), first);
  if (out.size() > kLabelValueMaxBytes) out.resize(kLabelValueMaxBytes);
  while (!out.empty() && !alphanumeric(out.back())) out.pop_back();
  return out;
}

std::string kernel_major_minor(std::string_view release) {
  const auto digits = [&](std::size_t from) {
    std::size_t end = from;
    while (end < release.size() && end - from < 5 && release[end] >= '0' && release[end] <= '9') ++end;
    return end;
  };
  const std::size_t major_end = digits(0);
  if (major_end == 0 || major_end >= release.size() || release[major_end] != '.') return "";
  const std::size_t minor_end = digits(major_end + 1);
  if (minor_end == major_end + 1) return "";
  return std::string(release.substr(0, minor_end));
}

std::string render_nfd(const Report& report) {
  std::string out;
  const auto line = [&out](std::string_view name, const std::string& value) {
    if (!value.empty()) out += std::string(kLabelPrefix) + std::string(name) + "=" + value + "\n";
  };
  if (!report.selected_checks_only) {
    const int code = fleet_exit_code(report);
    line("ready", readiness(code == 2, code == 0));
    for (const auto& v : report.verdicts) {
      std::string name = label_value(v.id);
      std::replace(name.begin(), name.end(), '_', '-');
      line(name, readiness(undecided(report, v), v.ready));
      if (v.id == kSyscountVerdict) line("syscount-flavour", label_value(to_string(v.flavour)));
    }
  }
  if (const auto* btf = find_check_result(report, "btf.vmlinux")) {
    const bool known = btf->status == Status::pass || btf->status == Status::warn;
    if (known) line("btf", readiness(false, btf->status == Status::pass));
  }
  line("kernel", kernel_major_minor(report.kernel_release));
  line("kernel-release", label_value(report.kernel_release));
  return out;
}

}  // namespace bpfready
