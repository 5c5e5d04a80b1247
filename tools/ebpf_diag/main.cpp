// ebpf_diag: proves whether eBPF profiling works on this host, for whom, and
// what the smallest fix is. It never changes the system.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "libcheck/checks.h"
#include "libcheck/parse.h"
#include "libcheck/report.h"
#include "libcheck/snapshot.h"
#include "libcheck/user_probe.h"

namespace {

constexpr int kExitUsage = 2;

std::string hostname_of(const bpfready::SystemRoot& root) {
  if (auto name = root.read("/proc/sys/kernel/hostname")) return std::string(bpfready::trim(*name));
  return "unknown";
}

// The row that says who the verdicts are for, and whether they may run BINARY.
bpfready::CheckResult user_subject_row(const bpfready::Subject& subject, const std::string& binary,
                                       const bpfready::Snapshot& snapshot) {
  bpfready::CheckResult row;
  row.id = "user.subject";
  row.title = "User the verdicts are for";
  row.group = "user";
  std::string groups;
  for (const auto gid : subject.groups) groups += (groups.empty() ? "" : ",") + std::to_string(gid);
  row.evidence = {{"user", subject.name},
                  {"uid", std::to_string(subject.uid)},
                  {"gid", std::to_string(subject.gid)},
                  {"groups", groups},
                  {"capabilities", bpfready::caps_to_text(subject.effective_caps)},
                  {"binary", binary.empty() ? "none" : binary},
                  {"binary_caps", !binary.empty() && snapshot.binary_caps ? snapshot.binary_caps->text : "none"}};
  row.status = bpfready::Status::pass;
  row.reason = subject.name + " (uid " + std::to_string(subject.uid) + ") with " +
               bpfready::caps_to_text(subject.effective_caps);
  if (!binary.empty()) {
    bpfready::SystemRoot live;
    auto meta = live.stat(binary);
    if (!meta) {
      row.status = bpfready::Status::error;
      row.reason = meta.error().message;
    } else if (!bpfready::may_execute(*meta, subject)) {
      row.status = bpfready::Status::fail;
      row.reason = subject.name + " may not execute " + binary + " (mode " + bpfready::mode_text(meta->mode) + ", uid " +
                   std::to_string(meta->uid) + ", gid " + std::to_string(meta->gid) + ")";
      row.remedy = "sudo tracefs-setup apply --user " + subject.name + " --binary " + binary;
    } else {
      row.reason += " running " + binary;
    }
  }
  return row;
}

int run(int argc, char** argv) {
  CLI::App app{
      "ebpf_diag: proves whether eBPF profiling works on this host.\n\n"
      "Reads kernel version and config, BTF, sysctls, capabilities, tracefs/debugfs and lockdown, then loads\n"
      "a minimal BPF program through a raw tracepoint and through a tracefs tracepoint, makes a known number\n"
      "of syscalls and reads the count back. It reports which tool classes work for this process, the\n"
      "smallest fix when one does not, and settings that weaken the host. It never changes the system.\n\n"
      "Exit status: 0 ready, 1 not ready, 2 usage error, internal error, or a prediction contradicted by\n"
      "its probe.\n\n"
      "Examples:\n"
      "  ebpf_diag                      text report (run it as the user who will profile)\n"
      "  ebpf_diag --json               one JSON document (docs/ebpf_diag-json.md)\n"
      "  ebpf_diag --prometheus > /var/lib/node_exporter/textfile/bpfready.prom\n"
      "  ebpf_diag --quiet && echo ready\n"
      "  ebpf_diag --check probe.raw_tp --check tracefs.event_id\n"
      "  sudo ebpf_diag --user alice --binary /usr/local/bin/syscount\n"
      "                                 predict for alice running that binary, and prove it as alice\n",
      "ebpf_diag"};
  app.set_version_flag("--version", std::string("ebpf_diag ") + BPFREADY_VERSION);

  bool json = false;
  bool prometheus = false;
  bool quiet = false;
  bool verbose = false;
  bool list_checks = false;
  bool no_probe = false;
  std::vector<std::string> check_ids;
  std::vector<std::string> required = {"raw_tp"};
  std::string root_dir = "/";
  std::string color = "auto";
  std::string user;
  std::string binary;

  auto* json_opt = app.add_flag("--json", json, "Print one JSON document (schema: docs/ebpf_diag-json.md)");
  auto* prom_opt = app.add_flag("--prometheus", prometheus,
                                "Print Prometheus text exposition (for node_exporter's textfile collector)");
  json_opt->excludes(prom_opt);
  app.add_flag("-q,--quiet", quiet, "Print nothing; the exit status is the verdict");
  app.add_flag("-v,--verbose", verbose, "Show the evidence of every check and libbpf's own messages");
  app.add_flag("--list-checks", list_checks, "List the check ids with what each reads, and exit");
  app.add_option("--check", check_ids, "Run only this check (repeatable); the exit status is 1 if any fails")
      ->type_name("ID");
  app.add_flag("--no-probe", no_probe, "Do not load any BPF program; verdicts are predictions only");
  app.add_option("--require", required,
                 "Tool classes that must be ready for exit status 0: raw_tp (syscount and other raw-tracepoint "
                 "tools), perf_tp (tools attaching through tracefs)")
      ->delimiter(',')
      ->check(CLI::IsMember({"raw_tp", "perf_tp"}))
      ->default_str("raw_tp");
  app.add_option("--root", root_dir, "Read the host from this directory instead of / (fixture trees; no probes run)")
      ->check(CLI::ExistingDirectory);
  auto* user_opt = app.add_option("--user", user,
                                  "Report readiness for this user (name or uid) instead of this process; as root, "
                                  "also prove it by running the probes as that user with exactly the capabilities "
                                  "--binary would give them");
  app.add_option("--binary", binary, "With --user: the binary the user will run (its file capabilities and mode count)")
      ->check(CLI::ExistingFile)
      ->needs(user_opt);
  app.add_option("--color", color, "Colour in the text report")->check(CLI::IsMember({"auto", "always", "never"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "ebpf_diag: " << e.what() << " (see --help)\n";
    return kExitUsage;
  }

  if (list_checks) {
    for (const auto& def : bpfready::check_table()) {
      std::printf("%-34s %-14s %s\n", std::string(def.id).c_str(), std::string(def.group).c_str(),
                  std::string(def.needs).c_str());
    }
    return 0;
  }
  for (const auto& id : check_ids) {
    if (bpfready::find_check(id) == nullptr) {
      std::cerr << "ebpf_diag: unknown check '" << id << "' (see --list-checks)\n";
      return kExitUsage;
    }
  }

  const bpfready::SystemRoot root(root_dir);
  bool probes_wanted = !no_probe;
  if (!check_ids.empty()) {
    probes_wanted = probes_wanted && std::any_of(check_ids.begin(), check_ids.end(),
                                                 [](const std::string& id) { return id.starts_with("probe."); });
  }
  if (!user.empty() && !root.is_live()) {
    std::cerr << "ebpf_diag: --user works on the live host only, not with --root\n";
    return kExitUsage;
  }
  const bool for_user = !user.empty();
  auto snapshot = bpfready::collect_snapshot(
      root, {.run_probes = probes_wanted && !for_user, .binary_path = binary});
  bpfready::Subject subject = bpfready::subject_from_snapshot(snapshot);
  std::optional<bpfready::CheckResult> user_row;
  if (for_user) {
    // Without --binary the user runs no capability-carrying program.
    const auto binary_caps = binary.empty() ? std::nullopt : snapshot.binary_caps;
    auto found = bpfready::subject_for_user(user, binary_caps,
                                            snapshot.creds ? snapshot.creds->cap_bounding : 0);
    if (!found) {
      std::cerr << "ebpf_diag: " << found.error().message << "\n";
      return kExitUsage;
    }
    subject = *found;
    user_row = user_subject_row(subject, binary, snapshot);
    const bool can_exec = user_row->status == bpfready::Status::pass;
    if (probes_wanted && can_exec) {
      if (::geteuid() != 0) {
        user_row->reason += "; not root, so the probes cannot run as " + subject.name + " (prediction only)";
      } else {
        auto outcomes = bpfready::run_probes_as(subject, {.tracefs_dir = snapshot.tracefs_dir(), .trigger_calls = 1000});
        if (!outcomes) {
          std::cerr << "ebpf_diag: " << outcomes.error().message << "\n";
          return kExitUsage;
        }
        for (auto& outcome : *outcomes) {
          (outcome.flavour == bpfready::ProbeFlavour::raw_tp ? snapshot.probe_raw_tp : snapshot.probe_perf_tp) = outcome;
        }
      }
    }
  }

  bpfready::Report report;
  report.tool_version = BPFREADY_VERSION;
  report.hostname = hostname_of(root);
  report.kernel_release = snapshot.kernel_release;
  report.live = snapshot.live;
  report.checks = bpfready::run_checks(snapshot, check_ids);
  if (user_row) report.checks.insert(report.checks.begin(), *user_row);
  report.required_verdicts = required;
  int code = 0;
  if (check_ids.empty()) {
    report.verdicts = bpfready::derive_verdicts(snapshot, subject, for_user ? binary : snapshot.binary_path);
    if (user_row && user_row->status != bpfready::Status::pass) {
      for (auto& verdict : report.verdicts) {  // the tool cannot even start
        verdict.ready = false;
        verdict.prediction.ok = false;
        verdict.prediction.stage = bpfready::ProbeStage::exec;
        verdict.prediction.errnum = EACCES;
        verdict.reason = user_row->reason;
        verdict.remedy = user_row->remedy;
      }
    }
    code = bpfready::exit_code(report);
  } else {
    for (const auto& c : report.checks) {
      if (c.status == bpfready::Status::fail || c.status == bpfready::Status::error) code = 1;
    }
  }

  if (quiet) return code;
  if (json) {
    auto doc = bpfready::render_json(report);
    doc["exit_code"] = code;
    doc["ready"] = code == 0;
    std::cout << doc.dump(2) << "\n";
  } else if (prometheus) {
    std::cout << bpfready::render_prometheus(report);
  } else {
    const bool colour = color == "always" || (color == "auto" && ::isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr);
    std::cout << bpfready::render_text(report, colour, verbose);
    if (verbose) {
      for (const auto* probe : {&snapshot.probe_raw_tp, &snapshot.probe_perf_tp}) {
        if (*probe && !(*probe)->libbpf_log.empty()) {
          std::cout << "\nlibbpf log (" << bpfready::to_string((*probe)->flavour) << "):\n" << (*probe)->libbpf_log;
        }
      }
    }
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ebpf_diag: internal error: " << e.what() << "\n";
    return kExitUsage;
  }
}
