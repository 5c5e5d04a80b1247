// collect_snapshot over the fixture hosts, over scratch trees that vary
// one file at a time, and over hostile trees (FIFOs, device links, bombs).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "libcheck/access.h"
#include "libcheck/caps.h"
#include "libcheck/snapshot.h"
#include "support/unit.h"
#include "unit/check/hostile.h"

namespace bpfready {
namespace {

using unit::load_host;
using unit::ScratchTree;

constexpr std::uint64_t kBpfPerfmon = cap_bit(kCapBpf) | cap_bit(kCapPerfmon);

TEST(SnapshotFixture, DebianVmIsReadCompletely) {
  const auto s = load_host("debian12-vm-6.18");
  EXPECT_FALSE(s.live);
  EXPECT_EQ(s.kernel_release, "6.18.44-fc-v769");
  EXPECT_EQ(s.kernel, (KernelVersion{6, 18, 44}));
  ASSERT_TRUE(s.kernel_config.has_value());
  EXPECT_EQ(s.kernel_config_source, "/proc/config.gz");
  EXPECT_EQ(s.kernel_config_searched, std::vector<std::string>{"/proc/config.gz"});
  EXPECT_EQ(s.config_enabled("CONFIG_BPF_SYSCALL"), true);
  EXPECT_EQ(s.config_enabled("CONFIG_KPROBES"), false);
  EXPECT_EQ(s.config_enabled("CONFIG_SECURITY_PERF_EVENTS_RESTRICT"), false);  // absent from a complete config
  EXPECT_TRUE(s.btf_vmlinux);

  EXPECT_EQ(s.sysctl("kernel.unprivileged_bpf_disabled"), 2);
  EXPECT_EQ(s.sysctl("kernel.perf_event_paranoid"), 2);
  EXPECT_EQ(s.sysctl("kernel.kptr_restrict"), 0);
  EXPECT_EQ(s.sysctl("net.core.bpf_jit_enable"), 1);
  EXPECT_EQ(s.sysctl("net.core.bpf_jit_harden"), 0);
  EXPECT_EQ(s.sysctl("kernel.no_such_key"), std::nullopt);
  EXPECT_TRUE(s.persisted_sysctls.empty());

  ASSERT_TRUE(s.creds.has_value());
  EXPECT_EQ(s.creds->euid, 0U);
  EXPECT_TRUE(has_cap(s.creds->cap_effective, kCapSysAdmin));
  EXPECT_TRUE(has_cap(s.creds->cap_effective, kCapBpf));
  EXPECT_EQ(s.memlock_limit_bytes, 8388608);

  EXPECT_TRUE(s.binary_path.empty());  // fixtures name no binary
  EXPECT_FALSE(s.binary_file_caps().has_value());
  EXPECT_TRUE(s.mounts.has_value());
  ASSERT_TRUE(s.tracefs.has_value());
  EXPECT_EQ(s.tracefs_dir(), "/sys/kernel/tracing");
  EXPECT_FALSE(s.debugfs.has_value());
  EXPECT_FALSE(s.securityfs_mounted);
  EXPECT_FALSE(s.lockdown.has_value());

  ASSERT_EQ(s.tracefs_id_chain.size(), 5U);
  const mode_t modes[] = {0700, 0755, 0755, 0755, 0440};
  const char* paths[] = {"/sys/kernel/tracing", "/sys/kernel/tracing/events", "/sys/kernel/tracing/events/raw_syscalls",
                         "/sys/kernel/tracing/events/raw_syscalls/sys_enter",
                         "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id"};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& fact = s.tracefs_id_chain[i];
    EXPECT_EQ(fact.path, paths[i]);
    ASSERT_TRUE(fact.meta.has_value()) << fact.path << ": " << fact.meta.error().message;
    EXPECT_EQ(fact.meta->permissions(), modes[i]) << fact.path;
    EXPECT_EQ(fact.meta->uid, 0U);
    EXPECT_EQ(fact.meta->gid, 0U);
  }
  EXPECT_FALSE(s.tracefs_id_open.has_value()) << "a fixture must not open files as this process";
  EXPECT_FALSE(s.probe_raw_tp.has_value());
  EXPECT_FALSE(s.probe_perf_tp.has_value());
}

TEST(SnapshotFixture, UbuntuParanoid4) {
  const auto s = load_host("ubuntu2204-paranoid4");
  EXPECT_EQ(s.kernel, (KernelVersion{5, 15, 0}));
  EXPECT_EQ(s.kernel_config_source, "/boot/config-5.15.0-91-generic");
  EXPECT_EQ(s.kernel_config_searched.front(), "/proc/config.gz");
  EXPECT_EQ(s.config_enabled("CONFIG_SECURITY_PERF_EVENTS_RESTRICT"), true);
  EXPECT_EQ(s.sysctl("kernel.perf_event_paranoid"), 4);
  ASSERT_TRUE(s.creds.has_value());
  EXPECT_EQ(s.creds->euid, 1000U);
  EXPECT_EQ(s.creds->cap_effective, kBpfPerfmon);
  ASSERT_TRUE(s.debugfs.has_value());
  ASSERT_TRUE(s.debugfs_meta.has_value());
  EXPECT_EQ(s.debugfs_meta->permissions(), 0700U);
  EXPECT_TRUE(s.securityfs_mounted);
  EXPECT_EQ(s.lockdown, LockdownMode::none);
}

TEST(SnapshotFixture, ContainerHasNoTracefsAndNoConfig) {
  const auto s = load_host("container-no-tracefs");
  EXPECT_FALSE(s.kernel_config.has_value());
  EXPECT_TRUE(s.kernel_config_source.empty());
  const auto& searched = s.kernel_config_searched;
  for (const char* place : {"/proc/config.gz", "/boot/config-6.8.0-45-generic", "/lib/modules/6.8.0-45-generic/config",
                            "/usr/lib/modules/6.8.0-45-generic/config", "/boot/config"}) {
    EXPECT_NE(std::find(searched.begin(), searched.end(), place), searched.end()) << place;
  }
  EXPECT_EQ(s.config_enabled("CONFIG_BPF_SYSCALL"), std::nullopt);
  EXPECT_FALSE(s.tracefs.has_value());
  EXPECT_TRUE(s.tracefs_id_chain.empty());
  EXPECT_EQ(s.tracefs_dir(), "");
  EXPECT_FALSE(s.mounts->empty());
  EXPECT_FALSE(s.securityfs_mounted);
  EXPECT_FALSE(s.lockdown.has_value());
  ASSERT_TRUE(s.creds.has_value());
  EXPECT_EQ(s.creds->euid, 0U);
  EXPECT_FALSE(has_cap(s.creds->cap_bounding, kCapBpf));
  EXPECT_FALSE(has_cap(s.creds->cap_bounding, kCapSysAdmin));
  EXPECT_TRUE(has_cap(s.creds->cap_bounding, kCapDacOverride));
}

TEST(SnapshotFixture, Kernel54) {
  const auto s = load_host("kernel-5.4");
  EXPECT_EQ(s.kernel, (KernelVersion{5, 4, 0}));
  EXPECT_EQ(s.memlock_limit_bytes, 65536);
  EXPECT_EQ(s.sysctl("kernel.unprivileged_bpf_disabled"), 0);
  EXPECT_FALSE(s.btf_vmlinux);
  EXPECT_EQ(s.config_enabled("CONFIG_DEBUG_INFO_BTF"), false);
  ASSERT_TRUE(s.creds.has_value());
  EXPECT_EQ(s.creds->cap_effective, 0U);
  EXPECT_EQ(s.creds->cap_bounding & kBpfPerfmon, 0U) << "5.4 has no capability 38 or 39";
  ASSERT_EQ(s.tracefs_id_chain.size(), 5U);
  EXPECT_EQ(s.tracefs_id_chain.back().meta->permissions(), 0444U);
}

TEST(SnapshotFixture, LockdownConfidentiality) {
  const auto s = load_host("lockdown-confidentiality");
  EXPECT_TRUE(s.securityfs_mounted);
  EXPECT_EQ(s.lockdown, LockdownMode::confidentiality);
  EXPECT_EQ(s.kernel_config_source, "/boot/config-6.1.0-40-amd64");
}

TEST(SnapshotFixture, PersistedSysctlsComeFromSysctlD) {
  const auto s = load_host("unpriv-bpf-enabled");
  ASSERT_EQ(s.persisted_sysctls.size(), 2U);  // commented lines and unrelated keys are not kept
  EXPECT_EQ(s.persisted_sysctls[0].file, "/etc/sysctl.d/99-ebpf.conf");
  EXPECT_EQ(s.persisted_sysctls[0].key, "kernel.unprivileged_bpf_disabled");
  EXPECT_EQ(s.persisted_sysctls[0].value, "0");
  EXPECT_EQ(s.persisted_sysctls[1].key, "kernel.kptr_restrict");
  EXPECT_EQ(s.persisted_sysctls[1].value, "0");
  ASSERT_TRUE(s.debugfs_meta.has_value());
  EXPECT_EQ(s.debugfs_meta->permissions(), 0755U);
  EXPECT_EQ(s.tracefs_id_chain.front().meta->permissions(), 0770U);
  EXPECT_EQ(s.tracefs_id_chain.front().meta->gid, 1001U);
}

TEST(SnapshotFixture, TracefsGroupRead) {
  const auto s = load_host("tracefs-group-read");
  ASSERT_TRUE(s.tracefs.has_value());
  EXPECT_EQ(mount_option(s.tracefs->fs_options, "gid"), "1001");
  EXPECT_EQ(s.tracefs_id_chain.front().meta->permissions(), 0750U);
  EXPECT_EQ(s.tracefs_id_chain.back().meta->gid, 1001U);
  ASSERT_TRUE(s.creds.has_value());
  EXPECT_TRUE(subject_from_snapshot(s).in_group(1001));
}

TEST(SnapshotFixture, EveryHostHasAReleaseCredsAndMounts) {
  for (const auto& host : unit::fixture_hosts()) {
    const auto s = load_host(host);
    EXPECT_TRUE(s.kernel.has_value()) << host;
    EXPECT_TRUE(s.creds.has_value()) << host;
    EXPECT_TRUE(s.mounts.has_value()) << host << ": " << s.mounts.error().message;
    ASSERT_TRUE(s.mounts.has_value()) << host;
    EXPECT_FALSE(s.mounts->empty()) << host;
    for (const auto& key : relevant_sysctls()) EXPECT_TRUE(s.sysctl(key).has_value()) << host << " " << key;
    for (const auto& fact : s.tracefs_id_chain) EXPECT_TRUE(fact.meta.has_value()) << host << " " << fact.meta.error().message;
  }
}

TEST(Snapshot, RelevantSysctlsAreTheFiveTheChecksRead) {
  EXPECT_EQ(relevant_sysctls(),
            (std::vector<std::string>{"kernel.unprivileged_bpf_disabled", "kernel.perf_event_paranoid",
                                      "kernel.kptr_restrict", "net.core.bpf_jit_enable", "net.core.bpf_jit_harden"}));
}

TEST(Snapshot, ConfigEnabledIsUnknownWithoutAConfig) {
  Snapshot s;
  EXPECT_EQ(s.config_enabled("CONFIG_BPF"), std::nullopt);
  s.kernel_config = KernelConfigOptions{{"CONFIG_A", "y"}, {"CONFIG_B", "m"}, {"CONFIG_C", "n"}, {"CONFIG_D", "17"}};
  EXPECT_EQ(s.config_enabled("CONFIG_A"), true);
  EXPECT_EQ(s.config_enabled("CONFIG_B"), true);
  EXPECT_EQ(s.config_enabled("CONFIG_C"), false);
  EXPECT_EQ(s.config_enabled("CONFIG_D"), true);
  EXPECT_EQ(s.config_enabled("CONFIG_E"), false);
}

// ---- kernel config search --------------------------------------------------------------

TEST(SnapshotConfig, LibModulesConfigIsFoundWithoutBoot) {
  const ScratchTree tree;
  tree.write("/proc/sys/kernel/osrelease", "6.9.1-arch1-1\n");
  tree.write("/lib/modules/6.9.1-arch1-1/config", "CONFIG_BPF_SYSCALL=y\n");
  const auto s = tree.snapshot();
  EXPECT_EQ(s.kernel_config_source, "/lib/modules/6.9.1-arch1-1/config");
  EXPECT_EQ(s.config_enabled("CONFIG_BPF_SYSCALL"), true);
}

TEST(SnapshotConfig, ProcConfigGzWinsOverBoot) {
  const ScratchTree tree;
  tree.copy_host("debian12-vm-6.18");
  tree.write("/boot/config-6.18.44-fc-v769", "CONFIG_BPF_SYSCALL=n\n");
  EXPECT_EQ(tree.snapshot().kernel_config_source, "/proc/config.gz");
}

TEST(SnapshotConfig, CorruptConfigGzFallsThroughToBoot) {
  const ScratchTree tree;
  tree.copy_host("debian12-vm-6.18");
  const auto gz = unit::read_file(tree.at("/proc/config.gz"));
  tree.write("/proc/config.gz", gz.substr(0, gz.size() / 2));
  tree.write("/boot/config-6.18.44-fc-v769", "CONFIG_BPF_SYSCALL=y\n# CONFIG_BPF_JIT is not set\n");
  const auto s = tree.snapshot();
  EXPECT_EQ(s.kernel_config_source, "/boot/config-6.18.44-fc-v769");
  EXPECT_EQ(s.config_enabled("CONFIG_BPF_JIT"), false);
  EXPECT_GE(s.kernel_config_searched.size(), 2U);
}

TEST(SnapshotConfig, CorruptConfigGzAloneIsUnknownNotEmpty) {
  const ScratchTree tree;
  tree.copy_host("debian12-vm-6.18");
  tree.write("/proc/config.gz", "\x1f\x8b garbage");
  const auto s = tree.snapshot();
  EXPECT_FALSE(s.kernel_config.has_value());
  EXPECT_EQ(s.config_enabled("CONFIG_BPF_SYSCALL"), std::nullopt);
}

TEST(SnapshotConfig, AFileWithoutOptionsIsNotAConfig) {
  const ScratchTree tree;
  tree.write("/proc/sys/kernel/osrelease", "6.1.0-40-amd64\n");
  tree.write("/boot/config-6.1.0-40-amd64", "this is not a kernel config\n");
  tree.write("/usr/src/linux/.config", "CONFIG_BPF=y\n");
  EXPECT_EQ(tree.snapshot().kernel_config_source, "/usr/src/linux/.config");
}

TEST(SnapshotConfig, WithoutAReleaseOnlyReleaseFreePlacesAreSearched) {
  const ScratchTree tree;
  tree.write("/boot/config", "CONFIG_BPF=y\n");
  const auto s = tree.snapshot();
  EXPECT_TRUE(s.kernel_release.empty());
  EXPECT_FALSE(s.kernel.has_value());
  EXPECT_EQ(s.kernel_config_source, "/boot/config");
  for (const auto& place : s.kernel_config_searched) EXPECT_FALSE(unit::contains(place, "config-")) << place;
}

// ---- odd inputs ------------------------------------------------------------------------

TEST(SnapshotOdd, AnEmptyTreeGivesUnknownsNotCrashes) {
  const ScratchTree tree;
  const auto s = tree.snapshot();
  EXPECT_TRUE(s.kernel_release.empty());
  EXPECT_FALSE(s.kernel_config.has_value());
  EXPECT_FALSE(s.btf_vmlinux);
  for (const auto& key : relevant_sysctls()) EXPECT_EQ(s.sysctl(key), std::nullopt) << key;
  EXPECT_FALSE(s.creds.has_value());
  EXPECT_FALSE(s.memlock_limit_bytes.has_value());
  EXPECT_FALSE(s.mounts.has_value());
  EXPECT_FALSE(s.tracefs.has_value());
  EXPECT_FALSE(s.lockdown.has_value());
}

TEST(SnapshotOdd, GarbageValuesAreUnreadable) {
  const ScratchTree tree;
  tree.copy_host("debian12-vm-6.18");
  tree.write("/proc/sys/kernel/perf_event_paranoid", "two\n");
  tree.write("/proc/sys/kernel/osrelease", "custom-kernel\n");
  tree.write("/proc/self/status", "Name:\tx\n");
  const auto s = tree.snapshot();
  EXPECT_EQ(s.sysctl("kernel.perf_event_paranoid"), std::nullopt);
  EXPECT_EQ(s.sysctl("kernel.unprivileged_bpf_disabled"), 2);
  EXPECT_EQ(s.kernel_release, "custom-kernel");
  EXPECT_FALSE(s.kernel.has_value());
  EXPECT_FALSE(s.creds.has_value());
}

TEST(SnapshotOdd, UnlimitedMemlockIsNullopt) {
  const ScratchTree tree;
  tree.write("/proc/self/limits",
             "Limit                     Soft Limit           Hard Limit           Units     \n"
             "Max locked memory         unlimited            unlimited            bytes     \n");
  EXPECT_FALSE(tree.snapshot().memlock_limit_bytes.has_value());
}

TEST(SnapshotOdd, OldTracefsLayoutUnderDebugfsIsFound) {
  const ScratchTree tree;
  tree.write("/proc/self/mountinfo",
             "30 20 0:7 / /sys/kernel/debug rw,relatime - debugfs debugfs rw\n"
             "31 30 0:12 / /sys/kernel/debug/tracing rw,relatime - tracefs tracefs rw\n");
  tree.write("/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id", "21\n");
  const auto s = tree.snapshot();
  ASSERT_TRUE(s.tracefs.has_value());
  EXPECT_EQ(s.tracefs_dir(), "/sys/kernel/debug/tracing");
  ASSERT_EQ(s.tracefs_id_chain.size(), 5U);
  EXPECT_EQ(s.tracefs_id_chain.back().path, "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id");
  EXPECT_TRUE(s.tracefs_id_chain.back().meta.has_value());
  EXPECT_TRUE(s.debugfs.has_value());
}

TEST(SnapshotOdd, MissingEventDirectoriesAreRecordedWithTheError) {
  const ScratchTree tree;
  tree.write("/proc/self/mountinfo", "42 23 0:13 / /sys/kernel/tracing rw,relatime - tracefs nodev rw\n");
  tree.mkdir("/sys/kernel/tracing/events");
  const auto s = tree.snapshot();
  ASSERT_EQ(s.tracefs_id_chain.size(), 5U);
  EXPECT_TRUE(s.tracefs_id_chain[1].meta.has_value());
  EXPECT_FALSE(s.tracefs_id_chain[2].meta.has_value());
  ASSERT_FALSE(s.tracefs_id_chain[2].meta.has_value());
  EXPECT_EQ(s.tracefs_id_chain[2].meta.error().errnum, ENOENT);
  EXPECT_TRUE(unit::contains(s.tracefs_id_chain[2].meta.error().message, "No such file"))
      << s.tracefs_id_chain[2].meta.error().message;
}

TEST(SnapshotOdd, PersistedSysctlSyntaxVariants) {
  const ScratchTree tree;
  tree.write("/etc/sysctl.conf", "kernel/kptr_restrict=0\n");
  tree.write("/etc/sysctl.d/50-a.conf", "-kernel.perf_event_paranoid = -1\n  ; kernel.kptr_restrict = 0\n");
  tree.write("/etc/sysctl.d/README", "kernel.unprivileged_bpf_disabled = 0\n");  // not a .conf: ignored
  tree.write("/usr/lib/sysctl.d/50-default.conf", "kernel.unprivileged_bpf_disabled=2\nno equals sign\n");
  const auto s = tree.snapshot();
  ASSERT_EQ(s.persisted_sysctls.size(), 3U);
  EXPECT_EQ(s.persisted_sysctls[0].file, "/etc/sysctl.conf");
  EXPECT_EQ(s.persisted_sysctls[0].key, "kernel.kptr_restrict");
  EXPECT_EQ(s.persisted_sysctls[1].file, "/etc/sysctl.d/50-a.conf");
  EXPECT_EQ(s.persisted_sysctls[1].key, "kernel.perf_event_paranoid");
  EXPECT_EQ(s.persisted_sysctls[1].value, "-1");
  EXPECT_EQ(s.persisted_sysctls[2].file, "/usr/lib/sysctl.d/50-default.conf");
  EXPECT_EQ(s.persisted_sysctls[2].value, "2");
}

// ---- SystemRoot over hostile files -----------------------------------------------------

TEST(SystemRoot, MetaFileSkipsOversizedModesAndIds) {
  const ScratchTree tree;
  tree.write("/.bpfready-meta",
             "/data 777777777777777777777777777777 0 0\n/data 017777 0 0\n/data 0640 99999999999999999999 0\n"
             "/data 0640 1 -1\n/other 0640 1 2\n");
  tree.write("/data", "x");
  tree.write("/other", "y");
  const auto run = hostile::run_bounded([&] {
    const SystemRoot root(tree.path());  // must not throw
    const auto data = root.stat("/data");
    const auto other = root.stat("/other");
    return std::to_string(data ? data->uid : 12345) + " " + mode_text(other ? other->mode : 0) + " " +
           std::to_string(other ? other->gid : 12345);
  });
  ASSERT_TRUE(run.finished) << run.how;
  EXPECT_EQ(run.output, std::to_string(::getuid()) + " 0640 2");
}

TEST(SystemRoot, MetaFileThatIsAFifoIsIgnored) {
  const ScratchTree tree;
  tree.write("/data", "x");
  hostile::make_fifo(tree, "/.bpfready-meta");
  const auto run = hostile::run_bounded([&] {
    const SystemRoot root(tree.path());
    return std::string(root.read("/data").value_or("unread"));
  });
  ASSERT_TRUE(run.finished) << run.how;
  EXPECT_EQ(run.output, "x");
}

TEST(SystemRoot, ReadCapsTheSize) {
  const ScratchTree tree;
  tree.write("/big", std::string((std::size_t{1} << 20) + 1, 'a'));
  tree.write("/edge", std::string(std::size_t{1} << 20, 'a'));
  const SystemRoot root(tree.path());
  const auto big = root.read("/big");  // the default cap: 1 MiB
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().errnum, EFBIG);
  EXPECT_TRUE(unit::contains(big.error().message, "/big")) << big.error().message;
  EXPECT_TRUE(unit::contains(big.error().message, "more than 1 MiB")) << big.error().message;
  EXPECT_TRUE(root.read("/edge").has_value());
  const auto roomy = root.read("/big", std::size_t{2} << 20);
  ASSERT_TRUE(roomy.has_value());
  EXPECT_EQ(roomy->size(), (std::size_t{1} << 20) + 1);
  EXPECT_FALSE(root.read("/edge", 100).has_value());
}

