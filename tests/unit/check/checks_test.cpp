// The check table: every check's pass/warn/fail/skip/error branches over the
// fixture hosts and over snapshots changed by hand, the safety of every
// remedy, and the verdicts derived from predictions and probes.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "libcheck/caps.h"
#include "libcheck/checks.h"
#include "libcheck/report.h"
#include "support/unit.h"

namespace bpfready {
namespace {

using unit::contains;
using unit::evidence;
using unit::load_host;
using unit::run_one;

constexpr std::uint64_t kBpfPerfmon = cap_bit(kCapBpf) | cap_bit(kCapPerfmon);

// ---- the table ------------------------------------------------------------------------------

TEST(CheckTable, IdsAreUniqueAndEveryRowIsComplete) {
  std::set<std::string_view> ids;
  const std::set<std::string_view> groups = {"kernel", "config", "sysctl", "capabilities", "tracefs", "security", "probe"};
  for (const auto& def : check_table()) {
    EXPECT_TRUE(ids.insert(def.id).second) << "duplicate id " << def.id;
    EXPECT_TRUE(std::regex_match(std::string(def.id), std::regex(R"([a-z0-9_]+(\.[a-z0-9_]+)+)"))) << def.id;
    EXPECT_FALSE(def.title.empty()) << def.id;
    EXPECT_TRUE(groups.count(def.group)) << def.id << " group " << def.group;
    EXPECT_FALSE(def.needs.empty()) << def.id;
    EXPECT_TRUE(static_cast<bool>(def.evaluate)) << def.id;
  }
  for (const char* documented : {"sysctl.unprivileged_bpf_disabled", "sysctl.perf_event_paranoid", "sysctl.kptr_restrict",
                                 "tracefs.mounted", "tracefs.mode", "tracefs.event_id", "caps.effective",
                                 "caps.bounding", "caps.binary", "config.source", "btf.vmlinux", "lockdown.mode",
                                 "debugfs.mode", "probe.raw_tp", "probe.perf_tp", "kernel.release", "kernel.memlock"}) {
    EXPECT_TRUE(ids.count(documented)) << documented;
  }
}

TEST(CheckTable, FindCheck) {
  ASSERT_NE(find_check("caps.effective"), nullptr);
  EXPECT_EQ(find_check("caps.effective")->id, "caps.effective");
  EXPECT_EQ(find_check("caps.nonexistent"), nullptr);
  EXPECT_EQ(find_check(""), nullptr);
}

TEST(RunChecks, RunsEveryCheckOnceInTableOrder) {
  const auto results = run_checks(load_host("container-no-tracefs"));
  ASSERT_EQ(results.size(), check_table().size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].id, check_table()[i].id);
    EXPECT_EQ(results[i].title, check_table()[i].title);
    EXPECT_EQ(results[i].group, check_table()[i].group);
    EXPECT_FALSE(results[i].reason.empty()) << results[i].id;
    EXPECT_FALSE(contains(results[i].reason, "\n")) << results[i].id << ": reason is one line";
  }
}

TEST(RunChecks, RunsOnlyTheNamedChecks) {
  const auto results = run_checks(load_host("debian12-vm-6.18"), {"tracefs.mode", "caps.effective"});
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[0].id, "caps.effective");  // table order, not argument order
  EXPECT_EQ(results[1].id, "tracefs.mode");
}

// ---- expected statuses on each fixture host ------------------------------------------------

struct Expectation {
  const char* host;
  const char* id;
  Status status;
};

void PrintTo(const Expectation& e, std::ostream* os) { *os << e.host << " " << e.id; }

class FixtureStatus : public ::testing::TestWithParam<Expectation> {};

TEST_P(FixtureStatus, IsAsExpected) {
  const auto& e = GetParam();
  const auto r = run_one(load_host(e.host), e.id);
  EXPECT_EQ(r.status, e.status) << e.host << " " << e.id << ": got " << to_string(r.status) << ": " << r.reason;
}

std::string ExpectationName(const ::testing::TestParamInfo<Expectation>& e) {
  std::string name = std::string(e.param.host) + "_" + e.param.id;
  for (auto& c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  }
  return name;
}

constexpr Status P = Status::pass, I = Status::info, W = Status::warn, F = Status::fail, S = Status::skip;

