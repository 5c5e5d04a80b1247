#include "libcheck/access.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "libcheck/caps.h"
#include "libcheck/common/text.h"
#include "libcheck/kernel_floors.h"

namespace bpfready {

bool Subject::in_group(gid_t group) const {
  return group == gid || std::find(groups.begin(), groups.end(), group) != groups.end();
}

Subject subject_from_snapshot(const Snapshot& snapshot) {
  Subject subject;
  subject.name = "this process";
  subject.this_process = true;
  subject.known = snapshot.creds.has_value();
  if (!subject.known) {
    // Model an unprivileged stranger, and say the prediction is uncertain.
    subject.uid = 65534;
    subject.gid = 65534;
  } else {
    subject.uid = snapshot.creds->euid;
    subject.gid = snapshot.creds->egid;
    subject.groups = snapshot.creds->groups;
    subject.effective_caps = snapshot.creds->cap_effective;
  }
  return subject;
}

namespace {

// Classic DAC: the owner class decides if the owner matches, else the group
// class if any group matches, else "other". Capabilities come first.
bool dac_allows(const FileMeta& meta, const Subject& subject, mode_t owner_bit) {
  const mode_t group_bit = owner_bit >> 3;
  const mode_t other_bit = owner_bit >> 6;
  if (meta.uid == subject.uid) return (meta.mode & owner_bit) != 0;
  if (subject.in_group(meta.gid)) return (meta.mode & group_bit) != 0;
  return (meta.mode & other_bit) != 0;
}

// An unknown kernel is assumed new enough; the prediction is then uncertain.
bool kernel_at_least(const Snapshot& snap, const KernelVersion& floor) {
  return !snap.kernel || *snap.kernel >= floor;
}

// Red Hat's kernels ("4.18.0-553.el8_10.x86_64") carry BPF features back to
// old version numbers, so a version floor there is a guess, not a fact.
bool backports_features(const Snapshot& snap) {
  const auto at = snap.kernel_release.find(".el");
  return at != std::string::npos && at + 3 < snap.kernel_release.size() &&
         std::isdigit(static_cast<unsigned char>(snap.kernel_release[at + 3])) != 0;
}

Prediction fail_at(Prediction p, ProbeStage stage, int errnum, std::string reason, std::string remedy,
                   Obstacle obstacle = Obstacle::kernel) {
  p.ok = false;
  p.obstacle = obstacle;
  p.stage = stage;
  p.errnum = errnum;
  p.reason = std::move(reason);
  p.remedy = std::move(remedy);
  return p;
}

// A version floor that is not met: certain, except on kernels that backport
// features, where it is a guess and says so.
Prediction floor_failure(const Snapshot& snap, Prediction p, int errnum, std::string reason, std::string remedy,
                         Obstacle obstacle = Obstacle::kernel) {
  if (backports_features(snap)) {
    p.certain = false;
    reason += " (Red Hat backports BPF features to older version numbers: only the probe can tell)";
  }
  return fail_at(p, ProbeStage::load, errnum, std::move(reason), std::move(remedy), obstacle);
}

std::string setcap_remedy(const std::string& binary, std::string_view caps) {
  return shell_command({"sudo", "setcap", std::string(caps) + "=ep", binary.empty() ? "BINARY" : binary});
}

// The tracefs-setup command that grants read-only tracefs access to a group.
// "$USER" stays for the shell to expand; a named user and the binary are quoted.
std::string tracefs_read_remedy(const Subject& subject, const std::string& binary) {
  std::string command = "sudo tracefs-setup apply --tracefs-read --user ";
  command += subject.name.empty() || subject.this_process ? std::string("$USER") : shell_quote(subject.name);
  if (!binary.empty()) command += " --binary " + shell_quote(binary);
  return command;
}


}  // namespace

bool may_search(const FileMeta& dir, const Subject& subject) {
  if (has_cap(subject.effective_caps, kCapDacOverride) || has_cap(subject.effective_caps, kCapDacReadSearch)) {
    return true;
  }
  return dac_allows(dir, subject, S_IXUSR);
}

bool may_read(const FileMeta& file, const Subject& subject) {
  if (has_cap(subject.effective_caps, kCapDacOverride) || has_cap(subject.effective_caps, kCapDacReadSearch)) {
    return true;
  }
  return dac_allows(file, subject, S_IRUSR);
}

std::optional<Prediction> tracefs_id_blocked(const Snapshot& snap, const Subject& subject,
                                             const std::string& binary_for_remedy) {
  Prediction p;
  p.flavour = ProbeFlavour::perf_tp;
  if (!snap.tracefs) {
    return fail_at(p, ProbeStage::tracefs_id, ENOENT, "tracefs is not mounted",
                   "sudo mount -t tracefs nodev /sys/kernel/tracing", Obstacle::tracefs_unmounted);
  }
  // Lockdown at confidentiality refuses every open of a tracefs file
  // (LOCKDOWN_TRACEFS), whatever the modes and capabilities.
  if (snap.lockdown == LockdownMode::confidentiality) {
    return fail_at(p, ProbeStage::tracefs_id, EPERM,
                   "lockdown=confidentiality refuses every tracefs file, so the event id cannot be read",
                   "use a raw-tracepoint tool such as syscount, which needs no tracefs (lockdown is a boot "
                   "policy: only a boot without lockdown=confidentiality lifts it)",
                   Obstacle::tracefs_lockdown);
  }
  for (const auto& fact : snap.tracefs_id_chain) {
    const bool is_id_file = &fact == &snap.tracefs_id_chain.back();
    if (!fact.meta) {
      // The live fact decides when a parent hid the file from us.
      if (snap.tracefs_id_open.has_value() && subject.this_process) {
        if (*snap.tracefs_id_open) return std::nullopt;
        return fail_at(p, ProbeStage::tracefs_id, EACCES,
                       "cannot read the tracefs event id: " + snap.tracefs_id_open->error().message,
                       tracefs_read_remedy(subject, binary_for_remedy), Obstacle::tracefs_access);
      }
      if (fact.meta.error().errnum == EACCES) {
        p.certain = false;
        return fail_at(p, ProbeStage::tracefs_id, EACCES,
                       "cannot inspect " + fact.path + " (" + fact.meta.error().message + ")",
                       tracefs_read_remedy(subject, binary_for_remedy), Obstacle::tracefs_access);
      }
      return fail_at(p, ProbeStage::tracefs_id, ENOENT, fact.path + " does not exist",
                     "use a raw-tracepoint tool such as syscount; this kernel lacks the raw_syscalls events");
    }
    const bool allowed = is_id_file ? may_read(*fact.meta, subject) : may_search(*fact.meta, subject);
    if (!allowed) {
      const std::string mode = mode_text(fact.meta->mode);
      return fail_at(p, ProbeStage::tracefs_id, EACCES,
                     std::string(is_id_file ? "cannot read " : "cannot enter ") + fact.path + " (mode " + mode +
                         ", uid " + std::to_string(fact.meta->uid) + ", gid " + std::to_string(fact.meta->gid) + ")",
                     tracefs_read_remedy(subject, binary_for_remedy), Obstacle::tracefs_access);
    }
  }
  return std::nullopt;
}

namespace {

// Whether loading a program of FLAVOUR fails, in the kernel's order of
// checks; P carries the flavour and certainty so far.
std::optional<Prediction> load_blocked(const Snapshot& snap, const Subject& subject, ProbeFlavour flavour,
                                       const std::string& binary_for_remedy, const Prediction& p) {
  const std::uint64_t caps = subject.effective_caps;
  const bool sys_admin = has_cap(caps, kCapSysAdmin);
  if (snap.config_enabled("CONFIG_BPF_SYSCALL") == false) {
    return fail_at(p, ProbeStage::load, ENOSYS, "the kernel is built without CONFIG_BPF_SYSCALL",
                   "boot a kernel built with CONFIG_BPF_SYSCALL=y");
  }
  if (!kernel_at_least(snap, floors::kRawTracepoint)) {
    return fail_at(p, ProbeStage::load, EINVAL, "kernel " + snap.kernel->str() + " predates raw tracepoints (4.17)",
                   "boot a kernel of version 5.8 or newer");
  }
  if (!kernel_at_least(snap, floors::kGlobalData)) {
    return floor_failure(snap, p, EINVAL,
                   "kernel " + snap.kernel->str() +
                       " predates BPF global variables (5.2), which the probes and syscount's programs use",
                   "boot a kernel of version 5.8 or newer");
  }

  // libbpf needs the kernel's BTF before it makes any bpf() call for a typed
  // program, so its absence is the first failure whatever the capabilities.
  if (flavour == ProbeFlavour::tp_btf && !snap.btf_vmlinux) {
    return fail_at(p, ProbeStage::load, ESRCH,
                   "the kernel has no BTF (/sys/kernel/btf/vmlinux), which typed tp_btf programs need",
                   "syscount uses its raw_tp fallback here; other typed tools need a kernel built with "
                   "CONFIG_DEBUG_INFO_BTF=y");
  }

  // Loading a tracing program: CAP_BPF and CAP_PERFMON since 5.8, CAP_SYS_ADMIN before.
  if (kernel_at_least(snap, floors::kCapBpf)) {
    const bool bpf = has_cap(caps, kCapBpf) || sys_admin;
    const bool perfmon = has_cap(caps, kCapPerfmon) || sys_admin;
    if (!bpf || !perfmon) {
      std::string missing = !bpf && !perfmon ? "CAP_BPF and CAP_PERFMON" : !bpf ? "CAP_BPF" : "CAP_PERFMON";
      return fail_at(p, ProbeStage::load, EPERM,
                     "loading a tracing program needs CAP_BPF and CAP_PERFMON; missing " + missing,
                     setcap_remedy(binary_for_remedy, "cap_bpf,cap_perfmon"), Obstacle::capabilities);
    }
  } else if (!sys_admin) {
    return floor_failure(snap, p, EPERM,
                   "kernel " + (snap.kernel ? snap.kernel->str() : std::string("?")) +
                       " has no CAP_BPF (5.8+); loading needs CAP_SYS_ADMIN",
                   setcap_remedy(binary_for_remedy, "cap_sys_admin"), Obstacle::capabilities);
  }

  // The verifier checks the helper after the capabilities.
  if (flavour == ProbeFlavour::tp_btf && !kernel_at_least(snap, floors::kTaskBtfHelper)) {
    return floor_failure(snap, p, EINVAL,
                   "kernel " + snap.kernel->str() + " predates bpf_get_current_task_btf() (5.11), which typed "
                   "programs such as syscount's use",
                   "syscount uses its raw_tp fallback here; other typed tools need kernel 5.11 or newer");
  }
  return std::nullopt;
}

// What a perf-event tracepoint needs beyond loading: the tracefs event id
// and perf_event_open.
std::optional<Prediction> perf_event_blocked(const Snapshot& snap, const Subject& subject,
                                             const std::string& binary_for_remedy, Prediction p) {
  if (snap.config_enabled("CONFIG_BPF_EVENTS") == false || snap.config_enabled("CONFIG_FTRACE_SYSCALLS") == false) {
    return fail_at(p, ProbeStage::tracefs_id, ENOENT,
                   "the kernel has no raw_syscalls tracepoint events (CONFIG_BPF_EVENTS or CONFIG_FTRACE_SYSCALLS off)",
                   "use a raw-tracepoint tool such as syscount, or boot a kernel with both options");
  }
  if (auto blocked = tracefs_id_blocked(snap, subject, binary_for_remedy)) {
    blocked->flavour = p.flavour;
    if (!p.certain || !subject.known) blocked->certain = false;
    return blocked;
  }

  // perf_event_open: Debian and Ubuntu kernels patched with
  // CONFIG_SECURITY_PERF_EVENTS_RESTRICT refuse it without CAP_SYS_ADMIN when
  // perf_event_paranoid > 2; mainline treats values above 2 like 2.
  const auto paranoid = snap.sysctl("kernel.perf_event_paranoid");
  if (paranoid && *paranoid > 2 && !has_cap(subject.effective_caps, kCapSysAdmin)) {
    const auto restrict_patch = snap.config_enabled("CONFIG_SECURITY_PERF_EVENTS_RESTRICT");
    if (restrict_patch != false) {
      if (!restrict_patch.has_value()) p.certain = false;
      return fail_at(p, ProbeStage::perf_event_open, EACCES,
                     "perf_event_paranoid is " + std::to_string(*paranoid) +
                         " on a kernel that then refuses perf_event_open without CAP_SYS_ADMIN",
                     "sudo sysctl -w kernel.perf_event_paranoid=2   (the least permissive value that works; "
                     "`tracefs-setup apply --tracefs-read` persists it)",
                     Obstacle::paranoid);
    }
  }
  return std::nullopt;
}

}  // namespace

Prediction predict(const Snapshot& snap, const Subject& subject, ProbeFlavour flavour,
                   const std::string& binary_for_remedy) {
  Prediction p;
  p.flavour = flavour;
  p.certain = snap.kernel.has_value() && subject.known;
  if (auto blocked = load_blocked(snap, subject, flavour, binary_for_remedy, p)) return *blocked;
  switch (flavour) {
    case ProbeFlavour::tp_btf:
      p.reason = "typed tracepoints need kernel BTF, 5.11+, CAP_BPF and CAP_PERFMON, which are present";
      break;
    case ProbeFlavour::raw_tp:
      p.reason = "raw tracepoints need only CAP_BPF and CAP_PERFMON, which are present";
      break;
    case ProbeFlavour::perf_tp:
      if (auto blocked = perf_event_blocked(snap, subject, binary_for_remedy, p)) return *blocked;
      p.reason = "the tracefs event id is readable and perf_event_open is allowed";
      break;
  }
  p.ok = true;
  return p;
}

ProbeFlavour syscount_flavour(const Snapshot& snap) {
  return snap.btf_vmlinux && kernel_at_least(snap, floors::kTaskBtfHelper) ? ProbeFlavour::tp_btf
                                                                          : ProbeFlavour::raw_tp;
}

Prediction predict_syscount(const Snapshot& snap, const Subject& subject, const std::string& binary_for_remedy,
                            std::optional<ProbeFlavour> forced) {
  return predict(snap, subject, forced.value_or(syscount_flavour(snap)), binary_for_remedy);
}

std::string explain_probe_failure(const ProbeOutcome& outcome, const Snapshot& snapshot) {
  const std::string err = outcome.errnum != 0 ? std::string(" (") + std::strerror(outcome.errnum) + ")" : "";
  switch (outcome.stage) {
    case ProbeStage::open: return "the probe object could not be opened" + err;
    case ProbeStage::load:
      if (outcome.flavour == ProbeFlavour::tp_btf && !snapshot.btf_vmlinux) {
        return "the kernel has no BTF, which typed programs need" + err;
      }
      if (outcome.errnum == EPERM) return "the kernel refused to load the program: CAP_BPF and CAP_PERFMON are needed" + err;
      if (outcome.errnum == ENOSYS) return "the kernel has no bpf() system call" + err;
      return "the verifier or kernel rejected the program" + err;
    case ProbeStage::tracefs_id:
      if (outcome.errnum == EACCES) return "the tracefs event id file is not readable by this process" + err;
      if (outcome.errnum == EPERM && snapshot.lockdown == LockdownMode::confidentiality) {
        return "lockdown=confidentiality refuses every tracefs file" + err;
      }
      if (!snapshot.tracefs) return "tracefs is not mounted, so the event id cannot be read" + err;
      return "the tracefs event id could not be read" + err;
    case ProbeStage::perf_event_open:
      if (outcome.errnum == EACCES) {
        return "perf_event_open was refused; perf_event_paranoid is " +
               (snapshot.sysctl("kernel.perf_event_paranoid")
                    ? std::to_string(*snapshot.sysctl("kernel.perf_event_paranoid"))
                    : std::string("unknown")) +
               err;
      }
      return "perf_event_open failed" + err;
    case ProbeStage::attach:
      if (outcome.errnum == ENOENT) return "the tracepoint does not exist in this kernel" + err;
      return "attaching the program failed" + err;
    case ProbeStage::trigger: return "triggering the program failed" + err;
    case ProbeStage::readback: return outcome.detail;
    case ProbeStage::exec: return "the binary could not be executed" + err;
  }
  return outcome.detail;
}

}  // namespace bpfready
