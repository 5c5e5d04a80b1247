#include "libcheck/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "libcheck/common/fd.h"
#include "libcheck/common/procfs.h"

namespace bpfready {

namespace {

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
    auto content = root.read(candidate);
    if (!content) continue;
    std::string text = std::move(*content);
    if (candidate.ends_with(".gz")) {
      auto plain = gunzip(text);
      if (!plain) continue;
      text = std::move(*plain);
    }
    auto options = parse_kernel_config(text);
    if (options.empty()) continue;  // not a kernel config after all
    snap.kernel_config = std::move(options);
    snap.kernel_config_source = candidate;
    return;
  }
}

void read_persisted_sysctls(const SystemRoot& root, Snapshot& snap) {
  std::vector<std::string> files = {"/etc/sysctl.conf"};
  for (const char* dir : {"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
                          "/lib/sysctl.d"}) {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(root.path(dir), ec)) {
      if (entry.path().extension() == ".conf") found.push_back(std::string(dir) + "/" + entry.path().filename().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  const auto& keys = relevant_sysctls();
  for (const auto& file : files) {
    auto content = root.read(file);
    if (!content) continue;
    for (const auto& raw : split(*content, "\n")) {
      auto line = trim(raw);
      if (line.empty() || line.front() == '#' || line.front() == ';') continue;
      if (line.front() == '-') line.remove_prefix(1);  // "-key = value": ignore errors
      const auto eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      std::string key(trim(line.substr(0, eq)));
      std::replace(key.begin(), key.end(), '/', '.');
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
      snap.persisted_sysctls.push_back({file, key, std::string(trim(line.substr(eq + 1)))});
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
    const Fd id_file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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

std::optional<FileCaps> Snapshot::binary_file_caps() const { return binary_caps ? *binary_caps : std::nullopt; }

Snapshot collect_snapshot(const SystemRoot& root, const CollectOptions& options) {
  Snapshot snap;
  snap.live = root.is_live();

  if (auto release = root.read("/proc/sys/kernel/osrelease")) {
    snap.kernel_release = std::string(trim(*release));
    snap.kernel = parse_kernel_version(snap.kernel_release);
  }
  read_kernel_config(root, snap);
  snap.btf_vmlinux = root.exists("/sys/kernel/btf/vmlinux");

  for (const auto& key : relevant_sysctls()) {
    auto text = root.read(sysctl_path(key));
    snap.sysctls[key] = text ? parse_sysctl_int(*text) : std::nullopt;
  }
  read_persisted_sysctls(root, snap);

  if (auto status = root.read("/proc/self/status")) snap.creds = parse_proc_status(*status);
  if (auto limits = root.read("/proc/self/limits")) snap.memlock_limit_bytes = parse_memlock(*limits);

  snap.binary_path = options.binary_path;
  if (snap.binary_path.empty() && snap.live) snap.binary_path = self_exe();
  if (!snap.binary_path.empty() && snap.live) snap.binary_caps = read_file_caps(snap.binary_path);

  snap.mounts = parse_mountinfo_file(root.path("/proc/self/mountinfo").string());
  read_tracefs(root, snap);

  if (auto lockdown = root.read("/sys/kernel/security/lockdown")) snap.lockdown = parse_lockdown(*lockdown);

  if (snap.live && options.run_probes) {
    ProbeOptions probe_options{snap.tracefs_dir(), options.probe_calls};
    auto [raw, perf] = run_both_probes(probe_options);
    snap.probe_raw_tp = std::move(raw);
    snap.probe_perf_tp = std::move(perf);
  }
  return snap;
}

}  // namespace bpfready
