// Readiness per class of tools and per subject: the prediction of the
// permission model next to the proof of the real probe, and the smallest fix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/fix_plan.h"
#include "libcheck/probe.h"
#include "libcheck/snapshot.h"

namespace bpfready {

// Readiness of one class of tools for one subject.
struct Verdict {
  std::string id;     // a flavour ("tp_btf", "raw_tp", "perf_tp") or "syscount"
  std::string title;  // "typed raw tracepoints (tp_btf/)"
  std::vector<std::string> tools;  // what it stands for: "syscount", "libbpf-tools"
  std::string subject;
  ProbeFlavour flavour = ProbeFlavour::tp_btf;  // the probe it rests on
  bool ready = false;
  Prediction prediction;
  std::optional<ProbeOutcome> proof;  // the real probe, when it ran
  bool mismatch = false;              // prediction and proof disagree: a model bug
  std::string reason;
  std::string remedy;                   // the fix steps as one line (fix_plan.h)
  std::vector<std::string> fix_steps;   // together they make the verdict ready
  std::string no_safe_fix;              // when not ready and no change on this host fixes it: why
};

// The id of the verdict on syscount itself, which rests on the flavour
// syscount_flavour() chooses.
inline constexpr const char* kSyscountVerdict = "syscount";

// Every id derive_verdicts() gives, in its order: the flavours, then syscount.
const std::vector<std::string>& verdict_ids();

std::vector<Verdict> derive_verdicts(const Snapshot& snapshot, const Subject& subject, const FixContext& fix);
// The same, with fixes for BINARY (the profiling tool the subject runs).
inline std::vector<Verdict> derive_verdicts(const Snapshot& snapshot, const Subject& subject,
                                            const std::string& binary) {
  FixContext fix;
  fix.binary = binary;
  return derive_verdicts(snapshot, subject, fix);
}

}  // namespace bpfready
