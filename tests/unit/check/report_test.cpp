// The renderers: the JSON document's documented fields, well-formed
// Prometheus text exposition, and text without escapes when colour is off.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "libcheck/report.h"
#include "libcheck/common/text.h"
#include "support/unit.h"
#include "unit/check/hostile.h"

namespace bpfready {
namespace {

using unit::contains;
using unit::load_host;

Report report_for(const std::string& host) {
  const auto snap = load_host(host);
  Report report;
  report.tool_version = "0.1.0-test";
  report.hostname = "fixture-" + host;
  report.kernel_release = snap.kernel_release;
  report.live = snap.live;
  report.subject = "root";
  report.checks = run_checks(snap);
  report.verdicts = derive_verdicts(snap, subject_from_snapshot(snap), "/usr/bin/syscount");
  report.required_verdicts = {"raw_tp"};
  return report;
}

// A report whose raw_tp verdict carries a failing probe and a mismatch.
Report report_with_proof() {
  auto snap = load_host("debian12-vm-6.18");
  ProbeOutcome o;
  o.flavour = ProbeFlavour::raw_tp;
  o.stage = ProbeStage::load;
  o.errnum = EPERM;
  o.detail = "bpf_prog_load: Operation not permitted";
  o.expected = 1000;
  snap.probe_raw_tp = o;
  Report report;
  report.tool_version = "0.1.0-test";
  report.hostname = "vm";
  report.kernel_release = snap.kernel_release;
  report.live = true;
  report.subject = "alice";
  report.binary = "/usr/bin/syscount";
  report.checks = run_checks(snap);
  report.verdicts = derive_verdicts(snap, subject_from_snapshot(snap), "");
  return report;
}

// ---- JSON -----------------------------------------------------------------------------------

const nlohmann::json& verdict_by_id(const nlohmann::json& doc, std::string_view id) {
  for (const auto& v : doc.at("verdicts")) {
    if (v.at("id") == id) return v;
  }
  throw std::runtime_error("no verdict " + std::string(id));
}

void expect_json_shape(const nlohmann::json& doc, const Report& report) {
  EXPECT_EQ(doc.at("schema_version"), kReportSchemaVersion);
  EXPECT_EQ(doc.at("schema_version"), 2);
  EXPECT_EQ(doc.at("tool"), "ebpf_diag");
  EXPECT_EQ(doc.at("version"), report.tool_version);
  EXPECT_EQ(doc.at("hostname"), report.hostname);
  EXPECT_EQ(doc.at("kernel_release"), report.kernel_release);
  EXPECT_EQ(doc.at("live"), report.live);
  EXPECT_EQ(doc.at("exit_code"), exit_code(report));
  EXPECT_EQ(doc.at("ready"), exit_code(report) == 0);

  const std::set<std::string> statuses = {"pass", "info", "warn", "fail", "skip", "error"};
  ASSERT_TRUE(doc.at("checks").is_array());
  ASSERT_EQ(doc.at("checks").size(), report.checks.size());
  std::map<std::string, int> counted;
  int findings = 0;
  for (std::size_t i = 0; i < report.checks.size(); ++i) {
    const auto& c = doc.at("checks")[i];
    EXPECT_EQ(c.size(), 8U) << c.dump();
    EXPECT_EQ(c.at("id"), report.checks[i].id);
    EXPECT_TRUE(c.at("title").is_string());
    EXPECT_TRUE(c.at("group").is_string());
    EXPECT_TRUE(statuses.count(c.at("status").get<std::string>())) << c.dump();
    EXPECT_TRUE(c.at("reason").is_string());
    EXPECT_TRUE(c.at("evidence").is_object());
    for (const auto& [key, value] : c.at("evidence").items()) EXPECT_TRUE(value.is_string()) << key;
    EXPECT_TRUE(c.at("remedy").is_null() || (c.at("remedy").is_string() && !c.at("remedy").get<std::string>().empty()));
    EXPECT_TRUE(c.at("security_finding").is_boolean());
    ++counted[c.at("status").get<std::string>()];
    findings += c.at("security_finding").get<bool>() ? 1 : 0;
  }
  const auto& summary = doc.at("summary");
  for (const auto& s : statuses) EXPECT_EQ(summary.at(s), counted[s]) << s;
  EXPECT_EQ(summary.at("security_findings"), findings);

  ASSERT_EQ(doc.at("verdicts").size(), report.verdicts.size());
  for (const auto& v : doc.at("verdicts")) {
    for (const char* key : {"id", "title", "subject", "reason", "flavour"}) EXPECT_TRUE(v.at(key).is_string()) << key;
    EXPECT_FALSE(v.at("tools").empty()) << v.dump();
    EXPECT_TRUE(v.at("ready").is_boolean());
    EXPECT_TRUE(v.at("mismatch").is_boolean());
    EXPECT_TRUE(v.at("remedy").is_null() || v.at("remedy").is_string());
    // Not ready: fix steps (the remedy is them on one line), or why there is no safe fix.
    EXPECT_TRUE(v.at("fix_steps").is_array());
    EXPECT_TRUE(v.at("no_safe_fix").is_null() || v.at("no_safe_fix").is_string());
    EXPECT_EQ(v.at("remedy").is_null(), v.at("fix_steps").empty()) << v.dump();
    EXPECT_EQ(v.at("ready").get<bool>(), v.at("fix_steps").empty() && v.at("no_safe_fix").is_null()) << v.dump();
    const auto& p = v.at("prediction");
    EXPECT_TRUE(p.at("ok").is_boolean());
    EXPECT_EQ(p.at("stage").is_null(), p.at("ok").get<bool>()) << "stage only on a predicted failure";
    EXPECT_TRUE(p.at("errno").is_number_integer());
    EXPECT_TRUE(p.at("errno_name").is_string());
    EXPECT_TRUE(p.at("reason").is_string());
    EXPECT_TRUE(p.at("certain").is_boolean());
    if (!v.at("proof").is_null()) {
      for (const char* key : {"ok", "stage", "errno", "errno_name", "detail", "expected", "counted"}) {
        EXPECT_TRUE(v.at("proof").contains(key)) << key;
      }
    }
  }
}

TEST(RenderJson, EveryFixtureHasTheDocumentedShape) {
  for (const auto& host : unit::fixture_hosts()) {
    SCOPED_TRACE(host);
    const auto report = report_for(host);
    const auto doc = render_json(report);
    expect_json_shape(doc, report);
    // What a machine reads survives a round trip through text.
    EXPECT_EQ(nlohmann::json::parse(doc.dump()), doc);
  }
}

TEST(RenderJson, PredictionAndProofDetails) {
  const auto report = report_for("ubuntu2204-paranoid4");
  const auto doc = render_json(report);
  const auto& perf = verdict_by_id(doc, "perf_tp");
  EXPECT_EQ(perf.at("id"), "perf_tp");
  EXPECT_FALSE(perf.at("ready").get<bool>());
  EXPECT_EQ(perf.at("prediction").at("stage"), "tracefs_id");
  EXPECT_EQ(perf.at("prediction").at("errno"), EACCES);
  EXPECT_EQ(perf.at("prediction").at("errno_name"), "EACCES");
  EXPECT_TRUE(perf.at("proof").is_null());
  EXPECT_TRUE(contains(perf.at("remedy").get<std::string>(), "--tracefs-read"));
  EXPECT_TRUE(doc.at("ready").get<bool>());
  EXPECT_EQ(doc.at("exit_code"), 0);

  const auto mismatch = render_json(report_with_proof());
  const auto& raw = verdict_by_id(mismatch, "raw_tp");
  EXPECT_TRUE(raw.at("mismatch").get<bool>());
  EXPECT_EQ(raw.at("proof").at("ok"), false);
  EXPECT_EQ(raw.at("proof").at("stage"), "load");
  EXPECT_EQ(raw.at("proof").at("errno"), EPERM);
  EXPECT_EQ(raw.at("proof").at("errno_name"), "EPERM");
  EXPECT_EQ(raw.at("proof").at("expected"), 1000);
  EXPECT_EQ(raw.at("prediction").at("errno_name"), "");
  EXPECT_EQ(mismatch.at("exit_code"), 2);
  EXPECT_FALSE(mismatch.at("ready").get<bool>());
}

TEST(RenderJson, EmptyReport) {
  const auto doc = render_json(Report{});
  EXPECT_TRUE(doc.at("checks").empty());
  EXPECT_TRUE(doc.at("verdicts").empty());
  EXPECT_EQ(doc.at("exit_code"), 0);
  EXPECT_EQ(doc.at("summary").at("pass"), 0);
}

// ebpf_diag --check: no verdicts, and the selected checks decide the exit code.
TEST(RenderJson, SelectedChecksDecideExitCodeAndReady) {
  const auto snap = load_host("container-no-tracefs");
  Report report;
  report.selected_checks_only = true;
  report.checks = run_checks(snap, {"caps.effective"});
  ASSERT_EQ(report.checks.size(), 1U);
  ASSERT_EQ(report.checks[0].status, Status::fail);
  EXPECT_EQ(exit_code(report), 1);
  auto doc = render_json(report);
  EXPECT_EQ(doc.at("exit_code"), 1);
  EXPECT_FALSE(doc.at("ready").get<bool>());
  EXPECT_TRUE(doc.at("verdicts").empty());

  for (const auto status : {Status::error, Status::pass, Status::warn, Status::skip}) {
    report.checks[0].status = status;
    EXPECT_EQ(exit_code(report), status == Status::error ? 1 : 0) << to_string(status);
  }
  doc = render_json(report);
  EXPECT_EQ(doc.at("exit_code"), 0);
  EXPECT_TRUE(doc.at("ready").get<bool>());

  report.selected_checks_only = false;  // the verdicts decide again: none is not ready
  report.checks[0].status = Status::fail;
  EXPECT_EQ(exit_code(report), 0);
}

// ---- Prometheus -------------------------------------------------------------------------------

// One line of the text exposition format (0.0.4): HELP, TYPE, or a sample.
const std::regex kHelp(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S.*)");
const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|untyped|summary|histogram))");
const std::regex kSample(
    R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? -?[0-9]+(\.[0-9]+)?)");

