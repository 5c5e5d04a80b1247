#include "tools/tracefs-setup/changes.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace bpfready {

namespace {

using nlohmann::json;
using Drift = std::optional<std::string>;
using SaveFn = std::function<Expected<void>()>;

Expected<gid_t> group_gid(SetupSystem& system, const std::string& name) {
  auto group = system.find_group(name);
  if (!group) return group.error();
  if (!*group) return SysError::plain("group " + name + " does not exist");
  return (*group)->gid;
}

// A group_member change's target, "user:group".
std::pair<std::string, std::string> split_member(const std::string& target) {
  const auto colon = target.find(':');
  return {target.substr(0, colon), colon == std::string::npos ? "" : target.substr(colon + 1)};
}

// ---- apply ----

Expected<void> make_missing_dirs(SetupSystem& system, const json& before) {
  for (const auto& dir : before.value("missing_dirs", json::array())) {
    auto meta = system.stat(dir.get<std::string>());
    if (!meta) return meta.error();
    if (*meta) continue;
    if (auto made = system.make_dir(dir.get<std::string>(), 0755); !made) return made;
  }
  return Ok{};
}

Expected<void> perform_group_create(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  auto gid = system.create_group(entry.target);
  if (!gid) return gid.error();
  entry.after["gid"] = *gid;
  return Ok{};
}

Expected<void> perform_member(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  const auto [user, group] = split_member(entry.target);
  return system.add_member(user, group);
}

Expected<void> perform_binary(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  const json& after = entry.after;
  auto gid = group_gid(system, after.at("group").get<std::string>());
  if (!gid) return gid.error();
  entry.after["gid"] = *gid;
  // chown clears file capabilities (and set-id bits): owner, then mode, then caps.
  if (auto done = system.chown(entry.target, 0, *gid); !done) return done;
  if (auto done = system.chmod(entry.target, after.at("mode").get<mode_t>()); !done) return done;
  return system.set_caps(entry.target, after.at("caps").get<std::string>());
}

Expected<void> perform_file(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  if (auto done = make_missing_dirs(system, entry.before); !done) return done;
  return system.write_file(entry.target, entry.after.at("content").get<std::string>(),
                           entry.after.at("mode").get<mode_t>());
}

Expected<void> perform_symlink(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  if (auto done = make_missing_dirs(system, entry.before); !done) return done;
  if (auto done = system.remove_file(entry.target); !done) return done;
  return system.make_symlink(entry.target, entry.after.at("link").get<std::string>());
}

Expected<void> perform_remount(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  const json& after = entry.after;
  auto gid = group_gid(system, after.at("group").get<std::string>());
  if (!gid) return gid.error();
  entry.after["gid"] = *gid;
  const auto mode = after.at("mode").get<mode_t>();
  if (auto done = system.remount_tracefs(entry.target, after.at("uid").get<uid_t>(), *gid, mode); !done) return done;
  auto state = system.tracefs();
  if (!state) return state.error();
  if (!*state || (*state)->gid != *gid || (*state)->mode != mode) {
    return SysError::plain("the remount of " + entry.target + " did not take: options are now '" +
                           (*state ? (*state)->fs_options : std::string("not mounted")) + "'");
  }
  return Ok{};
}

Expected<void> perform_tracefs_nodes(SetupSystem& system, JournalEntry& entry, const SaveFn& save) {
  auto gid = group_gid(system, entry.after.at("group").get<std::string>());
  if (!gid) return gid.error();
  auto nodes = system.walk_tracefs(entry.target);
  if (!nodes) return nodes.error();
  // Measured after the remount, not predicted: this is what gets changed.
  const auto changes = tracefs_node_changes(entry.target, *nodes, *gid);
  entry.before["nodes"] = nodes_json(changes, false);
  entry.after["nodes"] = nodes_json(changes, true);
  if (auto saved = save(); !saved) return saved;
  for (const auto& node : changes) {
    if (node.gid != node.before.gid) {
      if (auto done = system.tracefs_chown(node.path, node.gid); !done) return done;
    }
    if (node.mode != node.before.permissions()) {
      if (auto done = system.tracefs_chmod(node.path, node.mode); !done) return done;
    }
  }
  return Ok{};
}

Expected<void> perform_sysctl(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  return system.write_sysctl(entry.target, entry.after.at("value").get<long>());
}

// ---- revert ----

// Puts a file or link back as its before state describes it (see path_state
// in plan.cpp).
Expected<void> undo_path(SetupSystem& system, const JournalEntry& entry) {
  const std::string& path = entry.target;
  const json& before = entry.before;
  if (before.value("exists", false)) {
    if (before.contains("link")) {
      if (auto done = system.remove_file(path); !done) return done;
      return system.make_symlink(path, before["link"].get<std::string>());
    }
    const auto mode = before.value("mode", 0644U);
    if (auto done = system.write_file(path, before.value("content", ""), mode); !done) return done;
    return system.chown(path, before.value("uid", 0U), before.value("gid", 0U));
  }
  if (auto done = system.remove_file(path); !done) return done;
  const auto dirs = before.value("missing_dirs", std::vector<std::string>{});
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (auto done = system.remove_dir(*it); !done && done.error().errnum != ENOTEMPTY) return done;
  }
  return Ok{};
}

