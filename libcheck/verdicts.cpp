#include "libcheck/verdicts.h"

namespace bpfready {

namespace {

struct FlavourText {
  const char* title;
  std::vector<std::string> tools;
};

FlavourText flavour_text(ProbeFlavour flavour) {
  switch (flavour) {
    case ProbeFlavour::tp_btf:
      return {"typed raw tracepoints (tp_btf/, kernel BTF)", {"syscount", "CO-RE tools with tp_btf programs"}};
    case ProbeFlavour::raw_tp:
      return {"raw tracepoints (raw_tp/)", {"syscount's raw_tp fallback", "tools with raw_tp programs"}};
    case ProbeFlavour::perf_tp: break;
  }
  return {"tracefs tracepoints (tp/, perf events)",
          {"libbpf-tools such as syscount and execsnoop", "bpftrace tracepoint: probes"}};
}

// Why syscount loads the variant it does, for the verdict's title.
std::string syscount_title(const Snapshot& snapshot) {
  if (syscount_flavour(snapshot) == ProbeFlavour::tp_btf) return "syscount (its typed tp_btf programs)";
  if (!snapshot.btf_vmlinux) return "syscount (its raw_tp fallback: the kernel has no BTF)";
  return "syscount (its raw_tp fallback: the kernel predates 5.11)";
}

// The steps that make V ready, or why there are none.
void plan_verdict_fix(Verdict& v, const Snapshot& snapshot, const Subject& subject, const FixContext& fix,
                      bool for_syscount) {
  if (v.ready) return;
  if (v.prediction.ok) {
    v.no_safe_fix = "the model did not predict this failure, so it knows no fix";
    return;
  }
  FixPlan plan = plan_fix(snapshot, subject, v.flavour, fix, for_syscount);
  v.remedy = plan.text();
  v.fix_steps = std::move(plan.steps);
  v.no_safe_fix = std::move(plan.no_safe_fix);
}

Verdict judge(const Snapshot& snapshot, const Subject& subject, ProbeFlavour flavour, Prediction prediction) {
  Verdict v;
  v.subject = subject.name;
  v.flavour = flavour;
  v.prediction = std::move(prediction);
  v.proof = snapshot.probe(flavour);
  if (v.proof) {
    v.ready = v.proof->ok;
    v.mismatch = v.prediction.certain &&
                 (v.proof->ok != v.prediction.ok || (!v.proof->ok && v.proof->stage != v.prediction.stage));
    v.reason = v.proof->ok ? "proven: " + v.proof->detail : explain_probe_failure(*v.proof, snapshot);
  } else {
    v.ready = v.prediction.ok;
    v.reason = "predicted: " + v.prediction.reason;
  }
  if (v.mismatch) {
    v.reason += " (the model predicted " +
                std::string(v.prediction.ok ? "success" : "failure at " + std::string(to_string(v.prediction.stage))) +
                ": please report this)";
  }
  return v;
}

}  // namespace

const std::vector<std::string>& verdict_ids() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> all;
    for (const auto flavour : kAllProbeFlavours) all.emplace_back(to_string(flavour));
    all.emplace_back(kSyscountVerdict);
    return all;
  }();
  return ids;
}

std::vector<Verdict> derive_verdicts(const Snapshot& snapshot, const Subject& subject, const FixContext& fix) {
  std::vector<Verdict> verdicts;
  for (const auto flavour : kAllProbeFlavours) {
    Verdict v = judge(snapshot, subject, flavour, predict(snapshot, subject, flavour, fix.binary));
    plan_verdict_fix(v, snapshot, subject, fix, false);
    v.id = std::string(to_string(flavour));
    auto text = flavour_text(flavour);
    v.title = text.title;
    v.tools = std::move(text.tools);
    verdicts.push_back(std::move(v));
  }
  // The same decision syscount's pre-flight makes (predict_syscount), so the
  // two can never disagree.
  const Prediction syscount = predict_syscount(snapshot, subject, fix.binary);
  Verdict v = judge(snapshot, subject, syscount.flavour, syscount);
  plan_verdict_fix(v, snapshot, subject, fix, true);
  v.id = kSyscountVerdict;
  v.title = syscount_title(snapshot);
  v.tools = {"syscount"};
  verdicts.push_back(std::move(v));
  return verdicts;
}

}  // namespace bpfready