void expect_well_formed(const std::string& text) {
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> typed;
  std::set<std::string> samples;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kType)) {
      EXPECT_TRUE(typed.insert(m[1]).second) << "TYPE twice for " << m[1];
      continue;
    }
    if (std::regex_match(line, kHelp)) continue;
    ASSERT_TRUE(std::regex_match(line, m, kSample)) << "malformed line: " << line;
    EXPECT_TRUE(typed.count(m[1])) << "sample before its TYPE: " << line;
    const auto series = line.substr(0, line.rfind(' '));
    EXPECT_TRUE(samples.insert(series).second) << "duplicate series: " << series;
  }
}

TEST(RenderPrometheus, WellFormedForEveryFixture) {
  for (const auto& host : unit::fixture_hosts()) {
    SCOPED_TRACE(host);
    const auto report = report_for(host);
    const auto text = render_prometheus(report);
    expect_well_formed(text);
    EXPECT_TRUE(contains(text, "bpfready_ready{subject=\"root\"} " + std::string(exit_code(report) == 0 ? "1" : "0") +
                                   "\n"));
    EXPECT_TRUE(contains(text, "bpfready_info{subject=\"root\",version=\"0.1.0-test\",kernel=\"" +
                                   report.kernel_release + "\"} 1\n"));
    // Exactly one status is 1 for each check.
    for (const auto& c : report.checks) {
      for (const auto s : {Status::pass, Status::warn, Status::fail, Status::skip, Status::error}) {
        const std::string sample = "bpfready_check_status{subject=\"root\",id=\"" + c.id + "\",status=\"" + std::string(to_string(s)) +
                                   "\"} " + (s == c.status ? "1" : "0") + "\n";
        EXPECT_TRUE(contains(text, sample)) << sample;
      }
    }
  }
}