INSTANTIATE_TEST_SUITE_P(
    Hosts, FixtureStatus,
    ::testing::Values(
        Expectation{"debian12-vm-6.18", "kernel.release", P}, Expectation{"debian12-vm-6.18", "kernel.memlock", P},
        Expectation{"debian12-vm-6.18", "config.source", P}, Expectation{"debian12-vm-6.18", "config.kprobes", I},
        Expectation{"debian12-vm-6.18", "config.bpf_jit_always_on", P}, Expectation{"debian12-vm-6.18", "btf.vmlinux", P},
        Expectation{"debian12-vm-6.18", "sysctl.unprivileged_bpf_disabled", P},
        Expectation{"debian12-vm-6.18", "sysctl.perf_event_paranoid", P},
        Expectation{"debian12-vm-6.18", "sysctl.kptr_restrict", W}, Expectation{"debian12-vm-6.18", "sysctl.bpf_jit_enable", P},
        Expectation{"debian12-vm-6.18", "sysctl.bpf_jit_harden", P}, Expectation{"debian12-vm-6.18", "sysctl.persisted", P},
        Expectation{"debian12-vm-6.18", "caps.effective", P}, Expectation{"debian12-vm-6.18", "caps.bounding", P},
        Expectation{"debian12-vm-6.18", "caps.binary", S}, Expectation{"debian12-vm-6.18", "tracefs.mounted", P},
        Expectation{"debian12-vm-6.18", "tracefs.mode", P}, Expectation{"debian12-vm-6.18", "tracefs.event_id", P},
        Expectation{"debian12-vm-6.18", "debugfs.mode", P}, Expectation{"debian12-vm-6.18", "lockdown.mode", S},
        Expectation{"debian12-vm-6.18", "probe.raw_tp", S}, Expectation{"debian12-vm-6.18", "probe.perf_tp", S},

        Expectation{"ubuntu2204-paranoid4", "sysctl.perf_event_paranoid", W},
        Expectation{"ubuntu2204-paranoid4", "caps.effective", P},
        Expectation{"ubuntu2204-paranoid4", "tracefs.event_id", F}, Expectation{"ubuntu2204-paranoid4", "tracefs.mode", P},
        Expectation{"ubuntu2204-paranoid4", "debugfs.mode", P}, Expectation{"ubuntu2204-paranoid4", "lockdown.mode", P},
        Expectation{"ubuntu2204-paranoid4", "config.kprobes", P}, Expectation{"ubuntu2204-paranoid4", "kernel.memlock", P},

        Expectation{"container-no-tracefs", "config.source", W},
        Expectation{"container-no-tracefs", "config.bpf_syscall", S},
        Expectation{"container-no-tracefs", "caps.effective", F}, Expectation{"container-no-tracefs", "caps.bounding", W},
        Expectation{"container-no-tracefs", "tracefs.mounted", W}, Expectation{"container-no-tracefs", "tracefs.mode", S},
        Expectation{"container-no-tracefs", "tracefs.event_id", S},
        Expectation{"container-no-tracefs", "lockdown.mode", S}, Expectation{"container-no-tracefs", "btf.vmlinux", P},
        Expectation{"container-no-tracefs", "sysctl.perf_event_paranoid", W},

        Expectation{"kernel-5.4", "kernel.release", W}, Expectation{"kernel-5.4", "kernel.memlock", W},
        Expectation{"kernel-5.4", "btf.vmlinux", W}, Expectation{"kernel-5.4", "config.debug_info_btf", W},
        Expectation{"kernel-5.4", "config.bpf_unpriv_default_off", I},
        Expectation{"kernel-5.4", "sysctl.unprivileged_bpf_disabled", W}, Expectation{"kernel-5.4", "caps.effective", F},

        Expectation{"lockdown-confidentiality", "lockdown.mode", W},
        Expectation{"lockdown-confidentiality", "sysctl.perf_event_paranoid", W},
        Expectation{"lockdown-confidentiality", "caps.effective", P},
        Expectation{"lockdown-confidentiality", "tracefs.event_id", F},

        Expectation{"unpriv-bpf-enabled", "sysctl.unprivileged_bpf_disabled", W},
        Expectation{"unpriv-bpf-enabled", "sysctl.kptr_restrict", W},
        Expectation{"unpriv-bpf-enabled", "sysctl.persisted", W}, Expectation{"unpriv-bpf-enabled", "tracefs.mode", W},
        Expectation{"unpriv-bpf-enabled", "debugfs.mode", W}, Expectation{"unpriv-bpf-enabled", "tracefs.event_id", P},

        Expectation{"tracefs-group-read", "tracefs.mode", P}, Expectation{"tracefs-group-read", "tracefs.event_id", P},
        Expectation{"tracefs-group-read", "caps.effective", P}, Expectation{"tracefs-group-read", "sysctl.kptr_restrict", P}),
    ExpectationName);

TEST(FixtureHosts, NoErrorsAndFindingsOnlyWhereTheHostIsWeakened) {
  const std::map<std::string, std::set<std::string>> findings = {
      {"debian12-vm-6.18", {"sysctl.kptr_restrict"}},
      {"ubuntu2204-paranoid4", {}},
      {"container-no-tracefs", {}},
      {"kernel-5.4", {"sysctl.unprivileged_bpf_disabled"}},
      {"lockdown-confidentiality", {}},
      {"unpriv-bpf-enabled",
       {"sysctl.unprivileged_bpf_disabled", "sysctl.kptr_restrict", "sysctl.persisted", "tracefs.mode", "debugfs.mode"}},
      {"tracefs-group-read", {}},
      {"custom-6.6-no-btf", {"sysctl.kptr_restrict"}},
      {"debian11-5.10", {}},
      {"rhel8-4.18", {"sysctl.kptr_restrict"}},
  };
  for (const auto& host : unit::fixture_hosts()) {
    std::set<std::string> got;
    for (const auto& r : run_checks(load_host(host))) {
      EXPECT_NE(r.status, Status::error) << host << " " << r.id << ": " << r.reason;
      if (r.security_finding) got.insert(r.id);
      if (r.security_finding) {
        EXPECT_EQ(r.status, Status::warn) << host << " " << r.id;
      }
    }
    EXPECT_EQ(got, findings.at(host)) << host;
  }
}

// ---- remedies --------------------------------------------------------------------------------

// Every remedy any check or verdict gives on every host (plus the hand-made
// variants below) must not repeat the reference documents' harmful advice.
void expect_safe_remedy(const std::string& where, const std::string& remedy) {
  static const std::regex unpriv(R"(unprivileged_bpf_disabled\s*=\s*0)");
  static const std::regex kptr(R"(kptr_restrict\s*=\s*0)");
  static const std::regex paranoid(R"(perf_event_paranoid\s*=\s*(-|[01]\b))");
  EXPECT_FALSE(std::regex_search(remedy, unpriv)) << where << ": " << remedy;
  EXPECT_FALSE(std::regex_search(remedy, kptr)) << where << ": " << remedy;
  EXPECT_FALSE(std::regex_search(remedy, paranoid)) << where << ": " << remedy;
  EXPECT_FALSE(contains(remedy, "g+rwx")) << where << ": " << remedy;
  EXPECT_FALSE(contains(remedy, "chmod -R")) << where << ": " << remedy;
  EXPECT_FALSE(contains(remedy, "mode=755")) << where << ": " << remedy;
  EXPECT_FALSE(contains(remedy, "udev")) << where << ": " << remedy;
  EXPECT_FALSE(contains(remedy, "\n")) << where << ": " << remedy;
}

