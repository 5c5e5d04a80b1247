// An in-memory host for tracefs-setup's tests: accounts, files, file
// capabilities, a tracefs that behaves as measured on 6.18 (gid= reaches
// every node), sysctls, and a switch that makes the Nth change fail.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "tools/tracefs-setup/system.h"

namespace bpfready::testing_setup {

using nlohmann::json;

struct FakeFile {
  FileMeta meta;
  std::string content;
  std::string link;
  std::optional<std::string> caps;
};

class FakeSystem final : public SetupSystem {
 public:
  FakeSystem() {
    groups["root"] = {"root", 0, {}};
    groups["adm"] = {"adm", 4, {"syslog"}};
    users["root"] = {"root", 0, 0};
    users["alice"] = {"alice", 1000, 1000};
    users["bob"] = {"bob", 1001, 1001};
    for (const char* dir : {"/etc", "/etc/systemd", "/etc/systemd/system", "/usr", "/usr/bin", "/var", "/var/lib"}) {
      files[dir] = {{S_IFDIR | 0755, 0, 0}, "", "", std::nullopt};
    }
    files["/usr/bin/syscount"] = {{S_IFREG | 0755, 0, 0}, "ELF", "", std::nullopt};
    files["/usr/bin/other"] = {{S_IFREG | 04755, 1000, 1000}, "ELF", "", std::string("cap_sys_admin=ep")};
    tracefs_state = TracefsState{"/sys/kernel/tracing", "rw", 0, 0, 0700};
    const std::string t = "/sys/kernel/tracing";
    nodes[t] = {S_IFDIR | 0700, 0, 0};
    nodes[t + "/trace"] = {S_IFREG | 0640, 0, 0};
    nodes[t + "/trace_marker"] = {S_IFREG | 0220, 0, 0};
    nodes[t + "/trace_marker_raw"] = {S_IFREG | 0220, 0, 0};
    nodes[t + "/events"] = {S_IFDIR | 0755, 0, 0};
    nodes[t + "/events/raw_syscalls"] = {S_IFDIR | 0755, 0, 0};
    nodes[t + "/events/raw_syscalls/sys_enter"] = {S_IFDIR | 0755, 0, 0};
    nodes[t + "/events/raw_syscalls/sys_enter/id"] = {S_IFREG | 0440, 0, 0};
    nodes[t + "/events/raw_syscalls/sys_enter/enable"] = {S_IFREG | 0640, 0, 0};
    sysctls["kernel.perf_event_paranoid"] = 2;
  }

  // Everything a test compares before and after.
  [[nodiscard]] json state() const {
    json out;
    for (const auto& [name, group] : groups) out["groups"][name] = {group.gid, group.members};
    for (const auto& [path, file] : files) {
      out["files"][path] = {file.meta.mode, file.meta.uid, file.meta.gid, file.content, file.link,
                            file.caps ? *file.caps : "-"};
    }
    for (const auto& [path, meta] : nodes) out["tracefs"][path] = {meta.mode, meta.gid};
    if (tracefs_state) out["mount"] = {tracefs_state->uid, tracefs_state->gid, tracefs_state->mode};
    out["sysctls"] = sysctls;
    return out;
  }

  // Failure injection: the Nth mutating call (1-based) fails; also ops by name.
  int fail_at = 0;
  int second_fail_at = 0;
  int mutations = 0;
  std::set<std::string> failing_ops;
  std::vector<std::string> log;

  bool is_live = true;
  bool systemd = false;
  ParanoidVerdict paranoid{false, 2, "perf_event_paranoid is 2"};
  std::map<std::string, GroupRecord> groups;
  std::map<std::string, UserRecord> users;
  std::map<std::string, FakeFile> files;
  std::optional<TracefsState> tracefs_state;
  std::map<std::string, FileMeta> nodes;
  std::map<std::string, long> sysctls;

  [[nodiscard]] bool live() const override { return is_live; }
  [[nodiscard]] std::string root_dir() const override { return "/"; }