Expected<void> undo_group_create(SetupSystem& system, const JournalEntry& entry) {
  auto group = system.find_group(entry.target);
  if (!group) return group.error();
  if (!*group) return Ok{};
  return system.delete_group(entry.target);
}

Expected<void> undo_member(SetupSystem& system, const JournalEntry& entry) {
  const auto [user, group_name] = split_member(entry.target);
  auto group = system.find_group(group_name);
  if (!group) return group.error();
  if (!*group || !(*group)->lists(user)) return Ok{};
  return system.remove_member(user, group_name);
}

Expected<void> undo_binary(SetupSystem& system, const JournalEntry& entry) {
  const json& before = entry.before;
  auto meta = system.stat(entry.target);
  if (!meta) return meta.error();
  // Removed since (a package uninstalled it): nothing of it is left to
  // restore, and refusing would leave the journal stuck forever.
  if (!*meta) return Ok{};
  // Only what differs, in the order apply used: chown clears capabilities.
  const auto uid = before.at("uid").get<uid_t>();
  const auto gid = before.at("gid").get<gid_t>();
  const auto mode = before.at("mode").get<mode_t>();
  if ((*meta)->uid != uid || (*meta)->gid != gid) {
    if (auto done = system.chown(entry.target, uid, gid); !done) return done;
  }
  auto now = system.stat(entry.target);
  if (!now) return now.error();
  if (*now && (*now)->permissions() != mode) {
    if (auto done = system.chmod(entry.target, mode); !done) return done;
  }
  std::optional<std::string> caps;
  if (before.at("caps").is_string()) caps = before["caps"].get<std::string>();
  auto current = system.get_caps(entry.target);
  if (current && *current == caps) return Ok{};
  return system.set_caps(entry.target, caps);
}

Expected<void> undo_remount(SetupSystem& system, const JournalEntry& entry) {
  const json& before = entry.before;
  auto state = system.tracefs();
  if (!state) return state.error();
  if (!*state || (*state)->target != entry.target) return Ok{};  // unmounted since: nothing to restore
  const auto uid = before.at("uid").get<uid_t>();
  const auto gid = before.at("gid").get<gid_t>();
  const auto mode = before.at("mode").get<mode_t>();
  if ((*state)->uid == uid && (*state)->gid == gid && (*state)->mode == mode) return Ok{};
  return system.remount_tracefs(entry.target, uid, gid, mode);
}

Expected<void> undo_sysctl(SetupSystem& system, const JournalEntry& entry) {
  return system.write_sysctl(entry.target, entry.before.at("value").get<long>());
}

Expected<void> undo_tracefs_nodes(SetupSystem& system, const JournalEntry& entry) {
  for (const auto& node : entry.before.value("nodes", json::array())) {
    const auto path = node.at("path").get<std::string>();
    auto meta = system.stat(path);
    if (!meta) return meta.error();
    if (!*meta) continue;  // an instance removed since
    const auto mode = node.at("mode").get<mode_t>();
    if (node.contains("gid") && (*meta)->gid != node["gid"].get<gid_t>()) {
      if (auto done = system.tracefs_chown(path, node["gid"].get<gid_t>()); !done) return done;
    }
    if ((*meta)->permissions() != mode) {
      if (auto done = system.tracefs_chmod(path, mode); !done) return done;
    }
  }
  return Ok{};
}

// ---- status ----

Expected<Drift> group_drift(SetupSystem& system, const JournalEntry& entry) {
  auto group = system.find_group(entry.target);
  if (!group) return group.error();
  if (!*group) return Drift{"the group is gone"};
  if (entry.after.contains("gid") && (*group)->gid != entry.after["gid"].get<gid_t>()) {
    return Drift{"the group now has gid " + std::to_string((*group)->gid)};
  }
  return Drift{};
}

Expected<Drift> member_drift(SetupSystem& system, const JournalEntry& entry) {
  const auto [user, group_name] = split_member(entry.target);
  auto group = system.find_group(group_name);
  if (!group) return group.error();
  if (!*group) return Drift{"the group is gone"};
  if (!(*group)->lists(user)) return Drift{"no longer a member"};
  return Drift{};
}

