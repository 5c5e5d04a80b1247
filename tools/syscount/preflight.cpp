#include "tools/syscount/preflight.h"

#include "libcheck/fix_plan.h"

namespace bpfready {

namespace {

// Why the typed programs cannot load here, when syscount_flavour() says so.
std::string typed_unavailable_reason(const Snapshot& snapshot) {
  if (!snapshot.btf_vmlinux) return "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
  if (!snapshot.kernel) return "the kernel version is unknown";
  return "kernel " + snapshot.kernel->str() + " predates bpf_get_current_task_btf() (5.11)";
}

}  // namespace

Expected<ProbeFlavour> decide_flavour(const Snapshot& snapshot, const Subject& subject,
                                      const std::string& binary,
                                      std::optional<ProbeFlavour> forced) {
  if (forced && *forced == ProbeFlavour::perf_tp) {
    return SysError::plain("syscount has no perf_tp programs (--flavour: auto, tp_btf or raw_tp)");
  }
  if (forced && *forced == ProbeFlavour::tp_btf &&
      syscount_flavour(snapshot) != ProbeFlavour::tp_btf) {
    return SysError::plain("cannot load the typed (tp_btf) programs: " +
                           typed_unavailable_reason(snapshot) +
                           "; --flavour auto loads the raw_tp fallback here");
  }
  const Prediction prediction = predict_syscount(snapshot, subject, binary, forced);
  // An uncertain prediction (a fact could not be read) does not refuse:
  // loading will tell.
  if (!prediction.ok && prediction.certain) {
    std::string text = "cannot trace: " + prediction.reason;
    FixContext context;
    context.binary = binary;
    context.syscount_binary = binary;
    const FixPlan fix = plan_fix(snapshot, subject, prediction.flavour, context, /*for_syscount=*/true);
    if (!fix.steps.empty()) text += "\n  fix: " + fix.text();
    if (!fix.no_safe_fix.empty()) text += "\n  no safe fix: " + fix.no_safe_fix;
    return SysError::plain(text);
  }
  return forced.value_or(syscount_flavour(snapshot));
}

bool map_reads_need_capability(const Snapshot& snapshot) {
  if (snapshot.kernel && *snapshot.kernel >= kMapReadsWithoutCapability) return false;
  const auto disabled = snapshot.sysctl("kernel.unprivileged_bpf_disabled");
  return !disabled || *disabled != 0;
}

}  // namespace bpfready