TEST(Remedies, NeverLoosenTheHost) {
  for (const auto& host : unit::fixture_hosts()) {
    const auto snap = load_host(host);
    for (const auto& r : run_checks(snap)) expect_safe_remedy(host + " " + r.id, r.remedy);
    for (const auto& v : derive_verdicts(snap, subject_from_snapshot(snap), "/usr/bin/syscount")) {
      expect_safe_remedy(host + " verdict " + v.id, v.remedy);
      expect_safe_remedy(host + " prediction " + v.id, v.prediction.remedy);
      for (const auto& step : v.fix_steps) expect_safe_remedy(host + " fix step " + v.id, step);
    }
  }
}

TEST(Remedies, EveryFailHasAFix) {
  for (const auto& host : unit::fixture_hosts()) {
    for (const auto& r : run_checks(load_host(host))) {
      if (r.status == Status::fail) {
        EXPECT_FALSE(r.remedy.empty()) << host << " " << r.id;
      }
      if (r.status == Status::pass || r.status == Status::skip) {
        EXPECT_TRUE(r.remedy.empty()) << host << " " << r.id;
      }
    }
  }
}

// ebpf_diag's own capabilities are not what a user needs: the fix points
// to the verdicts, which name the profiling tool, never ebpf_diag itself.
TEST(Remedies, CapabilityRemedyPointsToTheVerdicts) {
  auto snap = load_host("container-no-tracefs");
  snap.binary_path = "/usr/local/bin/ebpf_diag";
  const auto r = run_one(snap, "caps.effective");
  ASSERT_EQ(r.status, Status::fail);
  EXPECT_FALSE(contains(r.remedy, "setcap")) << r.remedy;
  EXPECT_FALSE(contains(r.remedy, "/usr/local/bin/ebpf_diag")) << r.remedy;
  EXPECT_TRUE(contains(r.remedy, "verdicts")) << r.remedy;
  EXPECT_TRUE(contains(r.reason, "missing CAP_BPF and CAP_PERFMON")) << r.reason;
}

TEST(Remedies, MissingConfigIsUnknownNeverUnsupported) {
  for (const auto& r : run_checks(load_host("container-no-tracefs"))) {
    if (r.group != "config") continue;
    EXPECT_TRUE(contains(r.reason, "unknown")) << r.id << ": " << r.reason;
    std::string reason = r.reason;
    if (const auto at = reason.find("not unsupported"); at != std::string::npos) reason.erase(at, 15);
    EXPECT_FALSE(contains(reason, "unsupported")) << r.id << ": " << r.reason;
    EXPECT_FALSE(contains(reason, "not supported")) << r.id << ": " << r.reason;
    EXPECT_NE(r.status, Status::fail) << r.id;
    if (r.id != "config.source") {
      EXPECT_EQ(evidence(r, std::string(find_check(r.id)->title)), "unknown") << r.id;
    }
  }
  const auto source = run_one(load_host("container-no-tracefs"), "config.source");
  EXPECT_TRUE(contains(evidence(source, "searched"), "/proc/config.gz /boot/config-6.8.0-45-generic"));
}

// ---- each check's branches over hand-changed snapshots ---------------------------------------

Snapshot vm() { return load_host("debian12-vm-6.18"); }

TEST(KernelChecks, ReleaseBranches) {
  auto s = vm();
  EXPECT_EQ(evidence(run_one(s, "kernel.release"), "release"), "6.18.44-fc-v769");
  s.kernel = KernelVersion{4, 15, 0};
  auto r = run_one(s, "kernel.release");
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_TRUE(contains(r.reason, "4.17"));
  s.kernel.reset();
  EXPECT_EQ(run_one(s, "kernel.release").status, Status::warn);
  s.kernel_release.clear();
  r = run_one(s, "kernel.release");
  EXPECT_EQ(r.status, Status::error);
  EXPECT_TRUE(contains(r.reason, "osrelease"));
}

TEST(KernelChecks, MemlockBranches) {
  auto s = load_host("kernel-5.4");
  auto r = run_one(s, "kernel.memlock");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_EQ(evidence(r, "RLIMIT_MEMLOCK"), "65536 bytes");
  EXPECT_TRUE(contains(r.remedy, "memlock"));
  s.memlock_limit_bytes.reset();  // unlimited
  r = run_one(s, "kernel.memlock");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "RLIMIT_MEMLOCK"), "unlimited");
  s.memlock_limit_bytes = 64L * 1024 * 1024;
  EXPECT_EQ(run_one(s, "kernel.memlock").status, Status::pass);
  s.kernel = KernelVersion{5, 11, 0};
  s.memlock_limit_bytes = 65536;
  EXPECT_EQ(run_one(s, "kernel.memlock").status, Status::pass) << "memcg accounting from 5.11";
  s.kernel.reset();
  EXPECT_EQ(run_one(s, "kernel.memlock").status, Status::skip);
}

TEST(ConfigChecks, RolesDecideTheStatusOfAnUnsetOption) {
  auto s = vm();
  auto& config = *s.kernel_config;
  config["CONFIG_BPF_SYSCALL"] = "n";          // required
  config["CONFIG_BPF_EVENTS"] = "n";           // required for perf_tp
  config.erase("CONFIG_DEBUG_INFO_BTF");       // recommended, absent
  config["CONFIG_BPF_UNPRIV_DEFAULT_OFF"] = "n";  // informational
  auto r = run_one(s, "config.bpf_syscall");
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_EQ(r.remedy, "boot a kernel built with CONFIG_BPF_SYSCALL=y");
  EXPECT_EQ(evidence(r, "CONFIG_BPF_SYSCALL"), "n");
  EXPECT_EQ(run_one(s, "config.bpf_events").status, Status::warn);
  r = run_one(s, "config.debug_info_btf");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_EQ(evidence(r, "CONFIG_DEBUG_INFO_BTF"), "absent");
  r = run_one(s, "config.bpf_unpriv_default_off");
  EXPECT_EQ(r.status, Status::info) << "informational: neither a pass nor a problem";
  EXPECT_TRUE(r.remedy.empty());
  config["CONFIG_KPROBES"] = "n";
  r = run_one(s, "config.kprobes");
  EXPECT_EQ(r.status, Status::info) << r.reason;
  EXPECT_TRUE(contains(r.reason, "kprobe-based tools fail"));
  r = run_one(s, "config.bpf_jit");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "CONFIG_BPF_JIT"), "y");
}