TEST(SystemRoot, ReadRefusesFifosDevicesAndDirectoriesButNotDevNull) {
  const ScratchTree tree;
  hostile::make_fifo(tree, "/fifo");
  hostile::make_link(tree, "/zero", "/dev/zero");
  hostile::make_link(tree, "/null", "/dev/null");
  tree.mkdir("/dir");
  const auto run = hostile::run_bounded([&] {
    const SystemRoot root(tree.path());
    std::string out;
    for (const char* path : {"/fifo", "/zero", "/dir", "/null"}) {
      const auto text = root.read(path);
      out += text ? "ok[" + *text + "]\n" : text.error().message + "\n";
    }
    return out;
  });
  ASSERT_TRUE(run.finished) << run.how;
  EXPECT_EQ(run.output,
            "refused /fifo: not a regular file (a FIFO)\n"
            "refused /zero: not a regular file (a character device)\n"
            "refused /dir: not a regular file (a directory)\n"
            "ok[]\n");
}

TEST(SystemRoot, LiveProcFilesAreReadThoughTheirSizeIsZero) {
  const SystemRoot live;
  const auto status = live.read("/proc/self/status");
  ASSERT_TRUE(status.has_value()) << status.error().message;
  EXPECT_TRUE(unit::contains(*status, "CapEff:"));
  const auto release = live.read("/proc/sys/kernel/osrelease");
  ASSERT_TRUE(release.has_value()) << release.error().message;
  EXPECT_FALSE(release->empty());
}

