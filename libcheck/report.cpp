#include "libcheck/report.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

#include "libcheck/common/text.h"

namespace bpfready {

namespace {

// What the verdicts alone say. The text summary and bpfready_ready show it,
// also when selected checks decide the exit status (no verdicts: ready).
int verdict_exit_code(const Report& report) {
  bool ready = true;
  for (const auto& v : report.verdicts) {
    if (v.mismatch) return 2;
    const bool required = report.required_verdicts.empty() ||
                          std::find(report.required_verdicts.begin(), report.required_verdicts.end(), v.id) !=
                              report.required_verdicts.end();
    if (required && !v.ready) ready = false;
  }
  return ready ? 0 : 1;
}

const char* errno_name(int errnum) {
  if (errnum == 0) return "";
  const char* name = strerrorname_np(errnum);
  return name != nullptr ? name : "";
}

// Host-provided text for JSON, which must be UTF-8: invalid bytes become U+FFFD.
nlohmann::json text(std::string_view value) { return valid_utf8(value); }
nlohmann::json text_or_null(const std::string& value) { return value.empty() ? nlohmann::json(nullptr) : text(value); }
nlohmann::json text_list(const std::vector<std::string>& values) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& value : values) list.push_back(text(value));
  return list;
}

}  // namespace

std::string terminal_text(std::string_view value) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    const bool c1 = byte == 0xC2 && i + 1 < value.size() && static_cast<unsigned char>(value[i + 1]) <= 0x9F;
    if (byte < 0x20 || byte == 0x7F || c1) return escape_for_terminal(value);
  }
  return valid_utf8(value) == value ? std::string(value) : escape_for_terminal(value);
}

