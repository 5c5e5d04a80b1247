#include "libcheck/verdicts.h"

namespace bpfready {

std::vector<Verdict> derive_verdicts(const Snapshot& snapshot, const Subject& subject,
                                     const std::string& binary_for_remedy) {
  std::vector<Verdict> verdicts;
  for (const auto flavour : {ProbeFlavour::raw_tp, ProbeFlavour::perf_tp}) {
    Verdict v;
    v.id = std::string(to_string(flavour));
    v.title = flavour == ProbeFlavour::raw_tp ? "raw-tracepoint tools (syscount)" : "tracefs tracepoint tools (tp/...)";
    v.subject = subject.name;
    v.prediction = predict(snapshot, subject, flavour, binary_for_remedy);
    v.proof = flavour == ProbeFlavour::raw_tp ? snapshot.probe_raw_tp : snapshot.probe_perf_tp;
    if (v.proof) {
      v.ready = v.proof->ok;
      v.mismatch = v.prediction.certain &&
                   (v.proof->ok != v.prediction.ok || (!v.proof->ok && v.proof->stage != v.prediction.stage));
      v.reason = v.proof->ok ? "proven: " + v.proof->detail : explain_probe_failure(*v.proof, snapshot);
    } else {
      v.ready = v.prediction.ok;
      v.reason = "predicted: " + v.prediction.reason;
    }
    if (!v.ready) v.remedy = v.prediction.remedy;
    if (v.mismatch) {
      v.reason += " (the model predicted " + std::string(v.prediction.ok ? "success" : "failure at " +
                                                                                 std::string(to_string(v.prediction.stage))) +
                  ": please report this)";
    }
    verdicts.push_back(std::move(v));
  }
  return verdicts;
}

}  // namespace bpfready