TEST(KernelChecks, Btf) {
  auto s = vm();
  EXPECT_EQ(evidence(run_one(s, "btf.vmlinux"), "/sys/kernel/btf/vmlinux"), "present");
  s.btf_vmlinux = false;
  const auto r = run_one(s, "btf.vmlinux");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(contains(r.remedy, "CONFIG_DEBUG_INFO_BTF=y"));
  // What syscount really does without BTF, as its pre-flight decides.
  EXPECT_TRUE(contains(r.reason, "syscount uses its raw_tp fallback")) << r.reason;
  EXPECT_EQ(syscount_flavour(s), ProbeFlavour::raw_tp);
}

TEST(SysctlChecks, UnprivilegedBpf) {
  auto s = vm();
  auto set = [&](std::optional<long> v) {
    s.sysctls["kernel.unprivileged_bpf_disabled"] = v;
    return run_one(s, "sysctl.unprivileged_bpf_disabled");
  };
  auto r = set(0);
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(r.security_finding);
  EXPECT_TRUE(contains(r.remedy, "kernel.unprivileged_bpf_disabled=2"));
  r = set(1);
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_TRUE(contains(r.reason, "sticky"));
  r = set(2);
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_FALSE(r.security_finding);
  r = set(std::nullopt);
  EXPECT_EQ(r.status, Status::skip);
  EXPECT_EQ(evidence(r, "kernel.unprivileged_bpf_disabled"), "unreadable");
}

TEST(SysctlChecks, PerfEventParanoid) {
  auto s = load_host("ubuntu2204-paranoid4");
  auto r = run_one(s, "sysctl.perf_event_paranoid");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(contains(r.reason, "restriction patch"));
  EXPECT_TRUE(contains(r.reason, "raw-tracepoint tools are unaffected"));
  EXPECT_EQ(evidence(r, "CONFIG_SECURITY_PERF_EVENTS_RESTRICT"), "y");
  EXPECT_FALSE(r.security_finding);

  s.kernel_config->erase("CONFIG_SECURITY_PERF_EVENTS_RESTRICT");  // mainline: >2 is 2
  r = run_one(s, "sysctl.perf_event_paranoid");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "CONFIG_SECURITY_PERF_EVENTS_RESTRICT"), "n");

  s.kernel_config.reset();  // unknown: may apply
  r = run_one(s, "sysctl.perf_event_paranoid");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(contains(r.reason, "may apply"));
  EXPECT_EQ(evidence(r, "CONFIG_SECURITY_PERF_EVENTS_RESTRICT"), "unknown");

  s.sysctls["kernel.perf_event_paranoid"] = -1;
  r = run_one(s, "sysctl.perf_event_paranoid");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(r.security_finding);
  EXPECT_TRUE(contains(r.remedy, "perf_event_paranoid=2"));

  s.sysctls["kernel.perf_event_paranoid"] = std::nullopt;
  EXPECT_EQ(run_one(s, "sysctl.perf_event_paranoid").status, Status::skip);
}

TEST(SysctlChecks, KptrRestrict) {
  auto s = vm();
  auto r = run_one(s, "sysctl.kptr_restrict");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(contains(r.reason, "does not affect loading or attaching"));
  EXPECT_EQ(r.remedy, "sudo sysctl -w kernel.kptr_restrict=1");
  s.sysctls["kernel.kptr_restrict"] = 2;
  EXPECT_EQ(run_one(s, "sysctl.kptr_restrict").status, Status::pass);
  s.sysctls["kernel.kptr_restrict"] = std::nullopt;
  EXPECT_EQ(run_one(s, "sysctl.kptr_restrict").status, Status::skip);
}

TEST(SysctlChecks, JitEnable) {
  auto s = vm();  // CONFIG_BPF_JIT_ALWAYS_ON=y
  auto set = [&](std::optional<long> v) {
    s.sysctls["net.core.bpf_jit_enable"] = v;
    return run_one(s, "sysctl.bpf_jit_enable");
  };
  EXPECT_EQ(set(1).status, Status::pass);
  auto r = set(2);
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(r.security_finding);
  r = set(0);
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_TRUE(contains(r.reason, "CONFIG_BPF_JIT_ALWAYS_ON"));
  EXPECT_EQ(r.remedy, "sudo sysctl -w net.core.bpf_jit_enable=1");
  (*s.kernel_config)["CONFIG_BPF_JIT_ALWAYS_ON"] = "n";
  r = set(0);
  EXPECT_EQ(r.status, Status::pass) << "the interpreter works: JIT is not a requirement";
  EXPECT_TRUE(contains(r.reason, "interpreter"));
  EXPECT_EQ(set(std::nullopt).status, Status::skip);
}

TEST(SysctlChecks, JitHarden) {
  auto s = vm();
  auto r = run_one(s, "sysctl.bpf_jit_harden");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_TRUE(contains(r.reason, "no constant blinding"));
  s.sysctls["net.core.bpf_jit_harden"] = 2;
  EXPECT_TRUE(contains(run_one(s, "sysctl.bpf_jit_harden").reason, "constant blinding on"));
  s.sysctls["net.core.bpf_jit_harden"] = std::nullopt;
  EXPECT_EQ(run_one(s, "sysctl.bpf_jit_harden").status, Status::skip);
}