// ---- hostile trees -----------------------------------------------------------------------
// Every file of a --root tree may be anything: reads never hang, never grow
// without bound, and a refused file is its check's error with the reason.

// "STATUS: reason" of check ID over TREE, taken in a bounded child.
std::string check_in_child(const ScratchTree& tree, const std::string& id) {
  const auto run = hostile::run_bounded([&] {
    const auto r = unit::run_one(tree.snapshot(), id);
    return std::string(to_string(r.status)) + ": " + r.reason;
  });
  EXPECT_TRUE(run.finished) << id << " " << run.how << " " << run.output;
  return run.output;
}

// One hostile file in a fixture host, and the error its check must give.
struct RefusedFile {
  const char* name;
  const char* host;
  const char* path;
  enum Kind { fifo, dev_zero, oversized } kind;
  const char* check;
  const char* why;  // the reason after "refused PATH: "
};

void PrintTo(const RefusedFile& row, std::ostream* os) { *os << row.name; }

class SnapshotRefused : public ::testing::TestWithParam<RefusedFile> {};

TEST_P(SnapshotRefused, IsItsChecksErrorNotAHangOrACrash) {
  const auto& row = GetParam();
  const ScratchTree tree;
  tree.copy_host(row.host);
  if (row.kind == RefusedFile::fifo) hostile::make_fifo(tree, row.path);
  if (row.kind == RefusedFile::dev_zero) hostile::make_link(tree, row.path, "/dev/zero");
  if (row.kind == RefusedFile::oversized) tree.write(row.path, std::string(std::size_t{2} << 20, '1'));
  EXPECT_EQ(check_in_child(tree, row.check), "error: refused " + std::string(row.path) + ": " + row.why);
}

