// ebpf_diag: proves whether eBPF profiling works on this host, for whom, and
// what the smallest fix is. It never changes the system.
#include "tools/ebpf_diag/app.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "libcheck/caps.h"
#include "libcheck/common/text.h"
#include "libcheck/expected.h"
#include "libcheck/parse.h"
#include "libcheck/probe.h"
#include "libcheck/report.h"
#include "libcheck/system_root.h"
#include "libcheck/user_probe.h"
#include "tools/ebpf_diag/fleet.h"
#include "tools/ebpf_diag/textfile.h"

namespace bpfready {

namespace {

constexpr int kExitUsage = 2;

std::string hostname_of(const SystemRoot& root) {
  if (auto name = root.read("/proc/sys/kernel/hostname", kValueFileMaxBytes)) return std::string(trim(*name));
  return "unknown";
}

std::string padded(std::string_view text, std::size_t width) {
  std::string out(text);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

void print_check_table(std::ostream& out) {
  for (const auto& def : check_table()) {
    out << padded(def.id, 34) << ' ' << padded(def.group, 14) << ' ' << def.needs << '\n';
  }
  out << padded(kUserSubjectCheck, 34) << ' ' << padded("user", 14)
      << " only with --user: the user's ids, groups and capabilities, and whether they may run --binary\n";
}

// Probes run unless --no-probe, or unless --check names no probe.
bool probes_wanted(const DiagOptions& options) {
  if (options.no_probe) return false;
  return options.check_ids.empty() || std::any_of(options.check_ids.begin(), options.check_ids.end(),
                                                  [](const std::string& id) { return id.starts_with("probe."); });
}

// Who the verdicts are for: this process, or --user with its row.
struct Target {
  Subject subject;
  std::optional<CheckResult> user_row;
};

// --user: the subject, its row and, as root, the probes run as that user,
// whose outcomes replace the snapshot's. An error is a usage error.
Expected<Target> resolve_user(const DiagOptions& options, Snapshot& snapshot, bool run_probes) {
  // Without --binary the user runs no capability-carrying program.
  const auto binary_caps = options.binary.empty() ? std::nullopt : snapshot.binary_file_caps();
  auto found = subject_for_user(options.user, binary_caps, snapshot.creds ? snapshot.creds->cap_bounding : 0);
  if (!found) return found.error();
  Target target{*found, user_subject_row(*found, options.binary, snapshot)};
  auto& row = *target.user_row;
  if (!run_probes) return target;
  if (row.status != Status::pass) {
    snapshot.probes_skipped = row.reason;
    return target;
  }
  if (::geteuid() != 0) {
    row.reason += "; not root, so the probes cannot run as " + target.subject.name + " (prediction only)";
    snapshot.probes_skipped = "only root can run them as " + target.subject.name;
    return target;
  }
  auto outcomes = run_probes_as(target.subject, {.tracefs_dir = snapshot.tracefs_dir(), .trigger_calls = 1000});
  if (!outcomes) return outcomes.error();
  for (auto& outcome : *outcomes) snapshot.probe(outcome.flavour) = std::move(outcome);
  return target;
}

// Where syscount is, for fixes that give it capabilities: beside ebpf_diag
// (an installed package), or where packages put it.
std::string find_syscount(const std::string& diag_binary) {
  const auto dir = std::filesystem::path(diag_binary).parent_path();
  for (const auto& candidate : {dir / "syscount", dir.parent_path() / "syscount" / "syscount",
                                std::filesystem::path("/usr/bin/syscount"), std::filesystem::path("/usr/local/bin/syscount")}) {
    std::error_code error;
    if (!diag_binary.empty() && std::filesystem::is_regular_file(candidate, error)) return candidate.string();
  }
  return "/usr/bin/syscount";
}

// What fixes are planned for: the named --binary in --user mode; otherwise
// the running binary is ebpf_diag itself, which never gets capabilities.
FixContext fix_context(const DiagOptions& options, const Snapshot& snapshot) {
  FixContext context;
  const bool for_user = !options.user.empty();
  context.binary = for_user ? options.binary : snapshot.binary_path;
  context.binary_is_diagnostic = !for_user;
  context.syscount_binary = find_syscount(snapshot.binary_path);
  return context;
}

std::string with_subject(std::string text, const std::string& name) {
  for (auto at = text.find("this process"); at != std::string::npos; at = text.find("this process", at + name.size())) {
    text.replace(at, std::string_view("this process").size(), name);
  }
  return text;
}

// --user: the rows that read this process's own credentials are read again
// for the subject (its uid, groups and the capabilities --binary gives it);
// the rows that only this process's state can answer say so.
void describe_subject(std::vector<CheckResult>& checks, const Snapshot& snapshot, const Subject& subject,
                      const std::string& binary) {
  Snapshot as_subject = snapshot;
  ProcessCreds creds = snapshot.creds.value_or(ProcessCreds{});
  creds.uid = creds.euid = subject.uid;
  creds.gid = creds.egid = subject.gid;
  creds.groups = subject.groups;
  creds.cap_effective = creds.cap_permitted = subject.effective_caps;
  creds.cap_inheritable = creds.cap_ambient = 0;
  as_subject.creds = creds;
  as_subject.tracefs_id_open.reset();  // this process's open() says nothing about the subject
  for (auto& row : checks) {
    if (row.id == "caps.effective" || row.id == "tracefs.event_id") {
      auto again = run_checks(as_subject, {row.id}).front();
      again.title = with_subject(again.title, subject.name);
      again.reason = with_subject(again.reason, subject.name);
      again.evidence.emplace_back("subject", subject.name);
      // The fix names the subject, not the $USER of whoever runs ebpf_diag.
      if (row.id == "tracefs.event_id" && again.status == Status::fail) {
        if (auto blocked = tracefs_id_blocked(as_subject, subject, binary)) again.remedy = blocked->remedy;
      }
      row = std::move(again);
    } else if (row.id == "caps.binary" && binary.empty()) {
      row.reason += " (ebpf_diag's own binary; --binary names the one " + subject.name + " runs)";
    } else if (row.id == "caps.bounding" || row.id == "kernel.memlock") {
      row.reason += " (read from this process, not from " + subject.name + ")";
    }
  }
}

// The user name of this process (its effective uid) on the live host, else
// "uid N"; the subject label of its Prometheus series.
std::string process_user(const Snapshot& snapshot) {
  if (!snapshot.creds) return "unknown";
  const uid_t uid = snapshot.creds->euid;
  if (snapshot.live) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
      return found->pw_name;
    }
  }
  return "uid " + std::to_string(uid);
}

Report build_report(const DiagOptions& options, const SystemRoot& root, const Snapshot& snapshot,
                    const Target& target) {
  Report report;
  report.tool_version = BPFREADY_VERSION;
  report.hostname = hostname_of(root);
  report.kernel_release = snapshot.kernel_release;
  report.live = snapshot.live;
  const bool for_user = !options.user.empty();
  report.subject = for_user ? target.subject.name : process_user(snapshot);
  report.binary = for_user ? options.binary : "";
  report.checks = run_checks(snapshot, options.check_ids);
  const bool user_row_selected =
      options.check_ids.empty() ||
      std::find(options.check_ids.begin(), options.check_ids.end(), kUserSubjectCheck) != options.check_ids.end();
  if (target.user_row) describe_subject(report.checks, snapshot, target.subject, options.binary);
  if (target.user_row && user_row_selected) report.checks.insert(report.checks.begin(), *target.user_row);
  report.required_verdicts = options.required;
  report.selected_checks_only = !options.check_ids.empty();
  if (!report.selected_checks_only) {
    report.verdicts = derive_verdicts(snapshot, target.subject, fix_context(options, snapshot));
    if (target.user_row) block_verdicts_on_exec(report.verdicts, *target.user_row);
  }
  return report;
}

std::string json_document(const Report& report) {
  // render_json already made every string valid UTF-8; replace is the backstop.
  return render_json(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// The exit status the format reports: npd and nfd also call a host whose
// kernel release could not be read undecided (fleet.h).
int format_exit_code(OutputFormat format, const Report& report) {
  const bool fleet = format == OutputFormat::npd || format == OutputFormat::nfd;
  return fleet ? fleet_exit_code(report) : exit_code(report);
}

void print_report(const DiagOptions& options, const Report& report, const Snapshot& snapshot, std::ostream& out,
                  bool out_is_terminal) {
  switch (options.format) {
    case OutputFormat::json: out << json_document(report); return;
    case OutputFormat::prometheus: out << render_prometheus(report); return;
    case OutputFormat::npd: out << render_npd(report) << "\n"; return;
    case OutputFormat::nfd: out << render_nfd(report); return;
    case OutputFormat::text: break;
  }
  const bool colour = options.color == "always" ||
                      (options.color == "auto" && out_is_terminal && std::getenv("NO_COLOR") == nullptr);
  out << render_text(report, colour, options.verbose);
  if (!options.verbose) return;
  for (const auto flavour : kAllProbeFlavours) {
    const auto& probe = snapshot.probe(flavour);
    if (probe && !probe->libbpf_log.empty()) {
      out << "\nlibbpf log (" << to_string(flavour) << "):\n";
      for (const auto& line : split(probe->libbpf_log, "\n")) out << terminal_text(line) << "\n";
    }
  }
}

// --textfile and --status-file: each error is one line on ERR; returns the
// first one's message, empty when every file was written.
std::string write_files(const DiagOptions& options, const Report& report, std::ostream& err) {
  std::string failure;
  const auto note = [&](const SysError& error) {
    err << "ebpf_diag: " << terminal_text(error.message) << "\n";
    if (failure.empty()) failure = error.message;
  };
  if (!options.textfile.empty()) {
    if (auto written = write_textfile(options.textfile, report.subject, render_prometheus(report)); !written) {
      note(written.error());
    }
  }
  if (!options.status_file.empty()) {
    if (auto written = write_status_file(options.status_file, json_document(report)); !written) note(written.error());
  }
  return failure;
}

// MESSAGE as one line on ERR, exit status 2; --format npd also says it on
// OUT, the message node-problem-detector shows.
int usage_error(const DiagOptions& options, const std::string& message, std::ostream& out, std::ostream& err) {
  err << "ebpf_diag: " << terminal_text(message) << "\n";
  if (options.format == OutputFormat::npd && !options.quiet) out << npd_error_line(message) << "\n";
  return kExitUsage;
}

}  // namespace

CheckResult user_subject_row(const Subject& subject, const std::string& binary, const Snapshot& snapshot) {
  CheckResult row;
  row.id = kUserSubjectCheck;
  row.title = "User the verdicts are for";
  row.group = "user";
  std::string groups;
  for (const auto gid : subject.groups) groups += (groups.empty() ? "" : ",") + std::to_string(gid);
  const auto binary_caps = snapshot.binary_file_caps();
  row.evidence = {{"user", subject.name},
                  {"uid", std::to_string(subject.uid)},
                  {"gid", std::to_string(subject.gid)},
                  {"groups", groups},
                  {"capabilities", caps_to_text(subject.effective_caps)},
                  {"binary", binary.empty() ? "none" : binary},
                  {"binary_caps", !binary.empty() && binary_caps ? binary_caps->text : "none"}};
  row.status = Status::pass;
  row.reason =
      subject.name + " (uid " + std::to_string(subject.uid) + ") with " + caps_to_text(subject.effective_caps);
  if (binary.empty()) return row;
  const SystemRoot live;
  const auto meta = live.stat(binary);
  if (!meta) {
    row.status = Status::error;
    row.reason = meta.error().message;
  } else if (!may_execute(*meta, subject)) {
    row.status = Status::fail;
    row.reason = subject.name + " may not execute " + binary + " (mode " + mode_text(meta->mode) + ", uid " +
                 std::to_string(meta->uid) + ", gid " + std::to_string(meta->gid) + ")";
    row.remedy = shell_command({"sudo", "tracefs-setup", "apply", "--user", subject.name, "--binary", binary});
  } else {
    row.reason += " running " + binary;
  }
  return row;
}

void block_verdicts_on_exec(std::vector<Verdict>& verdicts, const CheckResult& user_row) {
  if (user_row.status == Status::pass) return;
  for (auto& verdict : verdicts) {
    verdict.ready = false;
    verdict.prediction.ok = false;
    verdict.prediction.stage = ProbeStage::exec;
    verdict.prediction.errnum = EACCES;
    verdict.reason = user_row.reason;
    verdict.remedy = user_row.remedy;
  }
}

int run_ebpf_diag(const DiagOptions& options, std::ostream& out, std::ostream& err, bool out_is_terminal) {
  if (options.list_checks) {
    print_check_table(out);
    return 0;
  }
  const SystemRoot root(options.root_dir);
  const bool for_user = !options.user.empty();
  if (for_user && !root.is_live()) {
    return usage_error(options, "--user works on the live host only, not with --root", out, err);
  }
  const bool run_probes = probes_wanted(options);
  ProbeParking parking;
  auto snapshot = collect_snapshot(root, {.run_probes = run_probes && !for_user,
                                          .binary_path = options.binary,
                                          .parking = options.release_in_background ? &parking : nullptr});
  Target target{subject_from_snapshot(snapshot), std::nullopt};
  if (for_user) {
    auto resolved = resolve_user(options, snapshot, run_probes);
    if (!resolved) return usage_error(options, resolved.error().message, out, err);
    target = std::move(*resolved);
  }
  const Report report = build_report(options, root, snapshot, target);
  int code = format_exit_code(options.format, report);
  const std::string failure = write_files(options, report, err);
  if (!failure.empty()) code = kExitUsage;
  if (options.textfile.empty() && !options.quiet) {
    if (failure.empty() || options.format != OutputFormat::npd) {
      print_report(options, report, snapshot, out, out_is_terminal);
    } else {
      out << npd_error_line(failure) << "\n";  // the plugin's message says why it is unknown
    }
  }
  out.flush();
  err.flush();
  // The report is out; the kernel's slow release of the perf-event link
  // happens in a child process (docs/ebpf_diag.md, Cost).
  release_parked_in_background(parking);
  return code;
}

}  // namespace bpfready