TEST(SysctlChecks, Persisted) {
  auto s = load_host("unpriv-bpf-enabled");
  auto r = run_one(s, "sysctl.persisted");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(r.security_finding);
  EXPECT_TRUE(contains(r.reason, "/etc/sysctl.d/99-ebpf.conf sets kernel.unprivileged_bpf_disabled=0 (and 1 more)"))
      << r.reason;
  EXPECT_EQ(evidence(r, "/etc/sysctl.d/99-ebpf.conf"), "kernel.unprivileged_bpf_disabled = 0");
  EXPECT_TRUE(contains(r.remedy, "sysctl --system"));

  s.persisted_sysctls = {{"/etc/sysctl.d/10-perf.conf", "kernel.perf_event_paranoid", "-1"}};
  r = run_one(s, "sysctl.persisted");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_FALSE(contains(r.reason, "more"));

  s.persisted_sysctls = {{"/etc/sysctl.d/10-ok.conf", "kernel.unprivileged_bpf_disabled", "2"},
                         {"/etc/sysctl.d/20-odd.conf", "kernel.kptr_restrict", "zero"}};
  r = run_one(s, "sysctl.persisted");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "/etc/sysctl.d/10-ok.conf"), "kernel.unprivileged_bpf_disabled = 2");
}

TEST(CapabilityChecks, Effective) {
  auto s = load_host("ubuntu2204-paranoid4");
  auto r = run_one(s, "caps.effective");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "effective"), "cap_perfmon,cap_bpf");
  EXPECT_EQ(evidence(r, "euid"), "1000");
  s.creds->cap_effective = cap_bit(kCapSysAdmin);
  r = run_one(s, "caps.effective");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_TRUE(contains(r.reason, "CAP_SYS_ADMIN"));
  s.creds->cap_effective = cap_bit(kCapBpf);
  r = run_one(s, "caps.effective");
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_TRUE(contains(r.reason, "missing CAP_PERFMON"));
  s.creds.reset();
  EXPECT_EQ(run_one(s, "caps.effective").status, Status::error);
}

TEST(CapabilityChecks, Bounding) {
  auto s = load_host("container-no-tracefs");
  auto r = run_one(s, "caps.bounding");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(contains(r.remedy, "--cap-add BPF --cap-add PERFMON"));
  s.creds->cap_bounding |= kBpfPerfmon;
  EXPECT_EQ(run_one(s, "caps.bounding").status, Status::pass);
  s.creds.reset();
  EXPECT_EQ(run_one(s, "caps.bounding").status, Status::error);
}

// Regression (fixed in 93fbf6c): before 5.8 CAP_BPF and CAP_PERFMON do not
// exist, so caps.effective must ask for cap_sys_admin, as the verdict does,
// and bits 38/39 must not make a 5.4 process pass.
TEST(CapabilityChecks, EffectiveOnKernel54AgreesWithThePrediction) {
  auto s = load_host("kernel-5.4");
  auto r = run_one(s, "caps.effective");
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_FALSE(contains(r.remedy, "cap_bpf")) << r.remedy;
  EXPECT_TRUE(contains(r.reason, "missing CAP_SYS_ADMIN")) << r.reason;
  s.creds->cap_effective = kBpfPerfmon;
  EXPECT_EQ(run_one(s, "caps.effective").status, Status::fail) << "CAP_BPF means nothing to 5.4";
}

// Regression (fixed in 93fbf6c): a 5.4 bounding set can never hold
// CAP_BPF/CAP_PERFMON (the kernel knows capabilities up to 37), so the check
// must not warn on every 5.4 host or suggest "docker run --cap-add BPF".
TEST(CapabilityChecks, BoundingOnKernel54DoesNotAskForCapBpf) {
  auto s = load_host("kernel-5.4");
  const auto r = run_one(s, "caps.bounding");
  EXPECT_EQ(r.status, Status::pass) << r.reason;  // the 5.4 bounding set is full (0x3fffffffff)
  EXPECT_FALSE(contains(r.remedy, "BPF")) << r.remedy;
}

TEST(CapabilityChecks, BinaryFileCaps) {
  auto s = vm();
  EXPECT_EQ(run_one(s, "caps.binary").status, Status::skip);
  s.binary_path = "/usr/bin/syscount";
  auto r = run_one(s, "caps.binary");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "file_caps"), "none");
  s.binary_caps = std::optional<FileCaps>{FileCaps{kBpfPerfmon, 0, true, "cap_bpf,cap_perfmon=ep"}};
  r = run_one(s, "caps.binary");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "file_caps"), "cap_bpf,cap_perfmon=ep");
  s.binary_caps = std::optional<FileCaps>{FileCaps{kBpfPerfmon | cap_bit(kCapSysAdmin), 0, true, "cap_sys_admin,cap_bpf,cap_perfmon=ep"}};
  r = run_one(s, "caps.binary");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(r.security_finding);
  EXPECT_TRUE(contains(r.reason, "cap_sys_admin"));
  EXPECT_EQ(r.remedy, "sudo setcap cap_bpf,cap_perfmon=ep /usr/bin/syscount");
  s.binary_caps = SysError::from_errno(EACCES, "read capabilities of /usr/bin/syscount");
  EXPECT_EQ(run_one(s, "caps.binary").status, Status::error);
}

TEST(TracefsChecks, Mounted) {
  auto s = vm();
  auto r = run_one(s, "tracefs.mounted");
  EXPECT_EQ(evidence(r, "target"), "/sys/kernel/tracing");
  s.mounts = SysError::from_errno(ENOENT, "parse /proc/self/mountinfo");
  EXPECT_EQ(run_one(s, "tracefs.mounted").status, Status::error);
  r = run_one(load_host("container-no-tracefs"), "tracefs.mounted");
  EXPECT_TRUE(contains(r.reason, "raw-tracepoint tools do not need it"));
  EXPECT_EQ(r.remedy, "sudo mount -t tracefs nodev /sys/kernel/tracing");
}