constexpr const char* kFifo = "not a regular file (a FIFO)";
const RefusedFile kRefusedFiles[] = {
    {"FifoOsrelease", "debian12-vm-6.18", "/proc/sys/kernel/osrelease", RefusedFile::fifo, "kernel.release", kFifo},
    {"OsreleaseLinkedToDevZero", "debian12-vm-6.18", "/proc/sys/kernel/osrelease", RefusedFile::dev_zero,
     "kernel.release", "not a regular file (a character device)"},
    {"HugeOsrelease", "debian12-vm-6.18", "/proc/sys/kernel/osrelease", RefusedFile::oversized, "kernel.release",
     "more than 64 KiB"},
    {"FifoSysctl", "debian12-vm-6.18", "/proc/sys/kernel/perf_event_paranoid", RefusedFile::fifo,
     "sysctl.perf_event_paranoid", kFifo},
    {"SysctlLinkedToDevZero", "debian12-vm-6.18", "/proc/sys/net/core/bpf_jit_harden", RefusedFile::dev_zero,
     "sysctl.bpf_jit_harden", "not a regular file (a character device)"},
    {"FifoInSysctlD", "debian12-vm-6.18", "/etc/sysctl.d/99-fifo.conf", RefusedFile::fifo, "sysctl.persisted", kFifo},
    {"HugeSysctlConf", "debian12-vm-6.18", "/etc/sysctl.conf", RefusedFile::oversized, "sysctl.persisted",
     "more than 1 MiB"},
    {"FifoLockdown", "lockdown-confidentiality", "/sys/kernel/security/lockdown", RefusedFile::fifo, "lockdown.mode",
     kFifo},
    {"FifoMountinfo", "debian12-vm-6.18", "/proc/self/mountinfo", RefusedFile::fifo, "tracefs.mounted", kFifo},
    {"MountinfoLinkedToDevZero", "debian12-vm-6.18", "/proc/self/mountinfo", RefusedFile::dev_zero, "tracefs.mounted",
     "not a regular file (a character device)"},
    {"FifoStatus", "debian12-vm-6.18", "/proc/self/status", RefusedFile::fifo, "caps.effective", kFifo},
    {"FifoLimits", "kernel-5.4", "/proc/self/limits", RefusedFile::fifo, "kernel.memlock", kFifo},
};

