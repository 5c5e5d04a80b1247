#include "tools/tracefs-setup/changes.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace bpfready {

namespace {

using nlohmann::json;
using Drift = std::optional<std::string>;
using SaveFn = std::function<Expected<void>()>;

// The first error among RESULTS, if any.
template <class... Results>
std::optional<SysError> first_error(const Results&... results) {
  std::optional<SysError> error;
  auto note = [&error](const auto& result) {
    if (!error && !result) error = result.error();
  };
  (note(results), ...);
  return error;
}

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

// The directories a file change records as missing before it (journal.cpp
// checked that each is a path above the file).
std::vector<std::string> missing_dirs(const json& before) {
  std::vector<std::string> dirs;
  if (!state_has(before, "missing_dirs") || !before["missing_dirs"].is_array()) return dirs;
  for (const auto& dir : before["missing_dirs"]) {
    if (dir.is_string()) dirs.push_back(dir.get<std::string>());
  }
  return dirs;
}

Expected<void> make_missing_dirs(SetupSystem& system, const json& before) {
  for (const auto& dir : missing_dirs(before)) {
    auto meta = system.stat(dir);
    if (!meta) return meta.error();
    if (*meta) continue;
    if (auto made = system.make_dir(dir, 0755); !made) return made;
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
  auto group = state_text(after, "group");
  auto mode = state_mode(after, "mode");
  auto caps = state_text(after, "caps");
  if (auto error = first_error(group, mode, caps)) return *error;
  auto gid = group_gid(system, *group);
  if (!gid) return gid.error();
  entry.after["gid"] = *gid;
  // chown clears file capabilities (and set-id bits): owner, then mode, then caps.
  if (auto done = system.chown(entry.target, 0, *gid); !done) return done;
  if (auto done = system.chmod(entry.target, *mode); !done) return done;
  return system.set_caps(entry.target, *caps);
}

Expected<void> perform_file(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  auto content = state_text(entry.after, "content");
  if (!content) return content.error();
  auto mode = state_mode(entry.after, "mode");
  if (!mode) return mode.error();
  if (auto done = make_missing_dirs(system, entry.before); !done) return done;
  return system.write_file(entry.target, *content, *mode);
}

Expected<void> perform_symlink(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  auto link = state_text(entry.after, "link");
  if (!link) return link.error();
  if (auto done = make_missing_dirs(system, entry.before); !done) return done;
  if (auto done = system.remove_file(entry.target); !done) return done;
  return system.make_symlink(entry.target, *link);
}

Expected<void> perform_remount(SetupSystem& system, JournalEntry& entry, const SaveFn& /*save*/) {
  const json& after = entry.after;
  auto group = state_text(after, "group");
  auto uid = state_id(after, "uid");
  auto mode = state_mode(after, "mode");
  if (auto error = first_error(group, uid, mode)) return *error;
  auto gid = group_gid(system, *group);
  if (!gid) return gid.error();
  entry.after["gid"] = *gid;
  if (auto done = system.remount_tracefs(entry.target, *uid, *gid, *mode); !done) return done;
  auto state = system.tracefs();
  if (!state) return state.error();
  if (!*state || (*state)->gid != *gid || (*state)->mode != *mode) {
    return SysError::plain("the remount of " + entry.target + " did not take: options are now '" +
                           (*state ? (*state)->fs_options : std::string("not mounted")) + "'");
  }
  return Ok{};
}

Expected<void> perform_tracefs_nodes(SetupSystem& system, JournalEntry& entry, const SaveFn& save) {
  auto group = state_text(entry.after, "group");
  if (!group) return group.error();
  auto gid = group_gid(system, *group);
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
  auto value = state_number(entry.after, "value");
  if (!value) return value.error();
  return system.write_sysctl(entry.target, *value);
}

// ---- revert ----

// STATE[KEY] when it is there, FALLBACK when not.
Expected<std::uint32_t> id_or(const json& state, std::string_view key, std::uint32_t fallback) {
  return state_has(state, key) ? state_id(state, key) : Expected<std::uint32_t>(fallback);
}

// The capabilities a binary had before: null is none; a missing field is an error.
Expected<std::optional<std::string>> caps_before(const json& before) {
  if (!before.is_object() || !before.contains("caps")) return SysError::plain("'caps' is missing from the journal entry");
  if (before["caps"].is_null()) return std::optional<std::string>{};
  auto caps = state_text(before, "caps");
  if (!caps) return caps.error();
  return std::optional<std::string>{*caps};
}

// A tracefs node as a journal records it: path, mode, and a gid when it was changed.
struct JournalNode {
  std::string path;
  mode_t mode = 0;
  std::optional<gid_t> gid;
};

Expected<std::vector<JournalNode>> journal_nodes(const json& state) {
  std::vector<JournalNode> nodes;
  if (!state_has(state, "nodes")) return nodes;
  if (!state["nodes"].is_array()) return SysError::plain("'nodes' must be a list");
  for (const auto& item : state["nodes"]) {
    auto path = state_text(item, "path");
    if (!path) return path.error();
    auto mode = state_mode(item, "mode");
    if (!mode) return mode.error();
    JournalNode node{*path, *mode, std::nullopt};
    if (state_has(item, "gid")) {
      auto gid = state_id(item, "gid");
      if (!gid) return gid.error();
      node.gid = *gid;
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

// Puts a regular file back as its before state describes it.
Expected<void> restore_file(SetupSystem& system, const std::string& path, const json& before) {
  const std::string content = state_has(before, "content") ? state_text(before, "content").value_or("") : "";
  const auto mode = state_has(before, "mode") ? state_mode(before, "mode") : Expected<mode_t>(0644U);
  const auto uid = id_or(before, "uid", 0);
  const auto gid = id_or(before, "gid", 0);
  if (auto error = first_error(mode, uid, gid)) return *error;
  if (auto done = system.write_file(path, content, *mode); !done) return done;
  return system.chown(path, *uid, *gid);
}

// Puts a file or link back as its before state describes it (see path_state
// in plan.cpp).
Expected<void> undo_path(SetupSystem& system, const JournalEntry& entry) {
  const std::string& path = entry.target;
  const json& before = entry.before;
  if (state_has(before, "exists") && before["exists"] == true) {
    if (state_has(before, "link")) {
      auto link = state_text(before, "link");
      if (!link) return link.error();
      if (auto done = system.remove_file(path); !done) return done;
      return system.make_symlink(path, *link);
    }
    return restore_file(system, path, before);
  }
  if (auto done = system.remove_file(path); !done) return done;
  const auto dirs = missing_dirs(before);
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
  const auto uid = state_id(before, "uid");
  const auto gid = state_id(before, "gid");
  const auto mode = state_mode(before, "mode");
  const auto caps = caps_before(before);
  if (auto error = first_error(uid, gid, mode, caps)) return *error;
  auto meta = system.stat(entry.target);
  if (!meta) return meta.error();
  // Removed since (a package uninstalled it): nothing of it is left to
  // restore, and refusing would leave the journal stuck forever.
  if (!*meta) return Ok{};
  // Only what differs, in the order apply used: chown clears capabilities.
  if ((*meta)->uid != *uid || (*meta)->gid != *gid) {
    if (auto done = system.chown(entry.target, *uid, *gid); !done) return done;
  }
  auto now = system.stat(entry.target);
  if (!now) return now.error();
  if (*now && (*now)->permissions() != *mode) {
    if (auto done = system.chmod(entry.target, *mode); !done) return done;
  }
  auto current = system.get_caps(entry.target);
  if (current && *current == *caps) return Ok{};
  return system.set_caps(entry.target, *caps);
}

Expected<void> undo_remount(SetupSystem& system, const JournalEntry& entry) {
  const json& before = entry.before;
  const auto uid = state_id(before, "uid");
  const auto gid = state_id(before, "gid");
  const auto mode = state_mode(before, "mode");
  if (auto error = first_error(uid, gid, mode)) return *error;
  auto state = system.tracefs();
  if (!state) return state.error();
  if (!*state || (*state)->target != entry.target) return Ok{};  // unmounted since: nothing to restore
  if ((*state)->uid == *uid && (*state)->gid == *gid && (*state)->mode == *mode) return Ok{};
  return system.remount_tracefs(entry.target, *uid, *gid, *mode);
}

Expected<void> undo_sysctl(SetupSystem& system, const JournalEntry& entry) {
  auto value = state_number(entry.before, "value");
  if (!value) return value.error();
  return system.write_sysctl(entry.target, *value);
}

Expected<void> undo_tracefs_nodes(SetupSystem& system, const JournalEntry& entry) {
  auto nodes = journal_nodes(entry.before);
  if (!nodes) return nodes.error();
  for (const auto& node : *nodes) {
    auto meta = system.stat(node.path);
    if (!meta) return meta.error();
    if (!*meta) continue;  // an instance removed since
    if (node.gid && (*meta)->gid != *node.gid) {
      if (auto done = system.tracefs_chown(node.path, *node.gid); !done) return done;
    }
    if ((*meta)->permissions() != node.mode) {
      if (auto done = system.tracefs_chmod(node.path, node.mode); !done) return done;
    }
  }
  return Ok{};
}

// ---- status ----

Expected<Drift> group_drift(SetupSystem& system, const JournalEntry& entry) {
  auto group = system.find_group(entry.target);
  if (!group) return group.error();
  if (!*group) return Drift{"the group is gone"};
  if (state_has(entry.after, "gid")) {
    auto gid = state_id(entry.after, "gid");
    if (!gid) return gid.error();
    if ((*group)->gid != *gid) return Drift{"the group now has gid " + std::to_string((*group)->gid)};
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
  const auto mode = state_mode(after, "mode");
  const auto wanted_caps = state_text(after, "caps");
  const auto gid = state_has(after, "gid") ? state_id(after, "gid") : Expected<std::uint32_t>(0U);
  if (auto error = first_error(mode, wanted_caps, gid)) return *error;
  auto meta = system.stat(entry.target);
  if (!meta) return meta.error();
  if (!*meta) return Drift{"the binary is gone"};
  auto caps = system.get_caps(entry.target);
  if (!caps) return caps.error();
  std::string problems;
  if ((*meta)->uid != 0 || (state_has(after, "gid") && (*meta)->gid != *gid)) {
    problems += "owner " + std::to_string((*meta)->uid) + ":" + std::to_string((*meta)->gid) + "; ";
  }
  if ((*meta)->permissions() != *mode) problems += "mode " + mode_text((*meta)->permissions()) + "; ";
  if (caps->value_or("none") != *wanted_caps) {
    problems += "capabilities " + caps->value_or("none") + " (an upgrade replacing the file drops them); ";
  }
  if (problems.empty()) return Drift{};
  return Drift{"now " + problems.substr(0, problems.size() - 2)};
}

Expected<Drift> file_drift(SetupSystem& system, const JournalEntry& entry) {
  auto wanted = state_text(entry.after, "content");
  if (!wanted) return wanted.error();
  auto content = system.read_file(entry.target);
  if (!content) return content.error();
  if (!*content) return Drift{"the file is gone"};
  if (**content != *wanted) return Drift{"the file was edited"};
  return Drift{};
}

Expected<Drift> link_drift(SetupSystem& system, const JournalEntry& entry) {
  auto wanted = state_text(entry.after, "link");
  if (!wanted) return wanted.error();
  auto link = system.read_link(entry.target);
  if (!link) return link.error();
  if (!*link || **link != *wanted) return Drift{"the link is gone or changed"};
  // A link to a deleted file enables nothing.
  auto target = system.stat(*wanted);
  if (!target) return target.error();
  if (!*target) return Drift{"the link points to " + *wanted + ", which is gone"};
  return Drift{};
}

Expected<Drift> mount_drift(SetupSystem& system, const JournalEntry& entry) {
  const auto gid = id_or(entry.after, "gid", 0);
  const auto mode = state_mode(entry.after, "mode");
  if (auto error = first_error(gid, mode)) return *error;
  auto state = system.tracefs();
  if (!state) return state.error();
  if (!*state) return Drift{"tracefs is not mounted now"};
  if ((*state)->gid != *gid || (*state)->mode != *mode) {
    return Drift{"mount options are now '" + (*state)->fs_options + "'"};
  }
  return Drift{};
}

Expected<Drift> nodes_drift(SetupSystem& system, const JournalEntry& entry) {
  auto nodes = journal_nodes(entry.after);
  if (!nodes) return nodes.error();
  std::size_t drifted = 0;
  std::string first;
  for (const auto& node : *nodes) {
    auto meta = system.stat(node.path);
    if (!meta) return meta.error();
    if (!*meta) continue;
    if ((node.gid && (*meta)->gid != *node.gid) || (*meta)->permissions() != node.mode) {
      if (drifted++ == 0) {
        first = node.path + " is " + std::to_string((*meta)->gid) + " " + mode_text((*meta)->permissions());
      }
    }
  }
  if (drifted == 0) return Drift{};
  return Drift{std::to_string(drifted) + " file(s) changed since, e.g. " + first};
}

Expected<Drift> sysctl_drift(SetupSystem& system, const JournalEntry& entry) {
  auto wanted = state_number(entry.after, "value");
  if (!wanted) return wanted.error();
  auto value = system.read_sysctl(entry.target);
  if (!value) return value.error();
  if (!*value || **value != *wanted) {
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