TEST(RenderPrometheus, VerdictsAndFindings) {
  const auto text = render_prometheus(report_for("unpriv-bpf-enabled"));
  EXPECT_TRUE(contains(text, "bpfready_verdict_ready{subject=\"root\",tool=\"raw_tp\"} 1\n"));
  EXPECT_TRUE(contains(text, "bpfready_verdict_mismatch{subject=\"root\",tool=\"perf_tp\"} 0\n"));
  EXPECT_TRUE(contains(text, "bpfready_security_findings{subject=\"root\"} 5\n"));
  const auto mismatch = render_prometheus(report_with_proof());
  const std::string alice = R"(subject="alice",binary="/usr/bin/syscount")";
  EXPECT_TRUE(contains(mismatch, "bpfready_verdict_mismatch{" + alice + ",tool=\"raw_tp\"} 1\n"));
  EXPECT_TRUE(contains(mismatch, "bpfready_ready{" + alice + "} 0\n"));
}

// Issue 11: two subjects' files side by side in one textfile directory must
// not produce the same series twice, so every series names its subject.
TEST(RenderPrometheus, EverySeriesNamesItsSubject) {
  for (const auto& report : {report_for("debian12-vm-6.18"), report_with_proof()}) {
    const auto text = render_prometheus(report);
    std::istringstream lines(text);
    std::string line;
    int samples = 0;
    while (std::getline(lines, line)) {
      if (line.starts_with("#")) continue;
      ++samples;
      EXPECT_TRUE(contains(line, "{subject=\"" + report.subject + "\"")) << line;
      EXPECT_EQ(contains(line, "binary=\"/usr/bin/syscount\""), !report.binary.empty()) << line;
    }
    EXPECT_GT(samples, 10);
  }
}