namespace {

nlohmann::json probe_json(const ProbeOutcome& p) {
  return {{"ok", p.ok},           {"stage", to_string(p.stage)}, {"errno", p.errnum},
          {"errno_name", errno_name(p.errnum)}, {"detail", text(p.detail)},  {"expected", p.expected},
          {"counted", p.counted}};
}

// "1 warning", "2 warnings".
std::string count_text(std::size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

struct Style {
  bool colour;
  [[nodiscard]] std::string paint(std::string_view text, const char* code) const {
    if (!colour) return std::string(text);
    return std::string("\033[") + code + "m" + std::string(text) + "\033[0m";
  }
  [[nodiscard]] std::string mark(Status s) const {
    switch (s) {
      case Status::pass: return paint("[ ok ]", "32");
      case Status::info: return paint("[info]", "36");
      case Status::warn: return paint("[warn]", "33");
      case Status::fail: return paint("[FAIL]", "31;1");
      case Status::skip: return paint("[skip]", "2");
      case Status::error: return paint("[ERR ]", "35;1");
    }
    return "[????]";
  }
};

std::string_view group_title(const std::string& group) {
  static const std::map<std::string, std::string_view, std::less<>> titles = {
      {"kernel", "Kernel"},        {"config", "Kernel config"}, {"sysctl", "Sysctls"},
      {"capabilities", "Capabilities"}, {"tracefs", "tracefs and debugfs"}, {"probe", "End-to-end probes"},
      {"user", "User"}};
  const auto it = titles.find(group);
  return it == titles.end() ? std::string_view(group) : it->second;
}

}  // namespace

int exit_code(const Report& report) {
  if (!report.selected_checks_only) return verdict_exit_code(report);
  const bool failed = std::any_of(report.checks.begin(), report.checks.end(), [](const CheckResult& c) {
    return c.status == Status::fail || c.status == Status::error;
  });
  return failed ? 1 : 0;
}

std::string render_text(const Report& report, bool colour, bool verbose) {
  const Style style{colour};
  std::ostringstream out;
  out << style.paint("ebpf_diag", "1") << " " << terminal_text(report.tool_version) << " on " << terminal_text(report.hostname)
      << ", kernel " << terminal_text(report.kernel_release) << (report.live ? "" : " (fixture)") << "\n";

  std::vector<std::string> groups;
  for (const auto& c : report.checks) {
    if (std::find(groups.begin(), groups.end(), c.group) == groups.end()) groups.push_back(c.group);
  }
  for (const auto& group : groups) {
    out << "\n" << style.paint(group_title(group), "1") << "\n";
    for (const auto& c : report.checks) {
      if (c.group != group) continue;
      out << "  " << style.mark(c.status) << " " << terminal_text(c.id) << ": " << terminal_text(c.reason) << "\n";
      if (!c.remedy.empty() && (c.status == Status::fail || c.status == Status::warn)) {
        out << "         fix: " << terminal_text(c.remedy) << "\n";
      }
      if (verbose) {
        for (const auto& [key, value] : c.evidence) out << "         " << terminal_text(key) << " = " << terminal_text(value) << "\n";
      }
    }
  }

  // With --check nothing was judged, so there is no Verdicts section.
  if (!report.selected_checks_only) out << "\n" << style.paint("Verdicts", "1") << "\n";
  for (const auto& v : report.verdicts) {
    const std::string state = v.mismatch ? style.paint("MODEL MISMATCH", "35;1")
                              : v.ready  ? style.paint("READY", "32;1")
                                         : style.paint("NOT READY", "31;1");
    out << "  " << terminal_text(v.title) << " for " << terminal_text(v.subject) << ": " << state << "\n";
    out << "      " << terminal_text(v.reason) << "\n";
    if (v.id != kSyscountVerdict && !v.tools.empty()) {
      std::string tools;
      for (const auto& tool : v.tools) tools += (tools.empty() ? "" : ", ") + tool;
      out << "      used by: " << terminal_text(tools) << "\n";
    }
    if (v.proof && !v.mismatch) {
      out << "      prediction: " << (v.prediction.ok ? "works" : "fails at " + std::string(to_string(v.prediction.stage)))
          << ", probe: " << (v.proof->ok ? "works" : "fails at " + std::string(to_string(v.proof->stage))) << "\n";
    }
    if (v.fix_steps.size() == 1) out << "      fix: " << terminal_text(v.fix_steps.front()) << "\n";
    if (v.fix_steps.size() > 1) {
      out << "      fix, all of these in order:\n";
      for (std::size_t i = 0; i < v.fix_steps.size(); ++i) {
        out << "        " << (i + 1) << ". " << terminal_text(v.fix_steps[i]) << "\n";
      }
    }
    if (!v.no_safe_fix.empty()) out << "      no safe fix: " << terminal_text(v.no_safe_fix) << "\n";
  }

  std::size_t findings = 0;
  for (const auto& c : report.checks) findings += c.security_finding ? 1 : 0;
  out << "\n" << style.paint("Security", "1") << "\n";
  if (findings == 0 && report.selected_checks_only) {
    out << "  no setting that weakens this host among the " << count_text(report.checks.size(), "check")
        << " run\n";
  } else if (findings == 0) {
    out << "  no setting found that weakens this host\n";
  } else {
    for (const auto& c : report.checks) {
      if (c.security_finding) out << "  " << style.mark(Status::warn) << " " << terminal_text(c.id) << ": " << terminal_text(c.reason) << "\n";
    }
  }

  std::map<Status, std::size_t> counts;
  for (const auto& c : report.checks) ++counts[c.status];
  const int code = exit_code(report);
  out << "\n"
      << counts[Status::pass] << " passed, " << counts[Status::info] << " info, "
      << count_text(counts[Status::warn], "warning") << ", " << counts[Status::fail] << " failed, "
      << counts[Status::skip] << " skipped, " << count_text(counts[Status::error], "error") << "; ";
  if (report.selected_checks_only) {
    out << (code == 0 ? "no selected check failed" : "a selected check failed");
  } else {
    out << (code == 0 ? "ready" : code == 1 ? "not ready" : "model mismatch");
  }
  out << " (exit " << code << ")\n";
  return out.str();
}

namespace {

nlohmann::json check_json(const CheckResult& c) {
  nlohmann::json evidence = nlohmann::json::object();
  for (const auto& [key, value] : c.evidence) evidence[valid_utf8(key)] = text(value);
  return {{"id", text(c.id)},
          {"title", text(c.title)},
          {"group", text(c.group)},
          {"status", to_string(c.status)},
          {"reason", text(c.reason)},
          {"evidence", evidence},
          {"remedy", text_or_null(c.remedy)},
          {"security_finding", c.security_finding}};
}

nlohmann::json verdict_json(const Verdict& v) {
  const nlohmann::json tools = text_list(v.tools);
  return {{"id", text(v.id)},
          {"title", text(v.title)},
          {"tools", tools},
          {"flavour", to_string(v.flavour)},
          {"subject", text(v.subject)},
          {"ready", v.ready},
          {"mismatch", v.mismatch},
          {"reason", text(v.reason)},
          {"remedy", text_or_null(v.remedy)},
          {"fix_steps", text_list(v.fix_steps)},
          {"no_safe_fix", text_or_null(v.no_safe_fix)},
          {"prediction",
           {{"ok", v.prediction.ok},
            {"stage", v.prediction.ok ? nlohmann::json(nullptr) : nlohmann::json(to_string(v.prediction.stage))},
            {"errno", v.prediction.errnum},
            {"errno_name", errno_name(v.prediction.errnum)},
            {"reason", text(v.prediction.reason)},
            {"certain", v.prediction.certain}}},
          {"proof", v.proof ? probe_json(*v.proof) : nlohmann::json(nullptr)}};
}

}  // namespace

nlohmann::json render_json(const Report& report) {
  nlohmann::json doc;
  doc["schema_version"] = kReportSchemaVersion;
  doc["tool"] = "ebpf_diag";
  doc["version"] = text(report.tool_version);
  doc["hostname"] = text(report.hostname);
  doc["kernel_release"] = text(report.kernel_release);
  doc["live"] = report.live;
  const int code = exit_code(report);
  doc["ready"] = code == 0;
  doc["exit_code"] = code;

  nlohmann::json summary = {{"pass", 0}, {"info", 0}, {"warn", 0}, {"fail", 0}, {"skip", 0}, {"error", 0}, {"security_findings", 0}};
  auto& checks = doc["checks"] = nlohmann::json::array();
  for (const auto& c : report.checks) {
    checks.push_back(check_json(c));
    summary[std::string(to_string(c.status))] = summary[std::string(to_string(c.status))].get<int>() + 1;
    if (c.security_finding) summary["security_findings"] = summary["security_findings"].get<int>() + 1;
  }
  auto& verdicts = doc["verdicts"] = nlohmann::json::array();
  for (const auto& v : report.verdicts) verdicts.push_back(verdict_json(v));
  doc["summary"] = summary;
  return doc;
}

namespace {
// A label value of the text exposition format: valid UTF-8, with backslash,
// double quote and newline escaped.
std::string label_escape(std::string_view value) {
  std::string out;
  for (const char c : valid_utf8(value)) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The labels every series starts with: who the report is about.
std::string subject_labels(const Report& report) {
  std::string labels = "subject=\"" + label_escape(report.subject) + "\"";
  if (!report.binary.empty()) labels += ",binary=\"" + label_escape(report.binary) + "\"";
  return labels;
}

void render_prometheus_verdicts(const Report& report, const std::string& who, std::ostringstream& out) {
  out << "# HELP bpfready_ready 1 when the required tool classes are ready.\n# TYPE bpfready_ready gauge\n"
      << "bpfready_ready{" << who << "} " << (verdict_exit_code(report) == 0 ? 1 : 0) << "\n";
  out << "# HELP bpfready_verdict_ready 1 when the tool class works for the subject.\n"
      << "# TYPE bpfready_verdict_ready gauge\n";
  for (const auto& v : report.verdicts) {
    out << "bpfready_verdict_ready{" << who << ",tool=\"" << label_escape(v.id) << "\"} " << (v.ready ? 1 : 0)
        << "\n";
  }
  out << "# HELP bpfready_verdict_mismatch 1 when the prediction contradicts the probe.\n"
      << "# TYPE bpfready_verdict_mismatch gauge\n";
  for (const auto& v : report.verdicts) {
    out << "bpfready_verdict_mismatch{" << who << ",tool=\"" << label_escape(v.id) << "\"} "
        << (v.mismatch ? 1 : 0) << "\n";
  }
}

}  // namespace

std::string render_prometheus(const Report& report) {
  const std::string who = subject_labels(report);
  std::ostringstream out;
  out << "# HELP bpfready_info ebpf_diag version and kernel.\n# TYPE bpfready_info gauge\n"
      << "bpfready_info{" << who << ",version=\"" << label_escape(report.tool_version) << "\",kernel=\""
      << label_escape(report.kernel_release) << "\"} 1\n";
  // With --check nothing was judged: no readiness series at all, rather
  // than a "ready" that no verdict stands behind.
  if (!report.selected_checks_only) render_prometheus_verdicts(report, who, out);
  out << "# HELP bpfready_check_status 1 for the status each check has.\n# TYPE bpfready_check_status gauge\n";
  std::size_t findings = 0;
  for (const auto& c : report.checks) {
    findings += c.security_finding ? 1 : 0;
    for (const auto s : kAllStatuses) {
      out << "bpfready_check_status{" << who << ",id=\"" << label_escape(c.id) << "\",status=\"" << to_string(s)
          << "\"} " << (c.status == s ? 1 : 0) << "\n";
    }
  }
  out << "# HELP bpfready_security_findings Settings that weaken the host.\n"
      << "# TYPE bpfready_security_findings gauge\nbpfready_security_findings{" << who << "} " << findings << "\n";
  return out.str();
}

}  // namespace bpfready
