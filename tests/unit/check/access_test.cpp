// The permission model: the capability table of DESIGN.md against tracefs as
// the kernel mounts it and as tracefs-setup leaves it, paranoid > 2 with and
// without the Debian/Ubuntu patch, old kernels, and DAC owner-class rules.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "libcheck/access.h"
#include "libcheck/caps.h"
#include "support/unit.h"

namespace bpfready {
namespace {

using unit::contains;
using unit::load_host;

constexpr std::uint64_t kBpf = cap_bit(kCapBpf);
constexpr std::uint64_t kPerfmon = cap_bit(kCapPerfmon);
constexpr std::uint64_t kDacRead = cap_bit(kCapDacReadSearch);
constexpr std::uint64_t kSysAdmin = cap_bit(kCapSysAdmin);
constexpr const char* kBinary = "/usr/bin/syscount";

Subject alice(std::uint64_t caps, std::vector<gid_t> groups = {1000}) {
  Subject s;
  s.name = "alice";
  s.uid = 1000;
  s.gid = 1000;
  s.groups = std::move(groups);
  s.effective_caps = caps;
  return s;
}

struct Expect {
  bool ok;
  ProbeStage stage;
  int errnum;
};

struct MatrixRow {
  const char* name;
  const char* host;
  std::uint64_t caps;
  std::vector<gid_t> groups;
  Expect raw_tp;
  Expect perf_tp;
};

void PrintTo(const MatrixRow& row, std::ostream* os) { *os << row.name; }

constexpr Expect kWorks{true, ProbeStage::readback, 0};
constexpr Expect kLoadEperm{false, ProbeStage::load, EPERM};
constexpr Expect kTracefsEacces{false, ProbeStage::tracefs_id, EACCES};

class CapabilityMatrix : public ::testing::TestWithParam<MatrixRow> {};

std::string RowName(const ::testing::TestParamInfo<MatrixRow>& row) { return row.param.name; }

TEST_P(CapabilityMatrix, PredictionMatchesTheMeasuredTable) {
  const auto& row = GetParam();
  const auto snap = load_host(row.host);
  const auto subject = alice(row.caps, row.groups);
  for (const auto flavour : {ProbeFlavour::raw_tp, ProbeFlavour::perf_tp}) {
    const Expect& want = flavour == ProbeFlavour::raw_tp ? row.raw_tp : row.perf_tp;
    const auto p = predict(snap, subject, flavour, kBinary);
    SCOPED_TRACE(std::string(to_string(flavour)) + ": " + p.reason);
    EXPECT_EQ(p.flavour, flavour);
    EXPECT_TRUE(p.certain);
    EXPECT_EQ(p.ok, want.ok);
    if (!want.ok) {
      EXPECT_EQ(p.stage, want.stage) << to_string(p.stage);
      EXPECT_EQ(p.errnum, want.errnum);
      EXPECT_FALSE(p.remedy.empty());
    } else {
      EXPECT_TRUE(p.remedy.empty()) << p.remedy;
    }
    if (!p.ok && p.stage == ProbeStage::load) {
      EXPECT_EQ(p.remedy, "sudo setcap cap_bpf,cap_perfmon=ep /usr/bin/syscount");
    }
    if (!p.ok && p.stage == ProbeStage::tracefs_id) {
      EXPECT_EQ(p.remedy, "sudo tracefs-setup apply --tracefs-read --user alice --binary /usr/bin/syscount");
    }
  }
}

// Rows of DESIGN.md's table; the user is uid 1000, not root.
INSTANTIATE_TEST_SUITE_P(
    TracefsDefault, CapabilityMatrix,
    ::testing::Values(MatrixRow{"none", "debian12-vm-6.18", 0, {1000}, kLoadEperm, kLoadEperm},
                      MatrixRow{"cap_bpf", "debian12-vm-6.18", kBpf, {1000}, kLoadEperm, kLoadEperm},
                      MatrixRow{"cap_perfmon", "debian12-vm-6.18", kPerfmon, {1000}, kLoadEperm, kLoadEperm},
                      MatrixRow{"cap_bpf_perfmon", "debian12-vm-6.18", kBpf | kPerfmon, {1000}, kWorks, kTracefsEacces},
                      MatrixRow{"plus_dac_read_search", "debian12-vm-6.18", kBpf | kPerfmon | kDacRead, {1000}, kWorks,
                                kWorks},
                      MatrixRow{"cap_sys_admin_alone", "debian12-vm-6.18", kSysAdmin, {1000}, kWorks, kTracefsEacces}),
    RowName);

// tracefs-setup --tracefs-read: root 0750 root:1001, id 0440 root:1001.
INSTANTIATE_TEST_SUITE_P(
    TracefsGroupRead, CapabilityMatrix,
    ::testing::Values(MatrixRow{"none", "tracefs-group-read", 0, {1000, 1001}, kLoadEperm, kLoadEperm},
                      MatrixRow{"cap_bpf", "tracefs-group-read", kBpf, {1000, 1001}, kLoadEperm, kLoadEperm},
                      MatrixRow{"cap_bpf_perfmon", "tracefs-group-read", kBpf | kPerfmon, {1000, 1001}, kWorks, kWorks},
                      MatrixRow{"plus_dac_read_search", "tracefs-group-read", kBpf | kPerfmon | kDacRead, {1000, 1001},
                                kWorks, kWorks},
                      MatrixRow{"cap_sys_admin_alone", "tracefs-group-read", kSysAdmin, {1000, 1001}, kWorks, kWorks},
                      MatrixRow{"not_in_group", "tracefs-group-read", kBpf | kPerfmon, {1000}, kWorks, kTracefsEacces},
                      MatrixRow{"not_in_group_dac_read_search", "tracefs-group-read", kBpf | kPerfmon | kDacRead,
                                {1000}, kWorks, kWorks}),
    RowName);

TEST(Predict, LoadFailureNamesWhatIsMissing) {
  const auto snap = load_host("debian12-vm-6.18");
  EXPECT_TRUE(contains(predict(snap, alice(0), ProbeFlavour::raw_tp, kBinary).reason, "missing CAP_BPF and CAP_PERFMON"));
  EXPECT_TRUE(contains(predict(snap, alice(kBpf), ProbeFlavour::raw_tp, kBinary).reason, "missing CAP_PERFMON"));
  EXPECT_TRUE(contains(predict(snap, alice(kPerfmon), ProbeFlavour::raw_tp, kBinary).reason, "missing CAP_BPF"));
}

TEST(Predict, TracefsDenialNamesTheDirectoryAndItsMode) {
  const auto p = predict(load_host("debian12-vm-6.18"), alice(kBpf | kPerfmon), ProbeFlavour::perf_tp, kBinary);
  EXPECT_TRUE(contains(p.reason, "cannot enter /sys/kernel/tracing")) << p.reason;
  EXPECT_TRUE(contains(p.reason, "mode 0700")) << p.reason;
}

TEST(Predict, IdFileDenialSaysRead) {
  auto snap = load_host("debian12-vm-6.18");
  for (auto& fact : snap.tracefs_id_chain) {
    if (fact.meta->is_dir()) fact.meta->mode = S_IFDIR | 0755;  // every directory searchable
  }
  const auto p = predict(snap, alice(kBpf | kPerfmon), ProbeFlavour::perf_tp, kBinary);
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.stage, ProbeStage::tracefs_id);
  EXPECT_TRUE(contains(p.reason, "cannot read /sys/kernel/tracing/events/raw_syscalls/sys_enter/id")) << p.reason;
}

TEST(Predict, RemediesWithoutANamedUserOrBinary) {
  const auto snap = load_host("debian12-vm-6.18");
  auto me = alice(kBpf | kPerfmon);
  me.name = "this process";
  me.this_process = true;
  const auto perf = predict(snap, me, ProbeFlavour::perf_tp, "");
  EXPECT_EQ(perf.remedy, "sudo tracefs-setup apply --tracefs-read --user $USER");
  const auto load = predict(snap, alice(0), ProbeFlavour::raw_tp, "");
  EXPECT_EQ(load.remedy, "sudo setcap cap_bpf,cap_perfmon=ep BINARY");
}

// ---- perf_event_paranoid > 2 ---------------------------------------------------------------

// A subject that passes tracefs, so perf_event_open is the stage that decides.
Subject tracefs_reader() { return alice(kBpf | kPerfmon | kDacRead); }

TEST(PredictParanoid, FourWithTheRestrictionPatchRefusesPerfEventOpen) {
  const auto snap = load_host("ubuntu2204-paranoid4");
  const auto p = predict(snap, tracefs_reader(), ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.stage, ProbeStage::perf_event_open);
  EXPECT_EQ(p.errnum, EACCES);
  EXPECT_TRUE(p.certain);
  EXPECT_TRUE(contains(p.reason, "perf_event_paranoid is 4")) << p.reason;
  EXPECT_TRUE(contains(p.remedy, "kernel.perf_event_paranoid=2")) << p.remedy;
  EXPECT_TRUE(predict(snap, tracefs_reader(), ProbeFlavour::raw_tp, kBinary).ok) << "raw_tp ignores paranoid";
}

TEST(PredictParanoid, FourOnAMainlineKernelIsLikeTwo) {
  auto snap = load_host("ubuntu2204-paranoid4");
  snap.kernel_config->erase("CONFIG_SECURITY_PERF_EVENTS_RESTRICT");
  const auto p = predict(snap, tracefs_reader(), ProbeFlavour::perf_tp, kBinary);
  EXPECT_TRUE(p.ok) << p.reason;
  (*snap.kernel_config)["CONFIG_SECURITY_PERF_EVENTS_RESTRICT"] = "n";
  EXPECT_TRUE(predict(snap, tracefs_reader(), ProbeFlavour::perf_tp, kBinary).ok);
}

TEST(PredictParanoid, UnknownPatchPredictsFailureButUncertain) {
  auto snap = load_host("ubuntu2204-paranoid4");
  snap.kernel_config.reset();
  const auto p = predict(snap, tracefs_reader(), ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.stage, ProbeStage::perf_event_open);
  EXPECT_FALSE(p.certain);
}

TEST(Predict, UnreadableCredentialsModelAStrangerAndAreUncertain) {
  auto snap = load_host("debian12-vm-6.18");
  snap.creds.reset();
  const auto subject = subject_from_snapshot(snap);
  EXPECT_FALSE(subject.known);
  EXPECT_NE(subject.uid, 0U) << "an unknown process must not be modelled as root";
  for (const auto flavour : {ProbeFlavour::raw_tp, ProbeFlavour::perf_tp}) {
    const auto p = predict(snap, subject, flavour, kBinary);
    EXPECT_FALSE(p.ok);
    EXPECT_FALSE(p.certain);
  }
}

TEST(PredictParanoid, CapSysAdminPassesTheRestriction) {
  const auto snap = load_host("ubuntu2204-paranoid4");
  EXPECT_TRUE(predict(snap, alice(kSysAdmin | kDacRead), ProbeFlavour::perf_tp, kBinary).ok);
}

TEST(PredictParanoid, ThreeOnDebianWithTheRestrictionPatch) {
  auto snap = load_host("lockdown-confidentiality");  // Debian 6.1, paranoid 3
  snap.lockdown = LockdownMode::none;                   // which would stop tracefs first
  const auto p = predict(snap, tracefs_reader(), ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.stage, ProbeStage::perf_event_open);
}

TEST(PredictLockdown, ConfidentialityRefusesTracefsButNotRawTracepoints) {
  const auto snap = load_host("lockdown-confidentiality");
  const auto root = subject_from_snapshot(snap);
  const auto perf = predict(snap, root, ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(perf.ok);
  EXPECT_EQ(perf.stage, ProbeStage::tracefs_id);
  EXPECT_EQ(perf.errnum, EPERM);
  EXPECT_TRUE(contains(perf.reason, "lockdown=confidentiality")) << perf.reason;
  EXPECT_TRUE(predict(snap, root, ProbeFlavour::tp_btf, kBinary).ok);
  EXPECT_TRUE(predict(snap, root, ProbeFlavour::raw_tp, kBinary).ok);
}

TEST(PredictParanoid, TracefsIsCheckedBeforePerfEventOpen) {
  const auto p = predict(load_host("ubuntu2204-paranoid4"), alice(kBpf | kPerfmon), ProbeFlavour::perf_tp, kBinary);
  EXPECT_EQ(p.stage, ProbeStage::tracefs_id);
}

// ---- kernel versions and config ----------------------------------------------------------

TEST(PredictKernel, Kernel54NeedsCapSysAdmin) {
  const auto snap = load_host("kernel-5.4");
  for (const auto caps : {std::uint64_t{0}, kBpf | kPerfmon}) {
    const auto p = predict(snap, alice(caps), ProbeFlavour::raw_tp, kBinary);
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.stage, ProbeStage::load);
    EXPECT_EQ(p.errnum, EPERM);
    EXPECT_TRUE(contains(p.reason, "CAP_SYS_ADMIN")) << p.reason;
    EXPECT_EQ(p.remedy, "sudo setcap cap_sys_admin=ep /usr/bin/syscount");
  }
  EXPECT_TRUE(predict(snap, alice(kSysAdmin), ProbeFlavour::raw_tp, kBinary).ok);
  // 5.4's id files are 0444 and paranoid is 2, but the tracefs root is 0700.
  EXPECT_EQ(predict(snap, alice(kSysAdmin), ProbeFlavour::perf_tp, kBinary).stage, ProbeStage::tracefs_id);
  EXPECT_TRUE(predict(snap, alice(kSysAdmin | kDacRead), ProbeFlavour::perf_tp, kBinary).ok);
}

TEST(PredictKernel, BeforeRawTracepointsNothingLoads) {
  auto snap = load_host("kernel-5.4");
  snap.kernel = KernelVersion{4, 15, 0};
  const auto p = predict(snap, alice(kSysAdmin), ProbeFlavour::raw_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.stage, ProbeStage::load);
  EXPECT_EQ(p.errnum, EINVAL);
  EXPECT_TRUE(contains(p.reason, "4.17")) << p.reason;
}

TEST(PredictKernel, UnknownVersionIsUncertain) {
  auto snap = load_host("debian12-vm-6.18");
  snap.kernel.reset();
  const auto p = predict(snap, alice(kBpf | kPerfmon), ProbeFlavour::raw_tp, kBinary);
  EXPECT_TRUE(p.ok);
  EXPECT_FALSE(p.certain);
}

TEST(PredictKernel, NoBpfSyscallMeansEnosys) {
  auto snap = load_host("debian12-vm-6.18");
  (*snap.kernel_config)["CONFIG_BPF_SYSCALL"] = "n";
  const auto p = predict(snap, alice(kSysAdmin), ProbeFlavour::raw_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.stage, ProbeStage::load);
  EXPECT_EQ(p.errnum, ENOSYS);
}

TEST(PredictKernel, NoSyscallEventsStopsOnlyPerfTp) {
  for (const char* option : {"CONFIG_BPF_EVENTS", "CONFIG_FTRACE_SYSCALLS"}) {
    auto snap = load_host("debian12-vm-6.18");
    (*snap.kernel_config)[option] = "n";
    const auto perf = predict(snap, alice(kSysAdmin | kDacRead), ProbeFlavour::perf_tp, kBinary);
    EXPECT_FALSE(perf.ok) << option;
    EXPECT_EQ(perf.stage, ProbeStage::tracefs_id) << option;
    EXPECT_EQ(perf.errnum, ENOENT) << option;
    EXPECT_TRUE(contains(perf.remedy, "raw-tracepoint tool")) << perf.remedy;
  }
}

// ---- tracefs state -------------------------------------------------------------------------

TEST(PredictTracefs, NotMountedOnlyStopsPerfTp) {
  const auto snap = load_host("container-no-tracefs");
  const auto raw = predict(snap, alice(kBpf | kPerfmon), ProbeFlavour::raw_tp, kBinary);
  EXPECT_TRUE(raw.ok) << raw.reason;
  const auto perf = predict(snap, alice(kSysAdmin | kDacRead), ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(perf.ok);
  EXPECT_EQ(perf.stage, ProbeStage::tracefs_id);
  EXPECT_EQ(perf.errnum, ENOENT);
  EXPECT_TRUE(contains(perf.reason, "not mounted")) << perf.reason;
  EXPECT_EQ(perf.remedy, "sudo mount -t tracefs nodev /sys/kernel/tracing");
}

TEST(PredictTracefs, MissingEventFileIsEnoent) {
  auto snap = load_host("debian12-vm-6.18");
  snap.tracefs_id_chain[3].meta = SysError::from_errno(ENOENT, "stat /sys/kernel/tracing/events/raw_syscalls/sys_enter");
  const auto p = predict(snap, alice(kSysAdmin | kDacRead), ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.errnum, ENOENT);
  EXPECT_TRUE(p.certain);
  EXPECT_TRUE(contains(p.reason, "does not exist")) << p.reason;
}

TEST(PredictTracefs, UnstatablePathIsEaccesButUncertain) {
  auto snap = load_host("debian12-vm-6.18");
  snap.tracefs_id_chain[1].meta = SysError::from_errno(EACCES, "stat /sys/kernel/tracing/events");
  const auto p = predict(snap, alice(kBpf | kPerfmon | kDacRead), ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.stage, ProbeStage::tracefs_id);
  EXPECT_EQ(p.errnum, EACCES);
  EXPECT_FALSE(p.certain);
}

TEST(PredictTracefs, LiveOpenResultDecidesForThisProcessWhenAParentIsHidden) {
  auto snap = load_host("debian12-vm-6.18");
  snap.tracefs_id_chain[0].meta->mode = S_IFDIR | 0711;  // the root may be entered; events cannot be inspected
  snap.tracefs_id_chain[1].meta = SysError::from_errno(EACCES, "stat /sys/kernel/tracing/events");
  auto me = alice(kBpf | kPerfmon);
  me.name = "this process";
  me.this_process = true;

  snap.tracefs_id_open = Expected<void>(Ok{});
  EXPECT_TRUE(predict(snap, me, ProbeFlavour::perf_tp, kBinary).ok);

  snap.tracefs_id_open = Expected<void>(SysError::from_errno(EACCES, "open /sys/kernel/tracing/events/raw_syscalls/sys_enter/id"));
  const auto p = predict(snap, me, ProbeFlavour::perf_tp, kBinary);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.errnum, EACCES);
  EXPECT_TRUE(p.certain);
  EXPECT_TRUE(contains(p.reason, "Permission denied")) << p.reason;

  // Another subject cannot borrow this process's open() result.
  EXPECT_FALSE(predict(snap, alice(kBpf | kPerfmon), ProbeFlavour::perf_tp, kBinary).certain);
}

// ---- DAC --------------------------------------------------------------------------------------

FileMeta file(mode_t perms, uid_t uid, gid_t gid) { return FileMeta{S_IFREG | perms, uid, gid}; }
FileMeta dir(mode_t perms, uid_t uid, gid_t gid) { return FileMeta{S_IFDIR | perms, uid, gid}; }

TEST(Dac, OwnerClassDecidesWhenTheOwnerMatches) {
  const auto user = alice(0, {1000, 1001});
  EXPECT_FALSE(may_read(file(0044, 1000, 1001), user)) << "owner bit off: denied though group and other may";
  EXPECT_FALSE(may_search(dir(0011, 1000, 1001), user));
  EXPECT_TRUE(may_read(file(0400, 1000, 0), user));
  EXPECT_TRUE(may_search(dir(0100, 1000, 0), user));
}

TEST(Dac, GroupClassDecidesWhenAGroupMatches) {
  const auto user = alice(0, {1000, 1001});
  EXPECT_FALSE(may_read(file(0404, 0, 1001), user)) << "group bit off: denied though other may";
  EXPECT_TRUE(may_read(file(0440, 0, 1001), user));
  EXPECT_TRUE(may_read(file(0440, 0, 1000), alice(0, {})));  // primary group counts
  EXPECT_TRUE(may_search(dir(0710, 0, 1001), user));
  EXPECT_FALSE(may_search(dir(0760, 0, 1001), user)) << "read without execute does not allow search";
}

TEST(Dac, OtherClassOtherwise) {
  const auto user = alice(0);
  EXPECT_TRUE(may_read(file(0444, 0, 0), user));
  EXPECT_FALSE(may_read(file(0440, 0, 0), user));
  EXPECT_TRUE(may_search(dir(0701, 0, 0), user));
  EXPECT_FALSE(may_search(dir(0704, 0, 0), user));
}

TEST(Dac, DacCapabilitiesBypassModes) {
  EXPECT_TRUE(may_read(file(0000, 0, 0), alice(kDacRead)));
  EXPECT_TRUE(may_search(dir(0000, 0, 0), alice(kDacRead)));
  EXPECT_TRUE(may_read(file(0000, 0, 0), alice(cap_bit(kCapDacOverride))));
  EXPECT_FALSE(may_read(file(0000, 0, 0), alice(kSysAdmin))) << "CAP_SYS_ADMIN does not bypass file modes";
}

TEST(Dac, SubjectGroups) {
  const auto user = alice(0, {27, 1001});
  EXPECT_TRUE(user.in_group(1000));
  EXPECT_TRUE(user.in_group(1001));
  EXPECT_FALSE(user.in_group(0));
}

TEST(SubjectFromSnapshot, UsesEffectiveIdsAndCaps) {
  const auto subject = subject_from_snapshot(load_host("unpriv-bpf-enabled"));
  EXPECT_EQ(subject.name, "this process");
  EXPECT_EQ(subject.uid, 1000U);
  EXPECT_EQ(subject.gid, 1000U);
  EXPECT_EQ(subject.groups, (std::vector<gid_t>{24, 27, 1000, 1001}));
  EXPECT_EQ(subject.effective_caps, kBpf | kPerfmon);
}

TEST(SubjectFromSnapshot, WithoutCredsHasNoCapabilities) {
  const auto subject = subject_from_snapshot(Snapshot{});
  EXPECT_EQ(subject.effective_caps, 0U);
}

// ---- explaining real failures ---------------------------------------------------------------

ProbeOutcome failed(ProbeStage stage, int errnum) {
  ProbeOutcome o;
  o.stage = stage;
  o.errnum = errnum;
  o.detail = "detail";
  return o;
}

TEST(ExplainProbeFailure, OneLinePerStageAndErrno) {
  const auto snap = load_host("ubuntu2204-paranoid4");
  const auto none = load_host("container-no-tracefs");
  auto says = [](const std::string& text, const char* words) {
    EXPECT_TRUE(contains(text, words)) << text;
    EXPECT_FALSE(contains(text, "\n")) << text;
  };
  says(explain_probe_failure(failed(ProbeStage::open, ENOENT), snap), "could not be opened");
  says(explain_probe_failure(failed(ProbeStage::load, EPERM), snap), "CAP_BPF and CAP_PERFMON");
  says(explain_probe_failure(failed(ProbeStage::load, EPERM), snap), "Operation not permitted");
  says(explain_probe_failure(failed(ProbeStage::load, ENOSYS), snap), "no bpf() system call");
  says(explain_probe_failure(failed(ProbeStage::load, EINVAL), snap), "verifier");
  says(explain_probe_failure(failed(ProbeStage::tracefs_id, EACCES), snap), "not readable by this process");
  says(explain_probe_failure(failed(ProbeStage::tracefs_id, ENOENT), none), "tracefs is not mounted");
  says(explain_probe_failure(failed(ProbeStage::tracefs_id, ENOENT), snap), "could not be read");
  says(explain_probe_failure(failed(ProbeStage::perf_event_open, EACCES), snap), "perf_event_paranoid is 4");
  says(explain_probe_failure(failed(ProbeStage::perf_event_open, EACCES), Snapshot{}), "perf_event_paranoid is unknown");
  says(explain_probe_failure(failed(ProbeStage::perf_event_open, EINVAL), snap), "perf_event_open failed");
  says(explain_probe_failure(failed(ProbeStage::attach, ENOENT), snap), "tracepoint does not exist");
  says(explain_probe_failure(failed(ProbeStage::attach, EBUSY), snap), "attaching the program failed");
  says(explain_probe_failure(failed(ProbeStage::trigger, EIO), snap), "triggering");
  EXPECT_EQ(explain_probe_failure(failed(ProbeStage::readback, 0), snap), "detail");
  EXPECT_FALSE(contains(explain_probe_failure(failed(ProbeStage::attach, 0), snap), "("));
}

// ---- fix lines are shell words -------------------------------------------------------------
// A path or user name in a fix line is host-provided: it is shell-quoted, so
// copying the line runs the one command it names. Ordinary paths stay bare.

constexpr const char* kEvil = "/tmp/x;id>&2;#/ebpf_diag";
constexpr const char* kEvilQuoted = "'/tmp/x;id>&2;#/ebpf_diag'";

TEST(RemedyQuoting, SetcapQuotesTheBinary) {
  const auto snap = load_host("debian12-vm-6.18");
  const std::string quoted = kEvilQuoted;
  EXPECT_EQ(predict(snap, alice(0), ProbeFlavour::raw_tp, kEvil).remedy,
            "sudo setcap cap_bpf,cap_perfmon=ep " + quoted);
  EXPECT_EQ(predict(load_host("kernel-5.4"), alice(0), ProbeFlavour::raw_tp, kEvil).remedy,
            "sudo setcap cap_sys_admin=ep " + quoted);
  EXPECT_EQ(predict(snap, alice(0), ProbeFlavour::raw_tp, "/it's here/syscount").remedy,
            R"(sudo setcap cap_bpf,cap_perfmon=ep '/it'\''s here/syscount')");
}

TEST(RemedyQuoting, TracefsSetupQuotesUserAndBinary) {
  const auto snap = load_host("debian12-vm-6.18");
  auto eve = alice(kBpf | kPerfmon);
  eve.name = "eve;reboot";
  EXPECT_EQ(predict(snap, eve, ProbeFlavour::perf_tp, kEvil).remedy,
            std::string("sudo tracefs-setup apply --tracefs-read --user 'eve;reboot' --binary ") + kEvilQuoted);
  auto self = subject_from_snapshot(load_host("ubuntu2204-paranoid4"));
  EXPECT_EQ(predict(load_host("ubuntu2204-paranoid4"), self, ProbeFlavour::perf_tp, "").remedy,
            "sudo tracefs-setup apply --tracefs-read --user $USER");
}

TEST(RemedyQuoting, ChecksQuoteBinaryAndMountTargets) {
  auto snap = load_host("container-no-tracefs");
  snap.binary_path = kEvil;
  const std::string quoted = kEvilQuoted;
  // ebpf_diag never proposes capabilities for itself (the verdicts carry the fix).
  EXPECT_FALSE(contains(unit::run_one(snap, "caps.effective").remedy, "setcap"));
  snap.binary_caps = std::optional<FileCaps>(FileCaps{kBpf | kPerfmon | kSysAdmin, 0, true, "cap_sys_admin,cap_bpf,cap_perfmon=ep"});
  EXPECT_EQ(unit::run_one(snap, "caps.binary").remedy, "sudo setcap cap_bpf,cap_perfmon=ep " + quoted);

  auto old = load_host("kernel-5.4");
  old.binary_path = kEvil;
  EXPECT_FALSE(contains(unit::run_one(old, "caps.effective").remedy, "setcap"));

  auto open = load_host("unpriv-bpf-enabled");  // tracefs 0770 group 1001, debugfs 0755
  const std::string target = "/sys/kernel/trac ing;reboot";
  open.tracefs->target = target;
  open.debugfs->target = "/sys/kernel/de$(reboot)bug";
  EXPECT_EQ(unit::run_one(open, "tracefs.mode").remedy,
            "sudo chmod g-w '/sys/kernel/trac ing;reboot'  (read-only group access: sudo tracefs-setup apply "
            "--tracefs-read)");
  EXPECT_EQ(unit::run_one(open, "debugfs.mode").remedy, "sudo mount -o remount,mode=0700 '/sys/kernel/de$(reboot)bug'");
}

}  // namespace
}  // namespace bpfready