  Expected<std::optional<GroupRecord>> find_group(const std::string& name) override {
    auto it = groups.find(name);
    if (it == groups.end()) return std::optional<GroupRecord>{};
    return std::optional<GroupRecord>{it->second};
  }
  Expected<std::optional<UserRecord>> find_user(const std::string& name) override {
    auto it = users.find(name);
    if (it == users.end()) return std::optional<UserRecord>{};
    return std::optional<UserRecord>{it->second};
  }
  Expected<gid_t> create_group(const std::string& name) override {
    if (auto s = mutate("create_group " + name); !s) return s.error();
    gid_t gid = 990;
    while (std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return g.second.gid == gid; })) --gid;
    groups[name] = {name, gid, {}};
    return gid;
  }
  Expected<void> delete_group(const std::string& name) override {
    if (auto s = mutate("delete_group " + name); !s) return s;
    groups.erase(name);
    return Ok{};
  }
  Expected<void> add_member(const std::string& user, const std::string& group) override {
    if (auto s = mutate("add_member " + user); !s) return s;
    groups.at(group).members.push_back(user);
    return Ok{};
  }
  Expected<void> remove_member(const std::string& user, const std::string& group) override {
    if (auto s = mutate("remove_member " + user); !s) return s;
    auto& members = groups.at(group).members;
    members.erase(std::remove(members.begin(), members.end(), user), members.end());
    return Ok{};
  }

  Expected<std::optional<FileMeta>> stat(const std::string& path) override {
    if (auto it = files.find(path); it != files.end()) return std::optional<FileMeta>{it->second.meta};
    if (auto it = nodes.find(path); it != nodes.end()) return std::optional<FileMeta>{it->second};
    return std::optional<FileMeta>{};
  }
  Expected<void> chown(const std::string& path, uid_t uid, gid_t gid) override {
    if (auto s = mutate("chown " + path); !s) return s;
    auto& file = files.at(path);
    if (file.meta.uid != uid || file.meta.gid != gid) {
      file.caps.reset();  // as the kernel does
      file.meta.mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
    }
    file.meta.uid = uid;
    file.meta.gid = gid;
    return Ok{};
  }
  Expected<void> chmod(const std::string& path, mode_t mode) override {
    if (auto s = mutate("chmod " + path); !s) return s;
    auto& meta = files.at(path).meta;
    meta.mode = (meta.mode & S_IFMT) | mode;
    return Ok{};
  }
  Expected<std::optional<std::string>> get_caps(const std::string& path) override { return files.at(path).caps; }
  Expected<void> set_caps(const std::string& path, const std::optional<std::string>& caps) override {
    // Like libcap on a filesystem without xattrs: setting fails, removing has nothing to remove.
    if (auto s = mutate((caps ? "set_caps " : "remove_caps ") + path); !s) return s;
    files.at(path).caps = caps;
    return Ok{};
  }
  Expected<std::optional<std::string>> read_file(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end() || !S_ISREG(it->second.meta.mode)) return std::optional<std::string>{};
    return std::optional<std::string>{it->second.content};
  }
  Expected<void> write_file(const std::string& path, const std::string& content, mode_t mode) override {
    if (auto s = mutate("write_file " + path); !s) return s;
    if (!files.count(parent(path))) return SysError{ENOENT, "write " + path + ": no parent"};
    files[path] = {{S_IFREG | mode, 0, 0}, content, "", std::nullopt};
    return Ok{};
  }
  Expected<std::optional<std::string>> read_link(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end() || !S_ISLNK(it->second.meta.mode)) return std::optional<std::string>{};
    return std::optional<std::string>{it->second.link};
  }
  Expected<void> make_symlink(const std::string& path, const std::string& target) override {
    if (auto s = mutate("symlink " + path); !s) return s;
    if (files.count(path)) return SysError{EEXIST, "symlink " + path};
    files[path] = {{S_IFLNK | 0777, 0, 0}, "", target, std::nullopt};
    return Ok{};
  }
  Expected<void> remove_file(const std::string& path) override {
    if (auto s = mutate("remove_file " + path); !s) return s;
    files.erase(path);
    return Ok{};
  }
  Expected<void> make_dir(const std::string& path, mode_t mode) override {
    if (auto s = mutate("make_dir " + path); !s) return s;
    if (files.count(path)) return SysError{EEXIST, "mkdir " + path};
    files[path] = {{S_IFDIR | mode, 0, 0}, "", "", std::nullopt};
    return Ok{};
  }
  Expected<void> remove_dir(const std::string& path) override {
    if (auto s = mutate("remove_dir " + path); !s) return s;
    for (const auto& [other, file] : files) {
      if (other.rfind(path + "/", 0) == 0) return SysError{ENOTEMPTY, "rmdir " + path};
    }
    files.erase(path);
    return Ok{};
  }

  Expected<std::optional<TracefsState>> tracefs() override {
    if (!is_live) return std::optional<TracefsState>{};
    return tracefs_state;
  }
  Expected<void> remount_tracefs(const std::string& /*target*/, uid_t uid, gid_t gid, mode_t mode) override {
    if (auto s = mutate("remount"); !s) return s;
    tracefs_state->uid = uid;
    tracefs_state->gid = gid;
    tracefs_state->mode = mode;
    for (auto& [path, meta] : nodes) meta.gid = gid;  // measured: gid= reaches every node
    auto& root = nodes.at(tracefs_state->target);
    root.mode = S_IFDIR | mode;
    return Ok{};
  }
  Expected<std::vector<TracefsNode>> walk_tracefs(const std::string& /*target*/) override {
    std::vector<TracefsNode> out;
    for (const auto& [path, meta] : nodes) out.push_back({path, meta});
    return out;
  }
  Expected<void> tracefs_chown(const std::string& path, gid_t gid) override {
    if (auto s = mutate("tracefs_chown " + path); !s) return s;
    nodes.at(path).gid = gid;
    return Ok{};
  }
  Expected<void> tracefs_chmod(const std::string& path, mode_t mode) override {
    if (auto s = mutate("tracefs_chmod " + path); !s) return s;
    auto& meta = nodes.at(path);
    meta.mode = (meta.mode & S_IFMT) | mode;
    return Ok{};
  }
  Expected<std::optional<long>> read_sysctl(const std::string& key) override {
    auto it = sysctls.find(key);
    if (it == sysctls.end()) return std::optional<long>{};
    return std::optional<long>{it->second};
  }
  Expected<void> write_sysctl(const std::string& key, long value) override {
    if (auto s = mutate("sysctl " + key); !s) return s;
    sysctls[key] = value;
    return Ok{};
  }
  ParanoidVerdict perf_event_blocked_by_paranoid(std::uint64_t /*caps*/) override { return paranoid; }
  bool systemd_running() override { return systemd; }
  Expected<void> reload_systemd() override {
    log.emplace_back("daemon-reload");
    return Ok{};
  }

 private:
  static std::string parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

  Expected<void> mutate(const std::string& what) {
    ++mutations;
    log.push_back(what);
    const std::string op = what.substr(0, what.find(' '));
    if (mutations == fail_at || mutations == second_fail_at || failing_ops.count(op) != 0) {
      return SysError{EIO, "injected failure: " + what};
    }
    return Ok{};
  }
};

}  // namespace bpfready::testing_setup