TEST(RenderPrometheus, LabelValuesAreEscaped) {
  auto report = report_for("debian12-vm-6.18");
  report.tool_version = R"(1.0 "quoted" back\slash)";
  report.kernel_release = "6.18\nnewline";
  report.subject = "eve\"}";
  report.binary = "/tmp/a\\b";
  const auto text = render_prometheus(report);
  expect_well_formed(text);
  EXPECT_TRUE(contains(text, R"(version="1.0 \"quoted\" back\\slash",kernel="6.18\nnewline")")) << text;
  EXPECT_TRUE(contains(text, R"(subject="eve\"}",binary="/tmp/a\\b")")) << text;
}

// ---- text ----------------------------------------------------------------------------------

TEST(RenderText, NoEscapesWithoutColour) {
  for (const auto& host : unit::fixture_hosts()) {
    for (const bool verbose : {false, true}) {
      const auto text = render_text(report_for(host), false, verbose);
      EXPECT_FALSE(contains(text, "\033")) << host;
    }
  }
  EXPECT_TRUE(contains(render_text(report_for("kernel-5.4"), true, false), "\033[")) << "colour when asked";
}

TEST(RenderText, ShowsChecksFixesVerdictsAndSummary) {
  const auto report = report_for("container-no-tracefs");
  const auto text = render_text(report, false, false);
  EXPECT_TRUE(contains(text, "ebpf_diag 0.1.0-test on fixture-container-no-tracefs, kernel 6.8.0-45-generic (fixture)"));
  EXPECT_TRUE(contains(text, "[FAIL] caps.effective: missing CAP_BPF and CAP_PERFMON"));
  EXPECT_TRUE(contains(text, "fix: see the verdicts' fix for the profiling tool"));
  EXPECT_FALSE(contains(text, "setcap")) << "capabilities come through tracefs-setup only";
  EXPECT_TRUE(contains(text, "[skip] config.bpf_syscall: unknown"));
  EXPECT_TRUE(contains(text, "syscount (its typed tp_btf programs) for this process: NOT READY"));
  EXPECT_TRUE(contains(text, "raw tracepoints (raw_tp/) for this process: NOT READY"));
  EXPECT_TRUE(contains(text, "used by: syscount's raw_tp fallback, tools with raw_tp programs"));
  // The container's bounding set lacks CAP_BPF: no file capability can help.
  EXPECT_TRUE(contains(text, "no safe fix: file capabilities cannot grant")) << text;
  EXPECT_TRUE(contains(text, "no setting found that weakens this host"));
  EXPECT_TRUE(contains(text, "not ready (exit 1)"));
  EXPECT_FALSE(contains(text, "searched = ")) << "evidence only with --verbose";
  EXPECT_TRUE(contains(render_text(report, false, true), "searched = /proc/config.gz"));
  for (const auto& c : report.checks) EXPECT_TRUE(contains(text, " " + c.id + ": ")) << c.id;
}

TEST(RenderText, SecurityFindingsAndMismatch) {
  const auto text = render_text(report_for("unpriv-bpf-enabled"), false, false);
  EXPECT_TRUE(contains(text, "Security\n  [warn] sysctl.unprivileged_bpf_disabled:"));
  EXPECT_TRUE(contains(text, "5 warnings"));
  const auto mismatch = render_text(report_with_proof(), false, false);
  EXPECT_TRUE(contains(mismatch, "MODEL MISMATCH"));
  EXPECT_TRUE(contains(mismatch, "model mismatch (exit 2)"));
  EXPECT_FALSE(contains(mismatch, "(fixture)"));
}

TEST(RenderText, ShowsPredictionBesideAgreeingProof) {
  auto snap = load_host("debian12-vm-6.18");
  ProbeOutcome ok;
  ok.flavour = ProbeFlavour::raw_tp;
  ok.ok = true;
  ok.stage = ProbeStage::readback;
  ok.detail = "loaded, attached, and counted 1000 of 1000 getppid calls";
  snap.probe_raw_tp = ok;
  Report report;
  report.verdicts = derive_verdicts(snap, subject_from_snapshot(snap), "");
  const auto text = render_text(report, false, false);
  EXPECT_TRUE(contains(text, "proven: loaded, attached, and counted 1000 of 1000"));
  EXPECT_TRUE(contains(text, "prediction: works, probe: works"));
}

// ---- hostile host text -------------------------------------------------------------------------

// A report whose host-provided text (hostname, release, reasons, evidence,
// paths in remedies, subject, probe detail) is binary garbage with escapes.
Report hostile_report() {
  auto report = report_with_proof();
  const std::string bad = hostile::garbage();
  report.hostname = "host" + bad;
  report.kernel_release = bad;
  report.checks.front().reason += bad;
  report.checks.front().evidence.emplace_back("path" + bad, "value" + bad);
  report.checks.front().remedy = "sudo chmod 0700 '/sys/" + bad + "'";
  report.checks.front().status = Status::fail;
  report.subject = "eve" + bad;
  for (auto& v : report.verdicts) {
    v.subject = "eve" + bad;
    v.reason += bad;
    v.remedy = "sudo setcap cap_bpf=ep '/tmp/" + bad + "'";
    v.prediction.reason += bad;
    if (v.proof) v.proof->detail += bad;
  }
  return report;
}

bool all_strings_valid(const nlohmann::json& j) {
  if (j.is_string()) return valid_utf8(j.get<std::string>()) == j.get<std::string>();
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (valid_utf8(key) != key || !all_strings_valid(value)) return false;
    }
  }
  if (j.is_array()) {
    for (const auto& value : j) {
      if (!all_strings_valid(value)) return false;
    }
  }
  return true;
}