std::string RefusedName(const ::testing::TestParamInfo<RefusedFile>& row) { return row.param.name; }

INSTANTIATE_TEST_SUITE_P(Hostile, SnapshotRefused, ::testing::ValuesIn(kRefusedFiles), RefusedName);

TEST(SnapshotHostile, SysctlDFileMaskedByDevNullIsEmpty) {
  const ScratchTree tree;
  tree.copy_host("unpriv-bpf-enabled");
  hostile::make_link(tree, "/etc/sysctl.d/99-ebpf.conf", "/dev/null");  // how sysctl.d masks a file
  const auto got = check_in_child(tree, "sysctl.persisted");
  EXPECT_TRUE(got.starts_with("pass: ")) << got;
}

TEST(SnapshotHostile, GzipBombStopsAtTheCap) {
  const ScratchTree tree;
  tree.copy_host("debian12-vm-6.18");
  tree.write("/proc/config.gz", hostile::gzip_bomb(std::size_t{64} << 20));
  const auto got = check_in_child(tree, "config.source");
  EXPECT_TRUE(got.starts_with("error: ")) << got;
  EXPECT_TRUE(unit::contains(got, "/proc/config.gz")) << got;
  EXPECT_TRUE(unit::contains(got, "16 MiB")) << got;
  const auto option = check_in_child(tree, "config.bpf_syscall");
  EXPECT_TRUE(option.starts_with("skip: unknown")) << option;
}