TEST(TracefsChecks, Mode) {
  auto s = vm();
  auto r = run_one(s, "tracefs.mode");
  EXPECT_EQ(evidence(r, "mode"), "0700");
  s.tracefs_id_chain.front().meta->mode = S_IFDIR | 0755;
  r = run_one(s, "tracefs.mode");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_TRUE(r.security_finding);
  EXPECT_TRUE(contains(r.reason, "every user"));
  EXPECT_TRUE(contains(r.remedy, "chmod 0700 /sys/kernel/tracing"));

  r = run_one(load_host("unpriv-bpf-enabled"), "tracefs.mode");
  EXPECT_TRUE(contains(r.reason, "writable by group 1001"));
  EXPECT_TRUE(contains(r.remedy, "chmod g-w /sys/kernel/tracing"));

  s.tracefs_id_chain.front().meta = SysError::from_errno(EACCES, "stat /sys/kernel/tracing");
  r = run_one(s, "tracefs.mode");
  EXPECT_EQ(r.status, Status::error);
  EXPECT_TRUE(contains(r.reason, "Permission denied"));
  s.tracefs_id_chain.clear();
  EXPECT_EQ(run_one(s, "tracefs.mode").status, Status::error);
}

TEST(TracefsChecks, EventIdFromTheModelAndFromTheLiveOpen) {
  auto s = load_host("ubuntu2204-paranoid4");
  auto r = run_one(s, "tracefs.event_id");
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_TRUE(contains(r.remedy, "tracefs-setup apply --tracefs-read --user $USER")) << r.remedy;
  EXPECT_EQ(evidence(r, "/sys/kernel/tracing"), "0700 0:0");
  EXPECT_EQ(evidence(r, "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id"), "0440 0:0");

  s.tracefs_id_open = Expected<void>(Ok{});  // as a live run that could open the file reports
  EXPECT_EQ(run_one(s, "tracefs.event_id").status, Status::pass);
  s.tracefs_id_open = Expected<void>(SysError::from_errno(EACCES, "open /sys/kernel/tracing/events/raw_syscalls/sys_enter/id"));
  r = run_one(s, "tracefs.event_id");
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_TRUE(contains(r.reason, "Permission denied"));
  EXPECT_TRUE(contains(r.remedy, "raw-tracepoint tool"));

  auto reader = load_host("ubuntu2204-paranoid4");
  reader.creds->cap_effective |= cap_bit(kCapDacReadSearch);
  EXPECT_EQ(run_one(reader, "tracefs.event_id").status, Status::pass);
}

// Regression (fixed in 93fbf6c): tracefs.event_id used to pass ("the modes
// let this process read it") whenever the prediction stopped earlier, at
// load; the tracefs modes must be judged on their own.
TEST(TracefsChecks, EventIdIsJudgedEvenWhenLoadingWouldFail) {
  const auto r = run_one(load_host("kernel-5.4"), "tracefs.event_id");
  EXPECT_EQ(r.status, Status::fail) << r.reason;
  auto container_like = load_host("ubuntu2204-paranoid4");
  container_like.creds->cap_effective = 0;
  EXPECT_EQ(run_one(container_like, "tracefs.event_id").status, Status::fail);
}

TEST(TracefsChecks, Debugfs) {
  auto s = vm();
  EXPECT_TRUE(contains(run_one(s, "debugfs.mode").reason, "not mounted"));
  auto u = load_host("unpriv-bpf-enabled");
  auto r = run_one(u, "debugfs.mode");
  EXPECT_EQ(r.status, Status::warn);
  EXPECT_EQ(r.remedy, "sudo mount -o remount,mode=0700 /sys/kernel/debug");
  EXPECT_EQ(evidence(r, "mode"), "0755");
  u.debugfs_meta.reset();
  r = run_one(u, "debugfs.mode");
  EXPECT_EQ(r.status, Status::skip);
  EXPECT_EQ(evidence(r, "mode"), "unknown");
}

TEST(SecurityChecks, Lockdown) {
  auto s = vm();
  auto r = run_one(s, "lockdown.mode");
  EXPECT_EQ(r.status, Status::skip);
  EXPECT_TRUE(contains(r.reason, "securityfs is not mounted"));
  EXPECT_EQ(evidence(r, "lockdown"), "unknown");
  s.securityfs_mounted = true;
  EXPECT_TRUE(contains(run_one(s, "lockdown.mode").reason, "lockdown is absent"));
  s.lockdown = LockdownMode::integrity;
  r = run_one(s, "lockdown.mode");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "lockdown"), "integrity");
  r = run_one(load_host("lockdown-confidentiality"), "lockdown.mode");
  EXPECT_TRUE(contains(r.reason, "confidentiality"));
  // syscount's programs read task fields with plain BTF loads, never
  // bpf_probe_read_kernel, so the check must not say lockdown stops it.
  EXPECT_TRUE(contains(r.reason, "syscount needs neither")) << r.reason;
  EXPECT_TRUE(contains(r.reason, "tracefs files cannot be opened")) << r.reason;
  EXPECT_FALSE(contains(r.reason, "syscount's child tracking")) << r.reason;
  EXPECT_EQ(evidence(r, "lockdown"), "confidentiality");
}

ProbeOutcome outcome(ProbeFlavour flavour, bool ok, ProbeStage stage, int errnum) {
  ProbeOutcome o;
  o.flavour = flavour;
  o.ok = ok;
  o.stage = stage;
  o.errnum = errnum;
  o.expected = 1000;
  o.counted = ok ? 1000 : 0;
  o.detail = ok ? "loaded, attached, and counted 1000 of 1000 getppid calls" : "bpf_prog_load: Operation not permitted";
  return o;
}