TEST(RenderJson, HostTextBecomesValidUtf8) {
  const auto report = hostile_report();
  std::string text;
  ASSERT_NO_THROW(text = render_json(report).dump(2));
  EXPECT_EQ(valid_utf8(text), text);
  const auto doc = nlohmann::json::parse(text);
  EXPECT_TRUE(all_strings_valid(doc));
  EXPECT_EQ(doc.at("hostname"), valid_utf8(report.hostname));
  EXPECT_EQ(doc.at("kernel_release"), valid_utf8(report.kernel_release));
  EXPECT_EQ(doc.at("checks")[0].at("evidence").at(valid_utf8("path" + hostile::garbage())),
            valid_utf8("value" + hostile::garbage()));
  EXPECT_EQ(verdict_by_id(doc, "raw_tp").at("subject"), valid_utf8(report.verdicts[1].subject));
  EXPECT_EQ(verdict_by_id(doc, "raw_tp").at("proof").at("detail"), valid_utf8(report.verdicts[1].proof->detail));
  EXPECT_TRUE(unit::contains(doc.at("hostname").get<std::string>(), "\xEF\xBF\xBD"));  // U+FFFD
}

TEST(RenderText, HostTextHasItsControlCharactersEscaped) {
  const auto report = hostile_report();
  for (const bool verbose : {false, true}) {
    const auto text = render_text(report, false, verbose);
    EXPECT_EQ(valid_utf8(text), text);
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      EXPECT_TRUE(byte == '\n' || (byte >= 0x20 && byte != 0x7f)) << "control byte " << int{byte} << " in\n" << text;
    }
    EXPECT_FALSE(unit::contains(text, "\xc2\x9b")) << "a C1 control (CSI)";
    EXPECT_TRUE(unit::contains(text, "on " + escape_for_terminal(report.hostname) + ", kernel ")) << text;
    EXPECT_TRUE(unit::contains(text, escape_for_terminal(report.verdicts[0].subject))) << text;
  }
  EXPECT_TRUE(unit::contains(render_text(report, false, true), escape_for_terminal("path" + hostile::garbage())));
  const auto coloured = render_text(report, true, false);  // our own colour escapes stay
  EXPECT_TRUE(unit::contains(coloured, "\033[1m"));
  EXPECT_FALSE(unit::contains(coloured, "\033]0;"));
}

