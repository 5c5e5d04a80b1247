#include "libcheck/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "libcheck/common/fd.h"
#include "libcheck/common/procfs.h"

namespace bpfready {

namespace {

// A read failure that says only that the fact is unknown, not that the file is odd.
bool absent_or_denied(int errnum) { return errnum == ENOENT || errnum == ENOTDIR || errnum == EACCES || errnum == EPERM; }

// PATH's content, or nullopt; a refused or failed read is noted in read_errors.
std::optional<std::string> read_noting(const SystemRoot& root, Snapshot& snap, const std::string& path,
                                       std::size_t max_bytes = kReadCapDefault) {
  auto text = root.read(path, max_bytes);
  if (text) return std::move(*text);
  if (!absent_or_denied(text.error().errnum)) snap.read_errors[path] = text.error().message;
  return std::nullopt;
}

// The kernel config CANDIDATE holds, unpacked; nullopt when it is absent,
// refused (noted) or not a kernel config.
std::optional<KernelConfigOptions> read_config_candidate(const SystemRoot& root, Snapshot& snap,
                                                         const std::string& candidate) {
  auto text = read_noting(root, snap, candidate, kKernelConfigMaxBytes);
  if (!text) return std::nullopt;
  if (candidate.ends_with(".gz")) {
    auto plain = gunzip(*text, kKernelConfigMaxBytes);
    if (!plain) {
      if (plain.error().errnum == EFBIG) snap.read_errors[candidate] = "refused " + candidate + ": " + plain.error().message;
      return std::nullopt;
    }
    text = std::move(*plain);
  }
  auto options = parse_kernel_config(*text);
  if (options.empty()) return std::nullopt;  // not a kernel config after all
  return options;
}

void read_kernel_config(const SystemRoot& root, Snapshot& snap) {
  const std::string& release = snap.kernel_release;
  std::vector<std::string> candidates = {"/proc/config.gz"};
  if (!release.empty()) {
    candidates.insert(candidates.end(), {"/boot/config-" + release, "/lib/modules/" + release + "/config",
                                         "/lib/modules/" + release + "/build/.config",
                                         "/usr/lib/modules/" + release + "/config",
                                         "/usr/src/linux-" + release + "/.config"});
  }
  candidates.insert(candidates.end(), {"/boot/config", "/usr/src/linux/.config"});
  for (const auto& candidate : candidates) {
    snap.kernel_config_searched.push_back(candidate);
    if (auto options = read_config_candidate(root, snap, candidate)) {
      snap.kernel_config = std::move(*options);
      snap.kernel_config_source = candidate;
      return;
    }
  }
}

// The .conf files of DIR in ROOT, sorted; a directory that cannot be listed has none.
std::vector<std::string> conf_files(const SystemRoot& root, const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  std::filesystem::directory_iterator it(root.path(dir), ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".conf") found.push_back(dir + "/" + it->path().filename().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

void read_persisted_sysctls(const SystemRoot& root, Snapshot& snap) {
  std::vector<std::string> files = {"/etc/sysctl.conf"};
  for (const char* dir : {"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
                          "/lib/sysctl.d"}) {
    const auto found = conf_files(root, dir);
    files.insert(files.end(), found.begin(), found.end());
  }
  const auto& keys = relevant_sysctls();
  for (const auto& file : files) {
    const auto content = read_noting(root, snap, file);
    if (!content) continue;
    for (auto& [key, value] : parse_sysctl_conf(*content)) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
      snap.persisted_sysctls.push_back({file, std::move(key), std::move(value)});
    }
  }
}

std::optional<long> parse_memlock(std::string_view limits) {
  for (const auto& line : split(limits, "\n")) {
    if (!line.starts_with("Max locked memory")) continue;
    const auto fields = split(line.substr(17), " \t");
    if (fields.empty() || fields[0] == "unlimited") return std::nullopt;
    return parse_sysctl_int(fields[0]);
  }
  return std::nullopt;
}

void read_tracefs(const SystemRoot& root, Snapshot& snap) {
  if (!snap.mounts) return;
  const auto& mounts = *snap.mounts;
  snap.tracefs = find_mount(mounts, "tracefs", {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"});
  snap.debugfs = find_mount(mounts, "debugfs", {"/sys/kernel/debug"});
  if (snap.debugfs) {
    if (auto meta = root.stat(snap.debugfs->target)) snap.debugfs_meta = *meta;
  }
  snap.securityfs_mounted = find_mount(mounts, "securityfs", {"/sys/kernel/security"}).has_value();
  if (!snap.tracefs) return;

  std::string path = snap.tracefs->target;
  for (const char* component : {"", "/events", "/raw_syscalls", "/sys_enter", "/id"}) {
    path += component;
    snap.tracefs_id_chain.push_back(PathFact{path, root.stat(path)});
  }
  if (root.is_live()) {
    const Fd id_file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    snap.tracefs_id_open = id_file.valid() ? Expected<void>(Ok{}) : SysError::from_errno(errno, "open " + path);
  }
}

}  // namespace

const std::vector<std::string>& relevant_sysctls() {
  static const std::vector<std::string> keys = {
      "kernel.unprivileged_bpf_disabled", "kernel.perf_event_paranoid", "kernel.kptr_restrict",
      "net.core.bpf_jit_enable",          "net.core.bpf_jit_harden",
  };
  return keys;
}

std::optional<long> Snapshot::sysctl(const std::string& key) const {
  const auto it = sysctls.find(key);
  return it == sysctls.end() ? std::nullopt : it->second;
}

std::optional<bool> Snapshot::config_enabled(const std::string& option) const {
  if (!kernel_config) return std::nullopt;
  const auto it = kernel_config->find(option);
  if (it == kernel_config->end()) return false;  // a complete .config omits options whose dependencies are off
  return it->second != "n";
}

std::string Snapshot::tracefs_dir() const { return tracefs ? tracefs->target : std::string(); }

std::optional<ProbeOutcome>& Snapshot::probe(ProbeFlavour flavour) {
  switch (flavour) {
    case ProbeFlavour::tp_btf: return probe_tp_btf;
    case ProbeFlavour::raw_tp: return probe_raw_tp;
    case ProbeFlavour::perf_tp: break;
  }
  return probe_perf_tp;
}

const std::optional<ProbeOutcome>& Snapshot::probe(ProbeFlavour flavour) const {
  return const_cast<Snapshot*>(this)->probe(flavour);  // NOLINT(cppcoreguidelines-pro-type-const-cast): same lookup
}

std::optional<FileCaps> Snapshot::binary_file_caps() const { return binary_caps ? *binary_caps : std::nullopt; }

const std::string* Snapshot::read_error(std::string_view path) const {
  const auto it = read_errors.find(path);
  return it == read_errors.end() ? nullptr : &it->second;
}

Snapshot collect_snapshot(const SystemRoot& root, const CollectOptions& options) {
  Snapshot snap;
  snap.live = root.is_live();

  if (auto release = read_noting(root, snap, "/proc/sys/kernel/osrelease", kValueFileMaxBytes)) {
    snap.kernel_release = std::string(trim(*release));
    snap.kernel = parse_kernel_version(snap.kernel_release);
  }
  if (options.read_kernel_config) read_kernel_config(root, snap);
  snap.btf_vmlinux = root.exists("/sys/kernel/btf/vmlinux");

  for (const auto& key : relevant_sysctls()) {
    const auto text = read_noting(root, snap, sysctl_path(key), kValueFileMaxBytes);
    snap.sysctls[key] = text ? parse_sysctl_int(*text) : std::nullopt;
  }
  if (options.read_persisted_sysctls) read_persisted_sysctls(root, snap);

  if (auto status = read_noting(root, snap, "/proc/self/status")) snap.creds = parse_proc_status(*status);
  if (auto limits = read_noting(root, snap, "/proc/self/limits")) snap.memlock_limit_bytes = parse_memlock(*limits);

  snap.binary_path = options.binary_path;
  if (snap.binary_path.empty() && snap.live) snap.binary_path = self_exe();
  if (!snap.binary_path.empty() && snap.live) snap.binary_caps = read_file_caps(snap.binary_path);

  auto mountinfo = root.read("/proc/self/mountinfo", kMountinfoMaxBytes);
  snap.mounts = mountinfo ? parse_mountinfo(*mountinfo) : Expected<std::vector<MountEntry>>(mountinfo.error());
  read_tracefs(root, snap);

  if (auto lockdown = read_noting(root, snap, "/sys/kernel/security/lockdown", kValueFileMaxBytes)) {
    snap.lockdown = parse_lockdown(*lockdown);
  }

  if (snap.live && options.run_probes) {
    ProbeOptions probe_options{snap.tracefs_dir(), options.probe_calls, options.parking};
    for (auto& outcome : run_all_probes(probe_options)) snap.probe(outcome.flavour) = std::move(outcome);
  }
  return snap;
}

}  // namespace bpfready
