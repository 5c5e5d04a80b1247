// Which program flavour each fixture host can load, and the syscount verdict
// that rests on the flavour syscount itself picks.
#include <gtest/gtest.h>

#include "libcheck/access.h"
#include "libcheck/verdicts.h"
#include "support/unit.h"

namespace bpfready {
namespace {

using unit::contains;
using unit::load_host;

const Verdict& verdict(const std::vector<Verdict>& verdicts, std::string_view id) {
  for (const auto& v : verdicts) {
    if (v.id == id) return v;
  }
  throw std::runtime_error("no verdict " + std::string(id));
}

struct HostExpectation {
  const char* host;
  ProbeFlavour syscount_loads;
  bool typed_ready;     // the tp_btf verdict
  bool syscount_ready;  // the syscount verdict
};

// Predictions only: fixtures run no probes.
const HostExpectation kHosts[] = {
    {"debian12-vm-6.18", ProbeFlavour::tp_btf, true, true},
    {"ubuntu2204-paranoid4", ProbeFlavour::tp_btf, true, true},
    {"container-no-tracefs", ProbeFlavour::tp_btf, false, false},  // CAP_BPF outside the bounding set
    {"kernel-5.4", ProbeFlavour::raw_tp, false, false},            // no BTF, no capabilities
    {"lockdown-confidentiality", ProbeFlavour::tp_btf, true, true},
    {"unpriv-bpf-enabled", ProbeFlavour::tp_btf, true, true},
    {"tracefs-group-read", ProbeFlavour::tp_btf, true, true},
    {"custom-6.6-no-btf", ProbeFlavour::raw_tp, false, true},
    {"debian11-5.10", ProbeFlavour::raw_tp, false, true},
    // Below the global-data floor (5.2) by version: predicted to fail, but
    // uncertain (Red Hat backports), so syscount still tries and a live
    // ebpf_diag proves it.
    {"rhel8-4.18", ProbeFlavour::raw_tp, false, false},
};

TEST(SyscountFlavour, EveryFixtureHostIsCovered) {
  EXPECT_EQ(std::size(kHosts), unit::fixture_hosts().size());
}

TEST(SyscountFlavour, PerFixtureHost) {
  for (const auto& want : kHosts) {
    SCOPED_TRACE(want.host);
    const auto snap = load_host(want.host);
    const auto subject = subject_from_snapshot(snap);
    EXPECT_EQ(syscount_flavour(snap), want.syscount_loads);
    const auto verdicts = derive_verdicts(snap, subject, "/usr/bin/syscount");
    const auto& typed = verdict(verdicts, "tp_btf");
    const auto& syscount = verdict(verdicts, kSyscountVerdict);
    EXPECT_EQ(typed.ready, want.typed_ready) << typed.reason;
    EXPECT_EQ(syscount.ready, want.syscount_ready) << syscount.reason;
    EXPECT_EQ(syscount.flavour, want.syscount_loads);
    // The syscount verdict is the verdict of the flavour it loads, word for word.
    const auto& chosen = verdict(verdicts, to_string(want.syscount_loads));
    EXPECT_EQ(syscount.ready, chosen.ready);
    EXPECT_EQ(syscount.reason, chosen.reason);
    EXPECT_EQ(syscount.remedy, chosen.remedy);
    // And it is predict_syscount(), which syscount's pre-flight calls.
    const auto preflight = predict_syscount(snap, subject, "/usr/bin/syscount");
    EXPECT_EQ(preflight.flavour, want.syscount_loads);
    EXPECT_EQ(preflight.ok, syscount.prediction.ok);
    EXPECT_EQ(preflight.reason, syscount.prediction.reason);
    if (want.syscount_loads == ProbeFlavour::raw_tp) {
      EXPECT_TRUE(contains(syscount.title, "raw_tp fallback")) << syscount.title;
    }
  }
}

TEST(SyscountFlavour, NoBtfIsNamedAndTheFallbackOffered) {
  const auto snap = load_host("custom-6.6-no-btf");
  const auto typed = predict(snap, subject_from_snapshot(snap), ProbeFlavour::tp_btf, "/usr/bin/syscount");
  EXPECT_FALSE(typed.ok);
  EXPECT_EQ(typed.stage, ProbeStage::load);
  EXPECT_TRUE(typed.certain);
  EXPECT_TRUE(contains(typed.reason, "no BTF")) << typed.reason;
  EXPECT_TRUE(contains(typed.remedy, "raw_tp fallback")) << typed.remedy;
  EXPECT_EQ(verdict(derive_verdicts(snap, subject_from_snapshot(snap), ""), kSyscountVerdict).title,
            "syscount (its raw_tp fallback: the kernel has no BTF)");
}

TEST(SyscountFlavour, BeforeTheTaskHelperTheFloorIsNamed) {
  const auto snap = load_host("debian11-5.10");
  const auto typed = predict(snap, subject_from_snapshot(snap), ProbeFlavour::tp_btf, "");
  EXPECT_FALSE(typed.ok);
  EXPECT_EQ(typed.stage, ProbeStage::load);
  EXPECT_TRUE(typed.certain);
  EXPECT_TRUE(contains(typed.reason, "5.11")) << typed.reason;
  EXPECT_TRUE(predict(snap, subject_from_snapshot(snap), ProbeFlavour::raw_tp, "").ok);
  EXPECT_EQ(verdict(derive_verdicts(snap, subject_from_snapshot(snap), ""), kSyscountVerdict).title,
            "syscount (its raw_tp fallback: the kernel predates 5.11)");
}

TEST(SyscountFlavour, RedHatVersionFloorsAreUncertain) {
  const auto snap = load_host("rhel8-4.18");
  const auto typed = predict(snap, subject_from_snapshot(snap), ProbeFlavour::tp_btf, "");
  EXPECT_FALSE(typed.ok);
  EXPECT_FALSE(typed.certain) << "Red Hat backports BPF helpers; only the probe can tell";
  EXPECT_TRUE(contains(typed.reason, "only the probe can tell")) << typed.reason;
  for (const auto flavour : kAllProbeFlavours) {
    const auto p = predict(snap, subject_from_snapshot(snap), flavour, "");
    EXPECT_FALSE(p.certain) << to_string(flavour) << ": " << p.reason;
  }
  const auto raw = predict(snap, subject_from_snapshot(snap), ProbeFlavour::raw_tp, "");
  EXPECT_TRUE(contains(raw.reason, "global variables (5.2)")) << raw.reason;
  // A probe that works there is then no model mismatch.
  auto proven = snap;
  ProbeOutcome ok;
  ok.flavour = ProbeFlavour::tp_btf;
  ok.ok = true;
  ok.stage = ProbeStage::readback;
  ok.detail = "loaded, attached, and counted 1000 of 1000 getppid calls";
  proven.probe_tp_btf = ok;
  const auto verdicts = derive_verdicts(proven, subject_from_snapshot(proven), "");
  const auto& v = verdict(verdicts, "tp_btf");
  EXPECT_TRUE(v.ready);
  EXPECT_FALSE(v.mismatch);
}

TEST(SyscountFlavour, BeforeGlobalDataNothingLoads) {
  auto snap = load_host("custom-6.6-no-btf");
  snap.kernel = KernelVersion{5, 1, 0};
  for (const auto flavour : kAllProbeFlavours) {
    const auto p = predict(snap, subject_from_snapshot(snap), flavour, "");
    EXPECT_FALSE(p.ok) << to_string(flavour);
    EXPECT_TRUE(p.certain) << to_string(flavour);
    EXPECT_EQ(p.stage, ProbeStage::load);
  }
  snap.kernel = KernelVersion{5, 2, 0};
  EXPECT_TRUE(predict(snap, subject_from_snapshot(snap), ProbeFlavour::raw_tp, "").ok);
}

TEST(SyscountFlavour, ForcedFlavourIsPredictedAsAsked) {
  const auto snap = load_host("custom-6.6-no-btf");
  const auto subject = subject_from_snapshot(snap);
  EXPECT_FALSE(predict_syscount(snap, subject, "", ProbeFlavour::tp_btf).ok);
  EXPECT_TRUE(predict_syscount(snap, subject, "", ProbeFlavour::raw_tp).ok);
  EXPECT_EQ(predict_syscount(snap, subject, "", ProbeFlavour::tp_btf).flavour, ProbeFlavour::tp_btf);
}

}  // namespace
}  // namespace bpfready
