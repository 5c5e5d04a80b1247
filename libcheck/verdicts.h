// Readiness per class of tools and per subject: the prediction of the
// permission model next to the proof of the real probe, and the smallest fix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/probe.h"
#include "libcheck/snapshot.h"

namespace bpfready {

// Readiness of one class of tools for one subject.
struct Verdict {
  std::string id;     // "raw_tp", "perf_tp"
  std::string title;  // "raw-tracepoint tools (syscount)"
  std::string subject;
  bool ready = false;
  Prediction prediction;
  std::optional<ProbeOutcome> proof;  // the real probe, when it ran
  bool mismatch = false;              // prediction and proof disagree: a model bug
  std::string reason;
  std::string remedy;
};

std::vector<Verdict> derive_verdicts(const Snapshot& snapshot, const Subject& subject,
                                     const std::string& binary_for_remedy);

}  // namespace bpfready