TEST(ProbeChecks, SkipPassFail) {
  auto s = vm();
  EXPECT_TRUE(contains(run_one(s, "probe.raw_tp").reason, "only on the live host"));
  s.live = true;
  EXPECT_TRUE(contains(run_one(s, "probe.raw_tp").reason, "--no-probe"));
  // Skipped for another reason (the user may not run the binary): that reason, not an option never given.
  s.probes_skipped = "alice may not execute /usr/bin/syscount";
  EXPECT_EQ(run_one(s, "probe.raw_tp").reason, "probes were not run: alice may not execute /usr/bin/syscount");
  s.probes_skipped.clear();

  s.probe_raw_tp = outcome(ProbeFlavour::raw_tp, true, ProbeStage::readback, 0);
  auto r = run_one(s, "probe.raw_tp");
  EXPECT_EQ(r.status, Status::pass);
  EXPECT_EQ(evidence(r, "counted"), "1000");
  EXPECT_EQ(evidence(r, "errno"), "0");

  auto user = load_host("ubuntu2204-paranoid4");
  user.creds->cap_effective = 0;
  user.binary_path = "/usr/bin/syscount";
  user.probe_perf_tp = outcome(ProbeFlavour::perf_tp, false, ProbeStage::load, EPERM);
  r = run_one(user, "probe.perf_tp");
  EXPECT_EQ(r.status, Status::fail);
  EXPECT_TRUE(r.reason.starts_with("load: ")) << r.reason;
  EXPECT_EQ(evidence(r, "errno"), "EPERM");
  EXPECT_EQ(evidence(r, "stage"), "load");
  EXPECT_EQ(r.remedy, "sudo setcap cap_bpf,cap_perfmon=ep /usr/bin/syscount");
}

// ---- verdicts --------------------------------------------------------------------------------

const Verdict& verdict(const std::vector<Verdict>& verdicts, std::string_view id) {
  for (const auto& v : verdicts) {
    if (v.id == id) return v;
  }
  throw std::runtime_error("no verdict " + std::string(id));
}

TEST(Verdicts, PredictedOnlyWithoutProbes) {
  const auto snap = load_host("ubuntu2204-paranoid4");
  const auto verdicts = derive_verdicts(snap, subject_from_snapshot(snap), "/usr/bin/syscount");
  ASSERT_EQ(verdicts.size(), 4U);
  for (const char* id : {"tp_btf", "raw_tp", kSyscountVerdict}) {
    const auto& v = verdict(verdicts, id);
    EXPECT_TRUE(v.ready) << id;
    EXPECT_FALSE(v.mismatch) << id;
    EXPECT_FALSE(v.proof.has_value()) << id;
    EXPECT_TRUE(v.reason.starts_with("predicted: ")) << v.reason;
    EXPECT_TRUE(v.remedy.empty()) << id;
    EXPECT_EQ(v.subject, "this process");
  }
  EXPECT_EQ(verdict(verdicts, "tp_btf").tools.front(), "syscount");
  EXPECT_EQ(verdict(verdicts, kSyscountVerdict).title, "syscount (its typed tp_btf programs)");
  EXPECT_EQ(verdict(verdicts, kSyscountVerdict).flavour, ProbeFlavour::tp_btf);
  const auto& perf = verdict(verdicts, "perf_tp");
  EXPECT_FALSE(perf.ready);
  EXPECT_EQ(perf.prediction.stage, ProbeStage::tracefs_id);
  EXPECT_TRUE(contains(perf.remedy, "--tracefs-read"));
}

TEST(Verdicts, ProofAgreeingWithThePrediction) {
  auto snap = load_host("ubuntu2204-paranoid4");
  snap.probe_raw_tp = outcome(ProbeFlavour::raw_tp, true, ProbeStage::readback, 0);
  snap.probe_perf_tp = outcome(ProbeFlavour::perf_tp, false, ProbeStage::tracefs_id, EACCES);
  const auto verdicts = derive_verdicts(snap, subject_from_snapshot(snap), "");
  const auto& raw = verdict(verdicts, "raw_tp");
  EXPECT_TRUE(raw.ready);
  EXPECT_FALSE(raw.mismatch);
  EXPECT_TRUE(raw.reason.starts_with("proven: ")) << raw.reason;
  const auto& perf = verdict(verdicts, "perf_tp");
  EXPECT_FALSE(perf.ready);
  EXPECT_FALSE(perf.mismatch);
  EXPECT_TRUE(contains(perf.reason, "not readable by this process")) << perf.reason;
  EXPECT_FALSE(perf.remedy.empty());
}

TEST(Verdicts, ProbeContradictingACertainPredictionIsAMismatch) {
  auto snap = load_host("debian12-vm-6.18");  // root: both predicted to work
  snap.probe_raw_tp = outcome(ProbeFlavour::raw_tp, false, ProbeStage::load, EPERM);
  const auto verdicts = derive_verdicts(snap, subject_from_snapshot(snap), "");
  const auto& raw = verdict(verdicts, "raw_tp");
  ASSERT_TRUE(raw.prediction.certain);
  EXPECT_TRUE(raw.mismatch);
  EXPECT_FALSE(raw.ready) << "the probe is the ground truth";
  EXPECT_TRUE(contains(raw.reason, "the model predicted success")) << raw.reason;
  EXPECT_TRUE(contains(raw.reason, "please report")) << raw.reason;
  EXPECT_FALSE(verdict(verdicts, "perf_tp").mismatch) << "no probe, no mismatch";

  Report report;
  report.verdicts = verdicts;
  report.required_verdicts = {"raw_tp"};
  EXPECT_EQ(exit_code(report), 2);
}

TEST(Verdicts, PredictedFailureThatWorksIsAMismatch) {
  auto snap = load_host("ubuntu2204-paranoid4");
  snap.probe_perf_tp = outcome(ProbeFlavour::perf_tp, true, ProbeStage::readback, 0);
  const auto perf = verdict(derive_verdicts(snap, subject_from_snapshot(snap), ""), "perf_tp");
  EXPECT_TRUE(perf.mismatch);
  EXPECT_TRUE(perf.ready);
  EXPECT_TRUE(contains(perf.reason, "failure at tracefs_id")) << perf.reason;
}

