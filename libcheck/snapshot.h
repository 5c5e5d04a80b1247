// Everything the checks look at, read once through a SystemRoot. Checks and
// verdicts are pure functions of a Snapshot, so unit tests build one from a
// fixture tree (and may set probe outcomes by hand).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcheck/caps.h"
#include "libcheck/mounts.h"
#include "libcheck/parse.h"
#include "libcheck/probe.h"
#include "libcheck/system_root.h"

namespace bpfready {

// A file on the way to the tracefs event id, with its owner and mode.
struct PathFact {
  std::string path;                                    // absolute host path
  Expected<FileMeta> meta = SysError::plain("not read");  // or why it could not be stat()ed
};

// A sysctl setting persisted in a file (sysctl.d, sysctl.conf).
struct PersistedSysctl {
  std::string file;
  std::string key;    // "kernel.unprivileged_bpf_disabled"
  std::string value;  // as written
};

struct Snapshot {
  bool live = true;  // read from this host (probes possible), not a fixture

  std::string kernel_release;
  std::optional<KernelVersion> kernel;

  std::optional<KernelConfigOptions> kernel_config;  // nullopt: no config found (unknown)
  std::string kernel_config_source;                  // the file it came from
  std::vector<std::string> kernel_config_searched;   // every place looked at

  bool btf_vmlinux = false;

  // "kernel.unprivileged_bpf_disabled" -> value; nullopt when unreadable.
  std::map<std::string, std::optional<long>> sysctls;
  std::vector<PersistedSysctl> persisted_sysctls;  // only the bpf/perf relevant keys

  std::optional<ProcessCreds> creds;  // this process, from /proc/self/status
  std::optional<long> memlock_limit_bytes;  // soft RLIMIT_MEMLOCK; nullopt: unlimited or unknown

  std::string binary_path;                 // the running (or named) binary
  // Its file capabilities (nullopt: none), or why they could not be read.
  Expected<std::optional<FileCaps>> binary_caps = std::optional<FileCaps>{};

  Expected<std::vector<MountEntry>> mounts = std::vector<MountEntry>{};
  std::optional<MountEntry> tracefs;  // preferred: /sys/kernel/tracing
  std::optional<MountEntry> debugfs;
  std::optional<FileMeta> debugfs_meta;
  // tracefs root, events, events/raw_syscalls, .../sys_enter, .../sys_enter/id
  std::vector<PathFact> tracefs_id_chain;
  // Live only: whether this process could open the id file for reading
  // (the error keeps the errno); nullopt when not tried.
  std::optional<Expected<void>> tracefs_id_open;

  std::optional<LockdownMode> lockdown;  // nullopt: securityfs not mounted or file absent
  bool securityfs_mounted = false;

  std::optional<ProbeOutcome> probe_tp_btf;
  std::optional<ProbeOutcome> probe_raw_tp;
  std::optional<ProbeOutcome> probe_perf_tp;
  // Live host, probes not run for a reason other than --no-probe: which.
  std::string probes_skipped;

  // Files that exist but were refused or could not be read: not a regular
  // file, larger than its cap, a gzip bomb, an I/O error. Host path ->
  // reason. An absent or permission-denied file is not here: its facts are
  // unknown, which the checks already say. A check whose file is here is an
  // error, with this reason.
  std::map<std::string, std::string, std::less<>> read_errors;

  [[nodiscard]] std::optional<long> sysctl(const std::string& key) const;
  // "y"/"m" -> true, "n" -> false, no config or absent option -> nullopt.
  [[nodiscard]] std::optional<bool> config_enabled(const std::string& option) const;
  [[nodiscard]] std::string tracefs_dir() const;  // host path, empty if not mounted
  // The binary's file capabilities; nullopt when it has none or they are unknown.
  [[nodiscard]] std::optional<FileCaps> binary_file_caps() const;
  // The probe of FLAVOUR: one of probe_tp_btf, probe_raw_tp, probe_perf_tp.
  [[nodiscard]] const std::optional<ProbeOutcome>& probe(ProbeFlavour flavour) const;
  [[nodiscard]] std::optional<ProbeOutcome>& probe(ProbeFlavour flavour);
  // Why PATH was refused (see read_errors), or nullptr.
  [[nodiscard]] const std::string* read_error(std::string_view path) const;
};

// The most read of each kind of host file (see SystemRoot::read): one-value
// files (osrelease, a sysctl, lockdown, the hostname) 64 KiB; /proc/self
// files and sysctl.d files the default 1 MiB; mountinfo and kernel configs
// 16 MiB (kMountinfoMaxBytes, kKernelConfigMaxBytes, also once unpacked).
inline constexpr std::size_t kValueFileMaxBytes = std::size_t{64} << 10;

struct CollectOptions {
  bool run_probes = true;   // ignored for fixture roots
  std::string binary_path;  // empty: the running executable (/proc/self/exe)
  unsigned probe_calls = 1000;
  // The kernel config (often /proc/config.gz, decompressed): a few ms that
  // a caller wanting only a quick verdict can skip; its options are then
  // unknown, never assumed off.
  bool read_kernel_config = true;
  // The sysctl.d files (persisted_sysctls), which only ebpf_diag's
  // sysctl.persisted check reads; syscount's pre-flight skips them.
  bool read_persisted_sysctls = true;
  ProbeParking* parking = nullptr;  // see ProbeOptions::parking
};

Snapshot collect_snapshot(const SystemRoot& root, const CollectOptions& options);

// The sysctls the checks read, as "kernel.name" keys.
const std::vector<std::string>& relevant_sysctls();

}  // namespace bpfready