TEST(SnapshotHostile, HugeConfigIsRefusedUnread) {
  const ScratchTree tree;
  tree.copy_host("ubuntu2204-paranoid4");
  hostile::make_sparse(tree, "/boot/config-5.15.0-91-generic", std::uintmax_t{1} << 30);
  const auto got = check_in_child(tree, "config.source");
  EXPECT_TRUE(got.starts_with("error: ")) << got;
  EXPECT_TRUE(unit::contains(got, "/boot/config-5.15.0-91-generic")) << got;
  EXPECT_TRUE(unit::contains(got, "more than 16 MiB")) << got;
}

TEST(SnapshotHostile, ARefusedConfigDoesNotHideALaterOne) {
  const ScratchTree tree;
  tree.write("/proc/sys/kernel/osrelease", "6.9.1-arch1-1\n");
  hostile::make_fifo(tree, "/boot/config-6.9.1-arch1-1");
  tree.write("/lib/modules/6.9.1-arch1-1/config", "CONFIG_BPF_SYSCALL=y\n");
  const auto run = hostile::run_bounded([&] {
    const auto s = tree.snapshot();
    return s.kernel_config_source + " " + std::string(to_string(unit::run_one(s, "config.source").status));
  });
  ASSERT_TRUE(run.finished) << run.how;
  EXPECT_EQ(run.output, "/lib/modules/6.9.1-arch1-1/config error");
}

}  // namespace
}  // namespace bpfready
