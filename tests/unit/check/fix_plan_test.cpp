// The fix planner over the fixture hosts: every failing verdict gets either
// steps that together make it ready, or the reason no safe step exists; no
// step ever gives capabilities outside tracefs-setup, to ebpf_diag, or where
// the host's own state makes them useless.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "libcheck/caps.h"
#include "libcheck/fix_plan.h"
#include "libcheck/verdicts.h"
#include "support/unit.h"

namespace bpfready {
namespace {

using unit::contains;
using unit::fixture_hosts;
using unit::load_host;

Subject ordinary_user() {
  Subject alice;
  alice.name = "alice";
  alice.uid = 1000;
  alice.gid = 1000;
  alice.groups = {1000};
  return alice;
}

const Verdict& find(const std::vector<Verdict>& verdicts, const std::string& id) {
  const auto it = std::find_if(verdicts.begin(), verdicts.end(), [&](const Verdict& v) { return v.id == id; });
  EXPECT_NE(it, verdicts.end()) << id;
  return *it;
}

FixContext diag_context() {
  FixContext context;
  context.binary = "/usr/bin/ebpf_diag";
  context.binary_is_diagnostic = true;
  context.syscount_binary = "/usr/bin/syscount";
  return context;
}

// Every failing verdict on every fixture, for this process and for a user
// without capabilities: steps or a reason, never both, never a bare setcap.
TEST(FixPlan, EveryFailingVerdictGetsStepsOrAReason) {
  for (const auto& host : fixture_hosts()) {
    const Snapshot snap = load_host(host);
    for (const Subject& subject : {subject_from_snapshot(snap), ordinary_user()}) {
      for (const auto& v : derive_verdicts(snap, subject, diag_context())) {
        const std::string where = host + " " + subject.name + " " + v.id;
        if (v.ready) {
          EXPECT_TRUE(v.fix_steps.empty() && v.no_safe_fix.empty()) << where;
          continue;
        }
        EXPECT_NE(v.fix_steps.empty(), v.no_safe_fix.empty()) << where << ": " << v.no_safe_fix;
        for (const auto& step : v.fix_steps) {
          EXPECT_FALSE(contains(step, "setcap")) << where << ": " << step;
          EXPECT_FALSE(contains(step, "ebpf_diag")) << where << ": " << step;
        }
      }
    }
  }
}

// The steps are complete: with what they change, the model predicts ready.
TEST(FixPlan, OneCommandCoversCapabilitiesTracefsAndParanoid) {
  Snapshot snap = load_host("ubuntu2204-paranoid4");
  snap.probe_perf_tp.reset();
  const Subject alice = ordinary_user();
  FixContext context;
  context.binary = "/opt/tools/my tool";
  const FixPlan plan = plan_fix(snap, alice, ProbeFlavour::perf_tp, context, false);
  ASSERT_EQ(plan.steps.size(), 1U) << plan.text() << plan.no_safe_fix;
  EXPECT_EQ(plan.steps[0], "sudo tracefs-setup apply --user alice --binary '/opt/tools/my tool' --tracefs-read");

  // A subject that already holds the capabilities needs only the tracefs part.
  Subject holder = alice;
  holder.effective_caps = cap_bit(kCapBpf) | cap_bit(kCapPerfmon);
  const FixPlan tracefs_only = plan_fix(snap, holder, ProbeFlavour::perf_tp, context, false);
  ASSERT_EQ(tracefs_only.steps.size(), 1U) << tracefs_only.text();
  EXPECT_EQ(tracefs_only.steps[0], "sudo tracefs-setup apply --user alice --tracefs-read");
}

TEST(FixPlan, UnmountedTracefsIsMountedFirst) {
  Snapshot snap = load_host("debian12-vm-6.18");
  snap.tracefs.reset();
  snap.tracefs_id_chain.clear();
  snap.tracefs_id_open.reset();
  snap.probe_perf_tp.reset();
  FixContext context;
  context.binary = "/usr/bin/tool";
  const FixPlan plan = plan_fix(snap, ordinary_user(), ProbeFlavour::perf_tp, context, false);
  ASSERT_EQ(plan.steps.size(), 2U) << plan.text() << plan.no_safe_fix;
  EXPECT_EQ(plan.steps[0], "sudo mount -t tracefs nodev /sys/kernel/tracing");
  EXPECT_TRUE(contains(plan.steps[1], "--tracefs-read")) << plan.steps[1];
  EXPECT_TRUE(contains(plan.steps[1], "--binary /usr/bin/tool")) << plan.steps[1];
}

// ebpf_diag never gets capabilities: the syscount verdict names syscount,
// the others a placeholder for the user's tool.
TEST(FixPlan, NeverTheDiagnosticTool) {
  const Snapshot snap = load_host("debian12-vm-6.18");
  Subject self = ordinary_user();
  self.this_process = true;
  const auto verdicts = derive_verdicts(snap, self, diag_context());
  const Verdict& syscount = find(verdicts, kSyscountVerdict);
  ASSERT_FALSE(syscount.fix_steps.empty()) << syscount.no_safe_fix;
  EXPECT_EQ(syscount.fix_steps[0], "sudo tracefs-setup apply --user \"$USER\" --binary /usr/bin/syscount");
  EXPECT_TRUE(contains(syscount.fix_steps.back(), "newgrp bpfready")) << syscount.remedy;
  const Verdict& raw = find(verdicts, "raw_tp");
  ASSERT_FALSE(raw.fix_steps.empty());
  EXPECT_TRUE(contains(raw.fix_steps[0], std::string("--binary ") + kToolPlaceholder)) << raw.fix_steps[0];
}

// File capabilities cannot help where the bounding set lacks them.
TEST(FixPlan, BoundingSetWithoutCapBpfHasNoSafeFix) {
  const Snapshot snap = load_host("container-no-tracefs");
  ASSERT_TRUE(snap.creds);
  ASSERT_FALSE(has_cap(snap.creds->cap_bounding, kCapBpf));
  const FixPlan plan = plan_fix(snap, ordinary_user(), ProbeFlavour::raw_tp, diag_context(), false);
  EXPECT_TRUE(plan.steps.empty()) << plan.text();
  EXPECT_TRUE(contains(plan.no_safe_fix, "bounding set")) << plan.no_safe_fix;
}

// Under no_new_privs (a command started by syscount) file capabilities are ignored.
TEST(FixPlan, NoNewPrivsHasNoSafeFix) {
  Snapshot snap = load_host("debian12-vm-6.18");
  ASSERT_TRUE(snap.creds);
  snap.creds->no_new_privs = true;
  Subject self = ordinary_user();
  self.this_process = true;
  const FixPlan plan = plan_fix(snap, self, ProbeFlavour::raw_tp, diag_context(), true);
  EXPECT_TRUE(plan.steps.empty()) << plan.text();
  EXPECT_TRUE(contains(plan.no_safe_fix, "no_new_privs")) << plan.no_safe_fix;
}

// Boot policies and the kernel itself are not changed by a step.
TEST(FixPlan, LockdownAndOldKernelsHaveNoSafeFix) {
  const Snapshot locked = load_host("lockdown-confidentiality");
  const FixPlan perf = plan_fix(locked, ordinary_user(), ProbeFlavour::perf_tp, diag_context(), false);
  EXPECT_TRUE(perf.steps.empty()) << perf.text();
  EXPECT_TRUE(contains(perf.no_safe_fix, "lockdown")) << perf.no_safe_fix;

  const Snapshot old = load_host("kernel-5.4");
  Subject root;
  root.name = "root";
  root.effective_caps = ~std::uint64_t{0};
  const FixPlan typed = plan_fix(old, root, ProbeFlavour::tp_btf, diag_context(), false);
  EXPECT_TRUE(typed.steps.empty()) << typed.text();
  EXPECT_FALSE(typed.no_safe_fix.empty());
}

}  // namespace
}  // namespace bpfready