TEST(RenderPrometheus, LabelValuesAreValidUtf8) {
  auto report = hostile_report();
  const auto text = render_prometheus(report);
  expect_well_formed(text);
  EXPECT_EQ(valid_utf8(text), text);
  EXPECT_TRUE(unit::contains(text, "subject=\"eve" + valid_utf8(hostile::garbage()) + "\"")) << text;
}

}  // namespace
}  // namespace bpfready

// ---- selected checks (--check) claim only what was checked ---------------------------------

namespace bpfready {
namespace {

Report selected_report(const std::string& host, const std::vector<std::string>& ids) {
  const auto snap = load_host(host);
  Report report;
  report.tool_version = "0.1.0-test";
  report.hostname = host;
  report.kernel_release = snap.kernel_release;
  report.subject = "root";
  report.checks = run_checks(snap, ids);
  report.selected_checks_only = true;
  return report;
}

TEST(SelectedChecks, TextHasNoVerdictsAndNoClaimAboutTheWholeHost) {
  const auto text = render_text(selected_report("debian12-vm-6.18", {"probe.raw_tp"}), false, false);
  EXPECT_FALSE(contains(text, "Verdicts")) << text;
  EXPECT_FALSE(contains(text, "no setting found that weakens this host")) << text;
  EXPECT_TRUE(contains(text, "no setting that weakens this host among the 1 check run")) << text;
  EXPECT_TRUE(contains(text, "no selected check failed (exit 0)")) << text;
  EXPECT_FALSE(contains(text, "; ready")) << "readiness was not judged";
  const auto failing = render_text(selected_report("kernel-5.4", {"caps.effective"}), false, false);
  EXPECT_TRUE(contains(failing, "a selected check failed (exit 1)")) << failing;
}

TEST(SelectedChecks, PrometheusHasNoReadinessSeries) {
  const auto prom = render_prometheus(selected_report("kernel-5.4", {"caps.effective", "config.kprobes"}));
  EXPECT_FALSE(contains(prom, "bpfready_ready")) << prom;
  EXPECT_FALSE(contains(prom, "bpfready_verdict_ready")) << prom;
  EXPECT_TRUE(contains(prom, "bpfready_check_status{subject=\"root\",id=\"caps.effective\",status=\"fail\"} 1")) << prom;
}

TEST(InfoStatus, AbsentKprobesAreInfoNotPassEverywhere) {
  auto snap = load_host("debian12-vm-6.18");
  (*snap.kernel_config)["CONFIG_KPROBES"] = "n";
  Report report;
  report.subject = "root";
  report.checks = run_checks(snap, {"config.kprobes", "btf.vmlinux"});
  report.selected_checks_only = true;
  const auto text = render_text(report, false, false);
  EXPECT_TRUE(contains(text, "[info] config.kprobes: no kprobes: kprobe-based tools fail")) << text;
  EXPECT_TRUE(contains(text, "1 passed, 1 info, 0 warnings, 0 failed, 0 skipped, 0 errors")) << text;
  const auto doc = render_json(report);
  EXPECT_EQ(doc.at("checks")[0].at("status"), "info");
  EXPECT_EQ(doc.at("summary").at("info"), 1);
  EXPECT_EQ(doc.at("summary").at("pass"), 1);
  const auto prom = render_prometheus(report);
  EXPECT_TRUE(contains(prom, "bpfready_check_status{subject=\"root\",id=\"config.kprobes\",status=\"info\"} 1")) << prom;
  EXPECT_TRUE(contains(prom, "bpfready_check_status{subject=\"root\",id=\"config.kprobes\",status=\"pass\"} 0")) << prom;
}

TEST(RenderText, CountsAreSingularForOne) {
  auto report = selected_report("debian12-vm-6.18", {"sysctl.kptr_restrict"});
  const auto text = render_text(report, false, false);
  EXPECT_TRUE(contains(text, "1 warning,")) << text;
  EXPECT_FALSE(contains(text, "1 warnings")) << text;
}

}  // namespace
}  // namespace bpfready
