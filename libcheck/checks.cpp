#include "libcheck/checks.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "libcheck/common/procfs.h"
#include "libcheck/common/text.h"
#include "libcheck/config_options.h"
#include "libcheck/kernel_floors.h"

namespace bpfready {

std::string_view to_string(Status status) {
  switch (status) {
    case Status::pass: return "pass";
    case Status::info: return "info";
    case Status::warn: return "warn";
    case Status::fail: return "fail";
    case Status::skip: return "skip";
    case Status::error: return "error";
  }
  return "error";
}

namespace {

std::string show(const std::optional<long>& value) { return value ? std::to_string(*value) : "unreadable"; }

CheckResult result(Status status, std::string reason, std::string remedy = {}) {
  CheckResult r;
  r.status = status;
  r.reason = std::move(reason);
  r.remedy = std::move(remedy);
  return r;
}

// An error saying why PATH was refused (Snapshot::read_errors), else FALLBACK.
CheckResult unless_refused(const Snapshot& s, std::string_view path, CheckResult fallback) {
  if (const auto* refused = s.read_error(path)) return result(Status::error, *refused);
  return fallback;
}

// A sysctl without a value: an error when its file was refused, else unknown.
CheckResult sysctl_unreadable(const Snapshot& s, const std::string& key, std::string_view hint = {}) {
  return unless_refused(s, sysctl_path(key), result(Status::skip, key + " is not readable" + std::string(hint)));
}

// ---- kernel ---------------------------------------------------------------

CheckResult check_kernel_release(const Snapshot& s) {
  if (s.kernel_release.empty()) {
    const std::string path = "/proc/sys/kernel/osrelease";
    return unless_refused(s, path, result(Status::error, "cannot read " + path));
  }
  CheckResult r;
  if (!s.kernel) {
    r = result(Status::warn, "cannot parse the kernel release; version floors are not checked");
  } else if (*s.kernel < floors::kRawTracepoint) {
    r = result(Status::fail, "kernel " + s.kernel->str() + " predates raw tracepoints (4.17)",
               "boot a kernel of version 5.8 or newer");
  } else if (*s.kernel < floors::kCapBpf) {
    r = result(Status::warn, "kernel " + s.kernel->str() + " has no CAP_BPF (5.8+): non-root profiling needs CAP_SYS_ADMIN",
               "boot a kernel of version 5.8 or newer for least-privilege profiling");
  } else {
    r = result(Status::pass, "kernel " + s.kernel->str() + " has CAP_BPF and CAP_PERFMON (5.8+)");
  }
  r.evidence = {{"release", s.kernel_release}};
  return r;
}

CheckResult check_memlock(const Snapshot& s) {
  const std::string limit = s.memlock_limit_bytes ? std::to_string(*s.memlock_limit_bytes) + " bytes" : "unlimited";
  CheckResult r;
  if (const auto* refused = s.read_error("/proc/self/limits")) {
    r = result(Status::error, *refused);
  } else if (!s.kernel) {
    r = result(Status::skip, "kernel version unknown");
  } else if (*s.kernel >= floors::kMemcgCharge) {
    r = result(Status::pass, "BPF memory is charged to the memory cgroup (5.11+); RLIMIT_MEMLOCK does not matter");
  } else if (!s.memlock_limit_bytes || *s.memlock_limit_bytes >= 64L * 1024 * 1024) {
    r = result(Status::pass, "kernel before 5.11 charges BPF memory to RLIMIT_MEMLOCK, which is " + limit);
  } else {
    r = result(Status::warn,
               "kernel before 5.11 charges BPF memory to RLIMIT_MEMLOCK, which is only " + limit +
                   "; larger maps will fail with EPERM",
               "raise it for the tool: prlimit --memlock=unlimited -- COMMAND, or LimitMEMLOCK=infinity in its unit");
  }
  r.evidence = {{"RLIMIT_MEMLOCK", limit}};
  return r;
}

CheckResult check_config_source(const Snapshot& s) {
  std::vector<std::pair<std::string, std::string>> refusals;  // e.g. a gzip bomb
  for (const auto& path : s.kernel_config_searched) {
    if (const auto* why = s.read_error(path)) refusals.emplace_back(path, *why);
  }
  CheckResult r;
  if (s.kernel_config) {
    r = refusals.empty() ? result(Status::pass, "kernel config read from " + s.kernel_config_source)
                         : result(Status::error, refusals.front().second + "; read " + s.kernel_config_source + " instead");
    r.evidence = {{"source", s.kernel_config_source}};
  } else {
    r = !refusals.empty() ? result(Status::error, refusals.front().second + "; no other kernel config found")
                          : result(Status::warn,
                                   "no kernel config found; options are unknown (not unsupported), the probes decide",
                                   "optional: sudo modprobe configs (provides /proc/config.gz where built as a module)");
    r.evidence = {{"searched", join(s.kernel_config_searched)}};
  }
  r.evidence.insert(r.evidence.end(), refusals.begin(), refusals.end());
  return r;
}

using config_options::OptionDef;
using config_options::OptionRole;

CheckResult check_option(const Snapshot& s, const OptionDef& def) {
  const std::string option(def.option);
  CheckResult r;
  const auto enabled = s.config_enabled(option);
  if (!enabled.has_value()) {
    r = result(Status::skip, "unknown: no kernel config was found");
  } else if (*enabled) {
    r = result(Status::pass, std::string(def.when_set));
  } else {
    const Status status = def.role == OptionRole::required ? Status::fail
                          : def.role == OptionRole::required_perf_tp || def.role == OptionRole::recommended
                              ? Status::warn
                              : Status::info;
    r = result(status, std::string(def.when_unset));
    if (status != Status::info) r.remedy = "boot a kernel built with " + option + "=y";
  }
  std::string value = "unknown";
  if (s.kernel_config) {
    const auto it = s.kernel_config->find(option);
    value = it == s.kernel_config->end() ? "absent" : it->second;
  }
  r.evidence = {{option, value}};
  return r;
}

CheckResult check_btf(const Snapshot& s) {
  CheckResult r = s.btf_vmlinux
                      ? result(Status::pass, "kernel BTF is available at /sys/kernel/btf/vmlinux")
                      : result(Status::warn,
                               "no /sys/kernel/btf/vmlinux: typed (tp_btf) and CO-RE programs cannot load; syscount uses its "
                               "raw_tp fallback",
                               "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  r.evidence = {{"/sys/kernel/btf/vmlinux", s.btf_vmlinux ? "present" : "absent"}};
  return r;
}

// ---- sysctls ----------------------------------------------------------------

CheckResult check_unprivileged_bpf(const Snapshot& s) {
  const auto value = s.sysctl("kernel.unprivileged_bpf_disabled");
  CheckResult r;
  if (!value) {
    r = sysctl_unreadable(s, "kernel.unprivileged_bpf_disabled", " (old kernel or no BPF)");
  } else if (*value == 0) {
    r = result(Status::warn,
               "unprivileged BPF is enabled for every user; tools with CAP_BPF do not need it, and it widens the "
               "attack surface (speculative-execution and verifier bugs)",
               "sudo sysctl -w kernel.unprivileged_bpf_disabled=2 (and remove any sysctl.d file that sets 0)");
    r.security_finding = true;
  } else if (*value == 1) {
    r = result(Status::pass,
               "unprivileged BPF is disabled and locked until reboot (1 is sticky); irrelevant with CAP_BPF");
  } else {
    r = result(Status::pass, "unprivileged BPF is disabled (2, can be changed by root); irrelevant with CAP_BPF");
  }
  r.evidence = {{"kernel.unprivileged_bpf_disabled", show(value)}};
  return r;
}

CheckResult check_perf_paranoid(const Snapshot& s) {
  const auto value = s.sysctl("kernel.perf_event_paranoid");
  const auto restrict_patch = s.config_enabled("CONFIG_SECURITY_PERF_EVENTS_RESTRICT");
  CheckResult r;
  if (!value) {
    r = sysctl_unreadable(s, "kernel.perf_event_paranoid");
  } else if (*value > 2 && restrict_patch != false) {
    r = result(Status::warn,
               "perf_event_paranoid=" + std::to_string(*value) +
                   (restrict_patch ? " on a kernel with the perf-events restriction patch"
                                   : " (a Debian/Ubuntu kernel patch may apply)") +
                   ": perf_event_open needs CAP_SYS_ADMIN, so tracefs tracepoint tools fail; raw-tracepoint tools are unaffected",
               "only if a perf-event tool is needed: sudo sysctl -w kernel.perf_event_paranoid=2");
  } else if (*value < 0) {
    r = result(Status::warn,
               "perf_event_paranoid=" + std::to_string(*value) +
                   " lets every user trace the whole system and read raw tracepoint data",
               "sudo sysctl -w kernel.perf_event_paranoid=2 (give profilers CAP_PERFMON instead)");
    r.security_finding = true;
  } else {
    r = result(Status::pass, "perf_event_paranoid=" + std::to_string(*value) +
                                 ": with CAP_PERFMON, perf events and tracepoints are allowed");
  }
  r.evidence = {{"kernel.perf_event_paranoid", show(value)},
                {"CONFIG_SECURITY_PERF_EVENTS_RESTRICT",
                 restrict_patch.has_value() ? (*restrict_patch ? "y" : "n") : "unknown"}};
  return r;
}

CheckResult check_kptr_restrict(const Snapshot& s) {
  const auto value = s.sysctl("kernel.kptr_restrict");
  CheckResult r;
  if (!value) {
    r = sysctl_unreadable(s, "kernel.kptr_restrict");
  } else if (*value == 0) {
    r = result(Status::warn,
               "kptr_restrict=0 shows kernel addresses to every user; it does not affect loading or attaching BPF",
               "sudo sysctl -w kernel.kptr_restrict=1");
    r.security_finding = true;
  } else {
    r = result(Status::pass, "kptr_restrict=" + std::to_string(*value) + " (does not affect loading or attaching BPF)");
  }
  r.evidence = {{"kernel.kptr_restrict", show(value)}};
  return r;
}

CheckResult check_jit_enable(const Snapshot& s) {
  const auto value = s.sysctl("net.core.bpf_jit_enable");
  const auto always_on = s.config_enabled("CONFIG_BPF_JIT_ALWAYS_ON");
  CheckResult r;
  if (!value) {
    r = sysctl_unreadable(s, "net.core.bpf_jit_enable", " (no JIT built in?)");
  } else if (*value == 1) {
    r = result(Status::pass, "the BPF JIT is enabled");
  } else if (*value == 2) {
    r = result(Status::warn, "the BPF JIT is in debug mode (2): it writes JIT images to the kernel log",
               "sudo sysctl -w net.core.bpf_jit_enable=1");
    r.security_finding = true;
  } else if (always_on == true) {
    r = result(Status::fail, "the JIT is disabled but the interpreter is compiled out (CONFIG_BPF_JIT_ALWAYS_ON)",
               "sudo sysctl -w net.core.bpf_jit_enable=1");
  } else {
    r = result(Status::pass, "the JIT is disabled: programs run in the interpreter (slower, still correct)");
  }
  r.evidence = {{"net.core.bpf_jit_enable", show(value)}};
  return r;
}

CheckResult check_jit_harden(const Snapshot& s) {
  const auto value = s.sysctl("net.core.bpf_jit_harden");
  CheckResult r = value ? result(Status::pass, "bpf_jit_harden=" + std::to_string(*value) +
                                                    (*value == 0 ? " (no constant blinding)" : " (constant blinding on)"))
                        : sysctl_unreadable(s, "net.core.bpf_jit_harden");
  r.evidence = {{"net.core.bpf_jit_harden", show(value)}};
  return r;
}

CheckResult check_persisted_loosening(const Snapshot& s) {
  std::vector<std::string> findings;
  std::vector<std::pair<std::string, std::string>> evidence;
  for (const auto& entry : s.persisted_sysctls) {
    const auto value = parse_sysctl_int(entry.value);
    if (!value) continue;
    const bool loosens = (entry.key == "kernel.unprivileged_bpf_disabled" && *value == 0) ||
                         (entry.key == "kernel.kptr_restrict" && *value == 0) ||
                         (entry.key == "kernel.perf_event_paranoid" && *value < 0);
    evidence.emplace_back(entry.file, entry.key + " = " + entry.value);
    if (loosens) findings.push_back(entry.file + " sets " + entry.key + "=" + entry.value);
  }
  std::string refused;  // a sysctl file that could not be read
  for (const auto& [path, why] : s.read_errors) {
    if (path != "/etc/sysctl.conf" && path.find("/sysctl.d/") == std::string::npos) continue;
    if (refused.empty()) refused = why;
    evidence.emplace_back(path, why);
  }
  CheckResult r;
  if (!refused.empty()) {
    r = result(Status::error, refused + (findings.empty() ? "" : "; and " + findings.front()));
  } else if (findings.empty()) {
    r = result(Status::pass, "no sysctl file persists a loosened BPF or perf setting");
  } else {
    std::string reason = findings.front();
    if (findings.size() > 1) reason += " (and " + std::to_string(findings.size() - 1) + " more)";
    r = result(Status::warn, reason + ": the host is weakened at every boot",
               "remove the line from the file named, then: sudo sysctl --system");
  }
  r.security_finding = !findings.empty();
  r.evidence = std::move(evidence);
  return r;
}

// ---- capabilities -----------------------------------------------------------

// The error of a check that needs /proc/self/status when it is unreadable.
CheckResult status_unreadable(const Snapshot& s) {
  return unless_refused(s, "/proc/self/status", result(Status::error, "cannot read /proc/self/status"));
}

CheckResult check_caps_effective(const Snapshot& s) {
  if (!s.creds) return status_unreadable(s);
  const auto& c = *s.creds;
  const bool admin = has_cap(c.cap_effective, kCapSysAdmin);
  const bool bpf = has_cap(c.cap_effective, kCapBpf) || admin;
  const bool perfmon = has_cap(c.cap_effective, kCapPerfmon) || admin;
  CheckResult r;
  if (s.kernel && *s.kernel < floors::kCapBpf) {
    // CAP_BPF and CAP_PERFMON do not exist before 5.8.
    r = admin ? result(Status::pass, "CAP_SYS_ADMIN is effective (kernel " + s.kernel->str() + " has no CAP_BPF)")
              : result(Status::fail,
                       "missing CAP_SYS_ADMIN: kernel " + s.kernel->str() + " has no CAP_BPF (5.8+), so loading needs it",
                       "see the verdicts' fix for the profiling tool (ebpf_diag itself needs no capabilities; "
                       "a 5.8+ kernel needs far less than CAP_SYS_ADMIN)");
  } else if (bpf && perfmon) {
    r = result(Status::pass, admin ? "CAP_SYS_ADMIN is effective (covers CAP_BPF and CAP_PERFMON)"
                                   : "CAP_BPF and CAP_PERFMON are effective");
  } else {
    const std::string missing = !bpf && !perfmon ? "CAP_BPF and CAP_PERFMON" : !bpf ? "CAP_BPF" : "CAP_PERFMON";
    r = result(Status::fail, "missing " + missing + ": this process cannot load tracing programs",
               "see the verdicts' fix for the profiling tool (ebpf_diag itself needs no capabilities; run it "
               "with sudo to have the probes prove what root can do)");
  }
  r.evidence = {{"uid", std::to_string(c.uid)},
                {"euid", std::to_string(c.euid)},
                {"effective", caps_to_text(c.cap_effective)},
                {"permitted", caps_to_text(c.cap_permitted)},
                {"inheritable", caps_to_text(c.cap_inheritable)},
                {"ambient", caps_to_text(c.cap_ambient)}};
  return r;
}

CheckResult check_caps_bounding(const Snapshot& s) {
  if (!s.creds) return status_unreadable(s);
  const auto bounding = s.creds->cap_bounding;
  CheckResult r;
  if (s.kernel && *s.kernel < floors::kCapBpf) {
    r = has_cap(bounding, kCapSysAdmin)
            ? result(Status::pass, "CAP_SYS_ADMIN is in the bounding set (kernel " + s.kernel->str() + " has no CAP_BPF)")
            : result(Status::warn,
                     "CAP_SYS_ADMIN is missing from the bounding set: on this pre-5.8 kernel nothing inside this "
                     "container or session can load tracing programs",
                     "start the container or service with CAP_SYS_ADMIN allowed, or use a 5.8+ kernel");
    r.evidence = {{"bounding", caps_to_text(bounding)}};
    return r;
  }
  const bool ok = has_cap(bounding, kCapBpf) && has_cap(bounding, kCapPerfmon);
  r = ok ? result(Status::pass, "CAP_BPF and CAP_PERFMON are in the bounding set (file capabilities can grant them)")
                     : result(Status::warn,
                              "CAP_BPF or CAP_PERFMON is missing from the bounding set: no file capability or sudo "
                              "inside this container or session can grant it",
                              "start the container or service with CAP_BPF and CAP_PERFMON allowed "
                              "(e.g. docker run --cap-add BPF --cap-add PERFMON)");
  r.evidence = {{"bounding", caps_to_text(bounding)}};
  return r;
}

CheckResult check_binary_caps(const Snapshot& s) {
  if (s.binary_path.empty()) return result(Status::skip, "no binary to inspect (not a live host)");
  CheckResult r;
  const auto caps = s.binary_file_caps();
  if (!s.binary_caps) {
    r = result(Status::error, s.binary_caps.error().message);
  } else if (!caps) {
    r = result(Status::pass, "the binary has no file capabilities");
  } else {
    constexpr std::uint64_t needed = cap_bit(kCapBpf) | cap_bit(kCapPerfmon);
    const std::uint64_t extra = caps->permitted & ~needed;
    if (extra != 0) {
      r = result(Status::warn,
                 "the binary carries more than cap_bpf,cap_perfmon: " + caps_to_text(extra) +
                     " (anyone who may run it gains that)",
                 shell_command({"sudo", "setcap", "cap_bpf,cap_perfmon=ep", s.binary_path}));
      r.security_finding = true;
    } else {
      r = result(Status::pass, "the binary carries only what eBPF tracing needs");
    }
  }
  r.evidence = {{"binary", s.binary_path}, {"file_caps", caps ? caps->text : "none"}};
  return r;
}

// ---- tracefs and debugfs ----------------------------------------------------

CheckResult check_tracefs_mounted(const Snapshot& s) {
  if (!s.mounts) return result(Status::error, s.mounts.error().message);
  CheckResult r;
  if (s.tracefs) {
    r = result(Status::pass, "tracefs is mounted at " + s.tracefs->target);
    r.evidence = {{"target", s.tracefs->target}, {"options", s.tracefs->fs_options}};
  } else {
    r = result(Status::warn,
               "tracefs is not mounted: tracefs tracepoint tools cannot attach (raw-tracepoint tools do not need it)",
               "sudo mount -t tracefs nodev /sys/kernel/tracing");
    r.evidence = {{"target", "none"}};
  }
  return r;
}

CheckResult check_tracefs_mode(const Snapshot& s) {
  if (!s.tracefs) return result(Status::skip, "tracefs is not mounted");
  if (s.tracefs_id_chain.empty() || !s.tracefs_id_chain.front().meta) {
    return result(Status::error, "cannot stat the tracefs root: " + (s.tracefs_id_chain.empty()
                                                                         ? std::string("no path")
                                                                         : s.tracefs_id_chain.front().meta.error().message));
  }
  const auto& root = *s.tracefs_id_chain.front().meta;
  CheckResult r;
  if ((root.mode & (S_IROTH | S_IXOTH)) != 0) {
    r = result(Status::warn, "tracefs is open to every user (mode " + mode_text(root.mode) + "): anyone can read trace data",
               shell_command({"sudo", "chmod", "0700", s.tracefs->target}) + "  (grant a group instead: sudo tracefs-setup apply --tracefs-read)");
    r.security_finding = true;
  } else if (root.gid != 0 && (root.mode & S_IWGRP) != 0) {
    r = result(Status::warn,
               "tracefs is writable by group " + std::to_string(root.gid) +
                   " (mode " + mode_text(root.mode) + "): that group can add kprobes and change tracing, close to root",
               shell_command({"sudo", "chmod", "g-w", s.tracefs->target}) + "  (read-only group access: sudo tracefs-setup apply --tracefs-read)");
    r.security_finding = true;
  } else {
    r = result(Status::pass, "tracefs root is mode " + mode_text(root.mode) + " (not open to all, no group write)");
  }
  r.evidence = {{"path", s.tracefs->target},
                {"mode", mode_text(root.mode)},
                {"uid", std::to_string(root.uid)},
                {"gid", std::to_string(root.gid)}};
  return r;
}

CheckResult check_tracefs_event_id(const Snapshot& s) {
  if (!s.tracefs) return result(Status::skip, "tracefs is not mounted");
  CheckResult r;
  const std::string id_path = s.tracefs->target + "/events/raw_syscalls/sys_enter/id";
  if (s.tracefs_id_open.has_value()) {
    r = *s.tracefs_id_open ? result(Status::pass, "this process can read " + id_path)
                           : result(Status::fail, "this process cannot read " + id_path + ": " + s.tracefs_id_open->error().message,
                                        "sudo tracefs-setup apply --tracefs-read --user $USER  "
                                        "(or use a raw-tracepoint tool, which needs no tracefs)");
  } else {
    const auto blocked = tracefs_id_blocked(s, subject_from_snapshot(s), s.binary_path);
    r = blocked ? result(Status::fail, blocked->reason, blocked->remedy)
                : result(Status::pass, "the modes along " + id_path + " let this process read it");
  }
  for (const auto& fact : s.tracefs_id_chain) {
    r.evidence.emplace_back(fact.path, fact.meta ? mode_text(fact.meta->mode) + " " + std::to_string(fact.meta->uid) + ":" +
                                                       std::to_string(fact.meta->gid)
                                                 : fact.meta.error().message);
  }
  return r;
}

CheckResult check_debugfs(const Snapshot& s) {
  if (!s.debugfs) return result(Status::pass, "debugfs is not mounted (bpfready does not need it)");
  CheckResult r;
  if (!s.debugfs_meta) {
    r = result(Status::skip, "cannot stat " + s.debugfs->target);
  } else if ((s.debugfs_meta->mode & (S_IROTH | S_IXOTH)) != 0) {
    r = result(Status::warn,
               "debugfs is open to every user (mode " + mode_text(s.debugfs_meta->mode) +
                   "): it exposes kernel internals; eBPF tools do not need it",
               shell_command({"sudo", "mount", "-o", "remount,mode=0700", s.debugfs->target}));
    r.security_finding = true;
  } else {
    r = result(Status::pass, "debugfs is mounted with mode " + mode_text(s.debugfs_meta->mode) + " (not open to all)");
  }
  r.evidence = {{"target", s.debugfs->target}, {"mode", s.debugfs_meta ? mode_text(s.debugfs_meta->mode) : "unknown"}};
  return r;
}

CheckResult check_lockdown(const Snapshot& s) {
  CheckResult r;
  if (const auto* refused = s.read_error("/sys/kernel/security/lockdown")) {
    r = result(Status::error, *refused);
    r.evidence = {{"lockdown", "unknown"}};
    return r;
  }
  if (!s.lockdown) {
    r = result(Status::skip, s.securityfs_mounted ? "lockdown state unknown: /sys/kernel/security/lockdown is absent"
                                                   : "lockdown state unknown: securityfs is not mounted");
    r.evidence = {{"lockdown", "unknown"}};
    return r;
  }
  if (*s.lockdown == LockdownMode::confidentiality) {
    r = result(Status::warn,
               "lockdown=confidentiality: tracefs files cannot be opened, so tracefs tracepoint tools fail, and "
               "BPF helpers that read kernel memory (bpf_probe_read_kernel) are refused, so tools that use them "
               "fail to load; syscount needs neither");
  } else {
    r = result(Status::pass, "lockdown=" + std::string(to_string(*s.lockdown)) + " does not restrict tracing programs");
  }
  r.evidence = {{"lockdown", std::string(to_string(*s.lockdown))}};
  return r;
}

// ---- end-to-end probes ------------------------------------------------------

CheckResult check_probe(const Snapshot& s, ProbeFlavour flavour) {
  const auto& outcome = s.probe(flavour);
  if (!outcome) {
    if (!s.live) return result(Status::skip, "probes run only on the live host");
    return result(Status::skip, s.probes_skipped.empty() ? "probes were not run (--no-probe)"
                                                         : "probes were not run: " + s.probes_skipped);
  }
  CheckResult r;
  if (outcome->ok) {
    r = result(Status::pass, outcome->detail);
  } else {
    const auto prediction = predict(s, subject_from_snapshot(s), flavour, s.binary_path);
    r = result(Status::fail, std::string(to_string(outcome->stage)) + ": " + explain_probe_failure(*outcome, s),
               prediction.remedy);
  }
  r.evidence = {{"stage", std::string(to_string(outcome->stage))},
                {"errno", outcome->errnum != 0 ? std::string(strerrorname_np(outcome->errnum) ? strerrorname_np(outcome->errnum) : "?") : "0"},
                {"expected", std::to_string(outcome->expected)},
                {"counted", std::to_string(outcome->counted)},
                {"detail", outcome->detail}};
  return r;
}

std::vector<CheckDef> build_table() {
  std::vector<CheckDef> table = {
      {"kernel.release", "Kernel version", "kernel", "/proc/sys/kernel/osrelease", check_kernel_release},
      {"kernel.memlock", "Locked-memory limit", "kernel", "kernel version, /proc/self/limits", check_memlock},
      {"config.source", "Kernel config found", "config",
       "/proc/config.gz, /boot/config-R, /lib/modules/R/config, ...", check_config_source},
  };
  for (const auto& option : config_options::kOptions) {
    table.push_back({option.id, option.option, "config", "the kernel config",
                     [&option](const Snapshot& s) { return check_option(s, option); }});
  }
  const std::vector<CheckDef> rest = {
      {"btf.vmlinux", "Kernel BTF", "kernel", "/sys/kernel/btf/vmlinux", check_btf},
      {"sysctl.unprivileged_bpf_disabled", "Unprivileged BPF", "sysctl", "/proc/sys/kernel/unprivileged_bpf_disabled",
       check_unprivileged_bpf},
      {"sysctl.perf_event_paranoid", "perf_event_paranoid", "sysctl",
       "/proc/sys/kernel/perf_event_paranoid, the kernel config", check_perf_paranoid},
      {"sysctl.kptr_restrict", "kptr_restrict", "sysctl", "/proc/sys/kernel/kptr_restrict", check_kptr_restrict},
      {"sysctl.bpf_jit_enable", "BPF JIT", "sysctl", "/proc/sys/net/core/bpf_jit_enable, the kernel config",
       check_jit_enable},
      {"sysctl.bpf_jit_harden", "BPF JIT hardening", "sysctl", "/proc/sys/net/core/bpf_jit_harden", check_jit_harden},
      {"sysctl.persisted", "Persisted sysctl settings", "sysctl", "/etc/sysctl.conf, sysctl.d directories",
       check_persisted_loosening},
      {"caps.effective", "Capabilities of this process", "capabilities", "/proc/self/status", check_caps_effective},
      {"caps.bounding", "Capability bounding set", "capabilities", "/proc/self/status", check_caps_bounding},
      {"caps.binary", "File capabilities of the binary", "capabilities", "the binary's security.capability xattr",
       check_binary_caps},
      {"tracefs.mounted", "tracefs mounted", "tracefs", "/proc/self/mountinfo", check_tracefs_mounted},
      {"tracefs.mode", "tracefs permissions", "tracefs", "tracefs root owner and mode", check_tracefs_mode},
      {"tracefs.event_id", "tracefs event id readable", "tracefs", "events/raw_syscalls/sys_enter/id and its parents",
       check_tracefs_event_id},
      {"debugfs.mode", "debugfs permissions", "tracefs", "/proc/self/mountinfo, debugfs mode", check_debugfs},
      {"lockdown.mode", "Kernel lockdown", "kernel", "/sys/kernel/security/lockdown", check_lockdown},
      {"probe.tp_btf", "Probe: typed raw tracepoint sys_enter", "probe",
       "bpf(), CAP_BPF, CAP_PERFMON, kernel BTF, bpf_get_current_task_btf()",
       [](const Snapshot& s) { return check_probe(s, ProbeFlavour::tp_btf); }},
      {"probe.raw_tp", "Probe: raw tracepoint sys_enter", "probe", "bpf(), CAP_BPF, CAP_PERFMON",
       [](const Snapshot& s) { return check_probe(s, ProbeFlavour::raw_tp); }},
      {"probe.perf_tp", "Probe: tracefs tracepoint task/task_rename", "probe",
       "bpf(), tracefs event ids (raw_syscalls/sys_enter, task/task_rename), perf_event_open", [](const Snapshot& s) { return check_probe(s, ProbeFlavour::perf_tp); }},
  };
  table.insert(table.end(), rest.begin(), rest.end());
  return table;
}

}  // namespace

const std::vector<CheckDef>& check_table() {
  static const std::vector<CheckDef> table = build_table();
  return table;
}

const CheckDef* find_check(std::string_view id) {
  const auto& table = check_table();
  const auto it = std::find_if(table.begin(), table.end(), [&](const CheckDef& def) { return def.id == id; });
  return it == table.end() ? nullptr : &*it;
}

std::vector<CheckResult> run_checks(const Snapshot& snapshot, const std::vector<std::string>& ids) {
  std::vector<CheckResult> results;
  for (const auto& def : check_table()) {
    if (!ids.empty() && std::find(ids.begin(), ids.end(), def.id) == ids.end()) continue;
    CheckResult r;
    try {
      r = def.evaluate(snapshot);
    } catch (const std::exception& e) {
      r = result(Status::error, std::string("internal error: ") + e.what());
    }
    r.id = def.id;
    r.title = def.title;
    r.group = def.group;
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace bpfready