TEST(Verdicts, FailingAtAnotherStageIsAMismatch) {
  auto snap = load_host("ubuntu2204-paranoid4");  // predicted: tracefs_id
  snap.probe_perf_tp = outcome(ProbeFlavour::perf_tp, false, ProbeStage::perf_event_open, EACCES);
  EXPECT_TRUE(verdict(derive_verdicts(snap, subject_from_snapshot(snap), ""), "perf_tp").mismatch);
}

TEST(Verdicts, UncertainPredictionsAreNotMismatches) {
  auto snap = load_host("debian12-vm-6.18");
  snap.kernel.reset();  // the model cannot be sure of anything
  snap.probe_raw_tp = outcome(ProbeFlavour::raw_tp, false, ProbeStage::load, EPERM);
  const auto raw = verdict(derive_verdicts(snap, subject_from_snapshot(snap), ""), "raw_tp");
  EXPECT_FALSE(raw.prediction.certain);
  EXPECT_FALSE(raw.mismatch);
  EXPECT_FALSE(raw.ready);

  auto container = load_host("container-no-tracefs");  // paranoid 4, restriction patch unknown
  container.creds->cap_effective = cap_bit(kCapBpf) | cap_bit(kCapPerfmon) | cap_bit(kCapDacReadSearch);
  container.tracefs = MountEntry{"/sys/kernel/tracing", "tracefs", "tracefs", "rw", "rw"};
  for (const char* p : {"/sys/kernel/tracing", "/sys/kernel/tracing/events", "/sys/kernel/tracing/events/raw_syscalls",
                        "/sys/kernel/tracing/events/raw_syscalls/sys_enter",
                        "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id"}) {
    container.tracefs_id_chain.push_back(PathFact{p, FileMeta{S_IFDIR | 0755, 0, 0}});
  }
  container.probe_perf_tp = outcome(ProbeFlavour::perf_tp, true, ProbeStage::readback, 0);
  const auto perf = verdict(derive_verdicts(container, subject_from_snapshot(container), ""), "perf_tp");
  EXPECT_FALSE(perf.prediction.ok);
  EXPECT_FALSE(perf.prediction.certain);
  EXPECT_FALSE(perf.mismatch);
  EXPECT_TRUE(perf.ready);
}

TEST(Verdicts, NamedSubjectAndBinaryReachTheRemedy) {
  const auto snap = load_host("container-no-tracefs");
  Subject bob;
  bob.name = "bob";
  bob.uid = 1001;
  const auto verdicts = derive_verdicts(snap, bob, "/opt/bpfready/bin/syscount");
  EXPECT_EQ(verdict(verdicts, "raw_tp").subject, "bob");
  // The container's bounding set lacks CAP_BPF: file capabilities cannot help there.
  EXPECT_TRUE(verdict(verdicts, "raw_tp").fix_steps.empty());
  EXPECT_NE(verdict(verdicts, "raw_tp").no_safe_fix.find("bounding set"), std::string::npos);
  const auto debian = load_host("debian12-vm-6.18");
  EXPECT_EQ(verdict(derive_verdicts(debian, bob, "/opt/bpfready/bin/syscount"), "raw_tp").remedy,
            "sudo tracefs-setup apply --user bob --binary /opt/bpfready/bin/syscount");
}

// ---- exit codes ------------------------------------------------------------------------------

Verdict ready_verdict(const char* id, bool ready, bool mismatch = false) {
  Verdict v;
  v.id = id;
  v.ready = ready;
  v.mismatch = mismatch;
  return v;
}

TEST(ExitCode, RequireSemantics) {
  Report report;
  EXPECT_EQ(exit_code(report), 0) << "nothing required, nothing missing";
  report.verdicts = {ready_verdict("raw_tp", true), ready_verdict("perf_tp", true)};
  EXPECT_EQ(exit_code(report), 0);
  report.verdicts[1].ready = false;
  EXPECT_EQ(exit_code(report), 1) << "no --require: every verdict counts";
  report.required_verdicts = {"raw_tp"};
  EXPECT_EQ(exit_code(report), 0);
  report.required_verdicts = {"perf_tp"};
  EXPECT_EQ(exit_code(report), 1);
  report.required_verdicts = {"raw_tp", "perf_tp"};
  EXPECT_EQ(exit_code(report), 1);
  report.verdicts[0].ready = false;
  report.required_verdicts = {"raw_tp"};
  EXPECT_EQ(exit_code(report), 1);
  report.verdicts[1].mismatch = true;
  EXPECT_EQ(exit_code(report), 2) << "a model mismatch wins, required or not";
}

TEST(ExitCode, FixtureHostsUnderTheDefaultRequirement) {
  const std::map<std::string, int> expected = {
      {"debian12-vm-6.18", 0}, {"ubuntu2204-paranoid4", 0}, {"container-no-tracefs", 1}, {"kernel-5.4", 1},
      {"lockdown-confidentiality", 0}, {"unpriv-bpf-enabled", 0}, {"tracefs-group-read", 0},
      {"custom-6.6-no-btf", 0}, {"debian11-5.10", 0}, {"rhel8-4.18", 1},
  };
  for (const auto& host : unit::fixture_hosts()) {
    const auto snap = load_host(host);
    Report report;
    report.checks = run_checks(snap);
    report.verdicts = derive_verdicts(snap, subject_from_snapshot(snap), "");
    report.required_verdicts = {kSyscountVerdict};
    EXPECT_EQ(exit_code(report), expected.at(host)) << host;
    // Typed programs need BTF and 5.11: where syscount falls back, tp_btf is not enough.
    report.required_verdicts = {"tp_btf"};
    const bool typed = syscount_flavour(snap) == ProbeFlavour::tp_btf;
    EXPECT_EQ(exit_code(report), typed ? expected.at(host) : 1) << host;
  }
}

}  // namespace
}  // namespace bpfready
