// The permission model: from a snapshot of the host and a subject (a user
// with a set of effective capabilities), predict whether each probe flavour
// would load and attach, and if not, at which stage, why, and the smallest
// change that fixes it. The probes are the ground truth; a disagreement
// between this model and a probe is a bug in the model.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcheck/probe.h"
#include "libcheck/snapshot.h"

namespace bpfready {

struct Subject {
  std::string name;  // "root", "alice", "this process"
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::uint64_t effective_caps = 0;
  bool known = true;  // false when the credentials could not be read
  bool this_process = false;  // the running process itself (its live facts apply)
  [[nodiscard]] bool in_group(gid_t group) const;
};

// The current process as the snapshot saw it.
Subject subject_from_snapshot(const Snapshot& snapshot);

// What stands in the way of a failing prediction, for the fix planner
// (libcheck/fix_plan.h): what kind of change, if any, can remove it.
enum class Obstacle {
  none,               // nothing (ok), or a failure no host change fixes
  kernel,             // the kernel itself (version, build options, BTF): boot another one
  capabilities,       // the subject lacks CAP_BPF/CAP_PERFMON (CAP_SYS_ADMIN before 5.8)
  tracefs_unmounted,  // tracefs is not mounted
  tracefs_access,     // the tracefs event id is not readable by the subject
  tracefs_lockdown,   // lockdown=confidentiality refuses tracefs: a boot policy
  paranoid,           // perf_event_paranoid > 2 on a kernel that then needs CAP_SYS_ADMIN
};

struct Prediction {
  ProbeFlavour flavour = ProbeFlavour::raw_tp;
  bool ok = false;
  ProbeStage stage = ProbeStage::readback;  // predicted failing stage when !ok
  int errnum = 0;                           // predicted errno when !ok
  std::string reason;                       // one line
  std::string remedy;                       // exact command(s); empty when ok
  bool certain = true;                      // false when a fact was unknown
  Obstacle obstacle = Obstacle::none;       // when !ok: what kind of change could fix it
};

Prediction predict(const Snapshot& snapshot, const Subject& subject, ProbeFlavour flavour,
                   const std::string& binary_for_remedy);

// The program variant syscount loads on this host: its typed (tp_btf)
// programs where the kernel has BTF and bpf_get_current_task_btf() (5.11+),
// else its untyped raw_tp fallback. ebpf_diag's syscount verdict and
// syscount's own pre-flight both decide through this, so they cannot differ.
ProbeFlavour syscount_flavour(const Snapshot& snapshot);

// syscount's readiness for SUBJECT: predict() for FORCED, or for
// syscount_flavour(snapshot).
Prediction predict_syscount(const Snapshot& snapshot, const Subject& subject, const std::string& binary_for_remedy,
                            std::optional<ProbeFlavour> forced = std::nullopt);

// Whether SUBJECT can reach and read the tracefs event id of
// raw_syscalls/sys_enter, judged from the modes along its path alone.
// nullopt when it can; otherwise the failing prediction (stage tracefs_id).
std::optional<Prediction> tracefs_id_blocked(const Snapshot& snapshot, const Subject& subject,
                                             const std::string& binary_for_remedy);

// Whether SUBJECT may search a directory / read a file with this meta.
bool may_search(const FileMeta& dir, const Subject& subject);
bool may_read(const FileMeta& file, const Subject& subject);

// One line that explains a real probe failure from its stage and errno.
std::string explain_probe_failure(const ProbeOutcome& outcome, const Snapshot& snapshot);

}  // namespace bpfready