Expected<Drift> binary_drift(SetupSystem& system, const JournalEntry& entry) {
  const json& after = entry.after;
  auto meta = system.stat(entry.target);
  if (!meta) return meta.error();
  if (!*meta) return Drift{"the binary is gone"};
  auto caps = system.get_caps(entry.target);
  if (!caps) return caps.error();
  std::string problems;
  if ((*meta)->uid != 0 || (after.contains("gid") && (*meta)->gid != after["gid"].get<gid_t>())) {
    problems += "owner " + std::to_string((*meta)->uid) + ":" + std::to_string((*meta)->gid) + "; ";
  }
  if ((*meta)->permissions() != after.at("mode").get<mode_t>()) {
    problems += "mode " + mode_text((*meta)->permissions()) + "; ";
  }
  if (caps->value_or("none") != after.at("caps").get<std::string>()) {
    problems += "capabilities " + caps->value_or("none") + " (an upgrade replacing the file drops them); ";
  }
  if (problems.empty()) return Drift{};
  return Drift{"now " + problems.substr(0, problems.size() - 2)};
}

Expected<Drift> file_drift(SetupSystem& system, const JournalEntry& entry) {
  auto content = system.read_file(entry.target);
  if (!content) return content.error();
  if (!*content) return Drift{"the file is gone"};
  if (**content != entry.after.at("content").get<std::string>()) return Drift{"the file was edited"};
  return Drift{};
}

Expected<Drift> link_drift(SetupSystem& system, const JournalEntry& entry) {
  auto link = system.read_link(entry.target);
  if (!link) return link.error();
  if (!*link || **link != entry.after.at("link").get<std::string>()) return Drift{"the link is gone or changed"};
  return Drift{};
}

Expected<Drift> mount_drift(SetupSystem& system, const JournalEntry& entry) {
  auto state = system.tracefs();
  if (!state) return state.error();
  if (!*state) return Drift{"tracefs is not mounted now"};
  if ((*state)->gid != entry.after.value("gid", gid_t{0}) || (*state)->mode != entry.after.at("mode").get<mode_t>()) {
    return Drift{"mount options are now '" + (*state)->fs_options + "'"};
  }
  return Drift{};
}

Expected<Drift> nodes_drift(SetupSystem& system, const JournalEntry& entry) {
  std::size_t drifted = 0;
  std::string first;
  for (const auto& node : entry.after.value("nodes", json::array())) {
    const auto path = node.at("path").get<std::string>();
    auto meta = system.stat(path);
    if (!meta) return meta.error();
    if (!*meta) continue;
    if ((node.contains("gid") && (*meta)->gid != node["gid"].get<gid_t>()) ||
        (*meta)->permissions() != node.at("mode").get<mode_t>()) {
      if (drifted++ == 0) first = path + " is " + std::to_string((*meta)->gid) + " " + mode_text((*meta)->permissions());
    }
  }
  if (drifted == 0) return Drift{};
  return Drift{std::to_string(drifted) + " file(s) changed since, e.g. " + first};
}

Expected<Drift> sysctl_drift(SetupSystem& system, const JournalEntry& entry) {
  auto value = system.read_sysctl(entry.target);
  if (!value) return value.error();
  if (!*value || **value != entry.after.at("value").get<long>()) {
    return Drift{"now " + (*value ? std::to_string(**value) : std::string("unreadable"))};
  }
  return Drift{};
}

// What one kind of change does.
struct Operations {
  Expected<void> (*perform)(SetupSystem&, JournalEntry&, const SaveFn&);
  Expected<void> (*undo)(SetupSystem&, const JournalEntry&);
  Expected<Drift> (*drift)(SetupSystem&, const JournalEntry&);
};

Operations operations(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::group_create: return {perform_group_create, undo_group_create, group_drift};
    case ChangeKind::group_member: return {perform_member, undo_member, member_drift};
    case ChangeKind::binary: return {perform_binary, undo_binary, binary_drift};
    case ChangeKind::file: return {perform_file, undo_path, file_drift};
    case ChangeKind::symlink: return {perform_symlink, undo_path, link_drift};
    case ChangeKind::tracefs_mount: return {perform_remount, undo_remount, mount_drift};
    case ChangeKind::tracefs_nodes: return {perform_tracefs_nodes, undo_tracefs_nodes, nodes_drift};
    case ChangeKind::sysctl: return {perform_sysctl, undo_sysctl, sysctl_drift};
  }
  return {[](SetupSystem&, JournalEntry&, const SaveFn&) -> Expected<void> { return SysError::plain("unknown change"); },
          [](SetupSystem&, const JournalEntry&) -> Expected<void> { return SysError::plain("unknown change"); },
          [](SetupSystem&, const JournalEntry&) -> Expected<Drift> { return Drift{"unknown change"}; }};
}

}  // namespace

Expected<void> perform(SetupSystem& system, JournalEntry& entry, const SaveFn& save) {
  return operations(entry.kind).perform(system, entry, save);
}

Expected<void> undo(SetupSystem& system, const JournalEntry& entry) { return operations(entry.kind).undo(system, entry); }

Expected<Drift> drift(SetupSystem& system, const JournalEntry& entry) {
  return operations(entry.kind).drift(system, entry);
}

}  // namespace bpfready
