#include "tools/tracefs-setup/apply.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>

#include "tools/tracefs-setup/journal.h"

namespace bpfready {

namespace {

using nlohmann::json;

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) out += prefix + line + "\n";
  return out;
}

Expected<gid_t> group_gid(SetupSystem& system, const std::string& name) {
  auto group = system.find_group(name);
  if (!group) return group.error();
  if (!*group) return SysError::plain("group " + name + " does not exist");
  return (*group)->gid;
}

std::pair<std::string, std::string> split_member(const std::string& target) {
  const auto colon = target.find(':');
  return {target.substr(0, colon), colon == std::string::npos ? "" : target.substr(colon + 1)};
}

Expected<void> make_missing_dirs(SetupSystem& system, const json& before) {
  for (const auto& dir : before.value("missing_dirs", json::array())) {
    auto meta = system.stat(dir.get<std::string>());
    if (!meta) return meta.error();
    if (*meta) continue;
    if (auto status = system.make_dir(dir.get<std::string>(), 0755); !status) return status;
  }
  return Ok{};
}

// Puts PATH back as BEFORE describes it (see path_state in setup_plan.cpp).
Expected<void> restore_path(SetupSystem& system, const std::string& path, const json& before) {
  if (before.value("exists", false)) {
    if (before.contains("link")) {
      if (auto status = system.remove_file(path); !status) return status;
      return system.make_symlink(path, before["link"].get<std::string>());
    }
    const auto mode = before.value("mode", 0644U);
    if (auto status = system.write_file(path, before.value("content", ""), mode); !status) return status;
    return system.chown(path, before.value("uid", 0U), before.value("gid", 0U));
  }
  if (auto status = system.remove_file(path); !status) return status;
  const auto dirs = before.value("missing_dirs", std::vector<std::string>{});
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (auto status = system.remove_dir(*it); !status && status.error().errnum != ENOTEMPTY) return status;
  }
  return Ok{};
}

// Makes one change. SAVE journals ENTRY again when the change learns more
// before acting (the tracefs nodes it is about to touch).
Expected<void> perform(SetupSystem& system, JournalEntry& entry, const std::function<Expected<void>()>& save) {
  const json& after = entry.after;
  switch (entry.kind) {
    case ChangeKind::group_create: {
      auto gid = system.create_group(entry.target);
      if (!gid) return gid.error();
      entry.after["gid"] = *gid;
      return Ok{};
    }
    case ChangeKind::group_member: {
      const auto [user, group] = split_member(entry.target);
      return system.add_member(user, group);
    }
    case ChangeKind::binary: {
      auto gid = group_gid(system, after.at("group").get<std::string>());
      if (!gid) return gid.error();
      entry.after["gid"] = *gid;
      // chown clears file capabilities (and set-id bits): owner, then mode, then caps.
      if (auto status = system.chown(entry.target, 0, *gid); !status) return status;
      if (auto status = system.chmod(entry.target, after.at("mode").get<mode_t>()); !status) return status;
      return system.set_caps(entry.target, after.at("caps").get<std::string>());
    }
    case ChangeKind::file: {
      if (auto status = make_missing_dirs(system, entry.before); !status) return status;
      return system.write_file(entry.target, after.at("content").get<std::string>(), after.at("mode").get<mode_t>());
    }
    case ChangeKind::symlink: {
      if (auto status = make_missing_dirs(system, entry.before); !status) return status;
      if (auto status = system.remove_file(entry.target); !status) return status;
      return system.make_symlink(entry.target, after.at("link").get<std::string>());
    }
    case ChangeKind::tracefs_mount: {
      auto gid = group_gid(system, after.at("group").get<std::string>());
      if (!gid) return gid.error();
      entry.after["gid"] = *gid;
      const auto mode = after.at("mode").get<mode_t>();
      if (auto status = system.remount_tracefs(entry.target, after.at("uid").get<uid_t>(), *gid, mode); !status) {
        return status;
      }
      auto state = system.tracefs();
      if (!state) return state.error();
      if (!*state || (*state)->gid != *gid || (*state)->mode != mode) {
        return SysError::plain("the remount of " + entry.target + " did not take: options are now '" +
                               (*state ? (*state)->fs_options : std::string("not mounted")) + "'");
      }
      return Ok{};
    }
    case ChangeKind::tracefs_nodes: {
      auto gid = group_gid(system, after.at("group").get<std::string>());
      if (!gid) return gid.error();
      auto nodes = system.walk_tracefs(entry.target);
      if (!nodes) return nodes.error();
      // Measured after the remount, not predicted: this is what gets changed.
      const auto changes = tracefs_node_changes(entry.target, *nodes, *gid);
      json before = json::array();
      json wanted = json::array();
      for (const auto& node : changes) {
        // A gid is recorded only where this change sets it: the others follow the
        // mount's gid=, and restoring them by hand after the remount is undone
        // would hand them back to the group.
        json was = {{"path", node.path}, {"mode", node.before.permissions()}};
        json now = {{"path", node.path}, {"mode", node.mode}};
        if (node.gid != node.before.gid) {
          was["gid"] = node.before.gid;
          now["gid"] = node.gid;
        }
        before.push_back(was);
        wanted.push_back(now);
      }
      entry.before["nodes"] = before;
      entry.after["nodes"] = wanted;
      if (auto status = save(); !status) return status;
      for (const auto& node : changes) {
        if (node.gid != node.before.gid) {
          if (auto status = system.tracefs_chown(node.path, node.gid); !status) return status;
        }
        if (node.mode != node.before.permissions()) {
          if (auto status = system.tracefs_chmod(node.path, node.mode); !status) return status;
        }
      }
      return Ok{};
    }
    case ChangeKind::sysctl:
      return system.write_sysctl(entry.target, after.at("value").get<long>());
  }
  return SysError::plain("unknown change");
}

// Restores ENTRY's before state. Safe when the change never happened.
Expected<void> undo(SetupSystem& system, const JournalEntry& entry) {
  const json& before = entry.before;
  switch (entry.kind) {
    case ChangeKind::group_create: {
      auto group = system.find_group(entry.target);
      if (!group) return group.error();
      if (!*group) return Ok{};
      return system.delete_group(entry.target);
    }
    case ChangeKind::group_member: {
      const auto [user, group_name] = split_member(entry.target);
      auto group = system.find_group(group_name);
      if (!group) return group.error();
      if (!*group) return Ok{};
      const auto& members = (*group)->members;
      if (std::find(members.begin(), members.end(), user) == members.end()) return Ok{};
      return system.remove_member(user, group_name);
    }
    case ChangeKind::binary: {
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
        if (auto status = system.chown(entry.target, uid, gid); !status) return status;
      }
      auto now = system.stat(entry.target);
      if (!now) return now.error();
      if (*now && (*now)->permissions() != mode) {
        if (auto status = system.chmod(entry.target, mode); !status) return status;
      }
      std::optional<std::string> caps;
      if (before.at("caps").is_string()) caps = before["caps"].get<std::string>();
      auto current = system.get_caps(entry.target);
      if (current && *current == caps) return Ok{};
      return system.set_caps(entry.target, caps);
    }
    case ChangeKind::file:
    case ChangeKind::symlink:
      return restore_path(system, entry.target, before);
    case ChangeKind::tracefs_mount: {
      auto state = system.tracefs();
      if (!state) return state.error();
      if (!*state || (*state)->target != entry.target) return Ok{};  // unmounted since: nothing to restore
      const auto uid = before.at("uid").get<uid_t>();
      const auto gid = before.at("gid").get<gid_t>();
      const auto mode = before.at("mode").get<mode_t>();
      if ((*state)->uid == uid && (*state)->gid == gid && (*state)->mode == mode) return Ok{};
      return system.remount_tracefs(entry.target, uid, gid, mode);
    }
    case ChangeKind::tracefs_nodes: {
      for (const auto& node : before.value("nodes", json::array())) {
        const auto path = node.at("path").get<std::string>();
        auto meta = system.stat(path);
        if (!meta) return meta.error();
        if (!*meta) continue;  // an instance removed since
        const auto mode = node.at("mode").get<mode_t>();
        if (node.contains("gid") && (*meta)->gid != node["gid"].get<gid_t>()) {
          if (auto status = system.tracefs_chown(path, node["gid"].get<gid_t>()); !status) return status;
        }
        if ((*meta)->permissions() != mode) {
          if (auto status = system.tracefs_chmod(path, mode); !status) return status;
        }
      }
      return Ok{};
    }
    case ChangeKind::sysctl:
      return system.write_sysctl(entry.target, before.at("value").get<long>());
  }
  return SysError::plain("unknown change");
}

// nullopt when ENTRY's change still holds; otherwise what is there instead.
Expected<std::optional<std::string>> drift(SetupSystem& system, const JournalEntry& entry) {
  using Result = std::optional<std::string>;
  const json& after = entry.after;
  switch (entry.kind) {
    case ChangeKind::group_create: {
      auto group = system.find_group(entry.target);
      if (!group) return group.error();
      if (!*group) return Result{"the group is gone"};
      if (after.contains("gid") && (*group)->gid != after["gid"].get<gid_t>()) {
        return Result{"the group now has gid " + std::to_string((*group)->gid)};
      }
      return Result{};
    }
    case ChangeKind::group_member: {
      const auto [user, group_name] = split_member(entry.target);
      auto group = system.find_group(group_name);
      if (!group) return group.error();
      if (!*group) return Result{"the group is gone"};
      const auto& members = (*group)->members;
      if (std::find(members.begin(), members.end(), user) == members.end()) return Result{"no longer a member"};
      return Result{};
    }
    case ChangeKind::binary: {
      auto meta = system.stat(entry.target);
      if (!meta) return meta.error();
      if (!*meta) return Result{"the binary is gone"};
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
      if (problems.empty()) return Result{};
      return Result{"now " + problems.substr(0, problems.size() - 2)};
    }
    case ChangeKind::file: {
      auto content = system.read_file(entry.target);
      if (!content) return content.error();
      if (!*content) return Result{"the file is gone"};
      if (**content != after.at("content").get<std::string>()) return Result{"the file was edited"};
      return Result{};
    }
    case ChangeKind::symlink: {
      auto link = system.read_link(entry.target);
      if (!link) return link.error();
      if (!*link || **link != after.at("link").get<std::string>()) return Result{"the link is gone or changed"};
      return Result{};
    }
    case ChangeKind::tracefs_mount: {
      auto state = system.tracefs();
      if (!state) return state.error();
      if (!*state) return Result{"tracefs is not mounted now"};
      if ((*state)->gid != after.value("gid", gid_t{0}) || (*state)->mode != after.at("mode").get<mode_t>()) {
        return Result{"mount options are now '" + (*state)->fs_options + "'"};
      }
      return Result{};
    }
    case ChangeKind::tracefs_nodes: {
      std::size_t drifted = 0;
      std::string first;
      for (const auto& node : after.value("nodes", json::array())) {
        const auto path = node.at("path").get<std::string>();
        auto meta = system.stat(path);
        if (!meta) return meta.error();
        if (!*meta) continue;
        if ((node.contains("gid") && (*meta)->gid != node["gid"].get<gid_t>()) ||
            (*meta)->permissions() != node.at("mode").get<mode_t>()) {
          if (drifted++ == 0) first = path + " is " + std::to_string((*meta)->gid) + " " + mode_text((*meta)->permissions());
        }
      }
      if (drifted == 0) return Result{};
      return Result{std::to_string(drifted) + " file(s) changed since, e.g. " + first};
    }
    case ChangeKind::sysctl: {
      auto value = system.read_sysctl(entry.target);
      if (!value) return value.error();
      if (!*value || **value != after.at("value").get<long>()) {
        return Result{"now " + (*value ? std::to_string(**value) : std::string("unreadable"))};
      }
      return Result{};
    }
  }
  return Result{"unknown change"};
}

// Undoes entries from FIRST to the end, newest first; removes those undone.
// Returns the failures, one line each.
std::vector<std::string> undo_from(SetupSystem& system, Journal& journal, std::size_t first) {
  std::vector<std::string> failures;
  for (std::size_t i = journal.entries.size(); i > first; --i) {
    const JournalEntry& entry = journal.entries[i - 1];
    if (auto status = undo(system, entry); !status) {
      failures.push_back(entry.summary + ": " + status.error().message);
      continue;
    }
    journal.entries.erase(journal.entries.begin() + static_cast<std::ptrdiff_t>(i - 1));
  }
  return failures;
}

// Saves JOURNAL, or removes it when it has nothing left to revert.
Expected<void> settle_journal(SetupSystem& system, const Journal& journal) {
  if (journal.entries.empty()) return remove_journal(system, journal);
  return save_journal(system, journal);
}

std::string journal_location(SetupSystem& system) {
  const std::string root = system.root_dir();
  return (root == "/" ? "" : root) + std::string(kJournalPath);
}

bool touches_units(const Plan& plan) {
  return std::any_of(plan.changes.begin(), plan.changes.end(), [](const Change& change) {
    return (change.kind == ChangeKind::file || change.kind == ChangeKind::symlink) &&
           change.target.rfind(std::string(kUnitDir), 0) == 0;
  });
}

std::string render_notes(const std::vector<std::string>& notes) {
  std::string out;
  if (notes.empty()) return out;
  out += "\nLeft alone, and why:\n";
  for (const auto& note : notes) out += "  - " + note + "\n";
  return out;
}

}  // namespace

std::string render_plan(const Plan& plan) {
  std::string out;
  if (plan.changes.empty()) {
    out += "No changes: everything is already in place.\n";
  } else {
    out += std::to_string(plan.changes.size()) + " change(s):\n";
    std::size_t number = 0;
    for (const auto& change : plan.changes) {
      out += "\n" + std::to_string(++number) + ". " + change.summary + "\n";
      out += "   why: " + change.why + "\n";
      out += "   run:\n" + indent(change.command, "     ");
    }
  }
  out += render_notes(plan.notes);
  return out;
}

SetupOutcome run_plan(SetupSystem& system, const SetupOptions& options) {
  auto plan = make_plan(system, options);
  if (!plan) return {2, "tracefs-setup plan: " + plan.error().message + "\n"};
  return {0, "tracefs-setup plan (nothing is changed)\n\n" + render_plan(*plan)};
}

SetupOutcome run_apply(SetupSystem& system, const SetupOptions& options) {
  auto plan = make_plan(system, options);
  if (!plan) return {2, "tracefs-setup apply: " + plan.error().message + "\nNothing was changed.\n"};
  if (plan->changes.empty()) {
    return {0, "tracefs-setup apply: no changes; everything is already in place.\n" + render_notes(plan->notes)};
  }

  auto loaded = load_journal(system);
  if (!loaded) return {2, "tracefs-setup apply: " + loaded.error().message + "\nNothing was changed.\n"};
  Journal journal = loaded->value_or(Journal{});
  const bool new_journal = !*loaded;
  const std::size_t first = journal.entries.size();
  std::string out = "tracefs-setup apply: " + std::to_string(plan->changes.size()) + " change(s)\n";

  if (new_journal) {
    for (auto dir = std::filesystem::path(kJournalPath).parent_path(); dir != dir.root_path(); dir = dir.parent_path()) {
      auto meta = system.stat(dir.string());
      if (!meta) return {2, out + "error: " + meta.error().message + "\nNothing was changed.\n"};
      if (*meta) break;
      journal.created_dirs.insert(journal.created_dirs.begin(), dir.string());
    }
    for (const auto& dir : journal.created_dirs) {
      if (auto status = system.make_dir(dir, 0755); !status) {
        (void)remove_journal(system, journal);
        return {2, out + "error: " + status.error().message + "\nNothing was changed.\n"};
      }
    }
  }
  journal.applies.push_back(
      {{"time", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count()},
       {"options", options.to_json()}});

  std::size_t step = 0;
  for (const auto& change : plan->changes) {
    ++step;
    const std::string label =
        "[" + std::to_string(step) + "/" + std::to_string(plan->changes.size()) + "] " + change.summary;
    journal.entries.push_back({change.kind, change.target, change.before, change.after, change.summary, false});
    auto save = [&]() { return save_journal(system, journal); };
    Expected<void> status = save();
    if (status) status = perform(system, journal.entries.back(), save);
    if (status) {
      journal.entries.back().done = true;
      status = save();
    }
    if (!status) {
      out += "  " + label + ": FAILED\n    " + status.error().message + "\n";
      journal.applies.erase(journal.applies.end() - 1);
      const auto failures = undo_from(system, journal, first);
      const Expected<void> settled = settle_journal(system, journal);
      if (failures.empty() && settled) {
        out += "Rolled back the " + std::to_string(step - 1) + " change(s) made before it (and any part of this one);"
               " the system is as it was.\n";
      } else {
        out += "Rollback was incomplete:\n";
        for (const auto& failure : failures) out += "  - " + failure + "\n";
        if (!settled) out += "  - journal: " + settled.error().message + "\n";
        out += "The journal " + journal_location(system) + " lists what remains; run `tracefs-setup revert`.\n";
      }
      return {2, out};
    }
    out += "  " + label + ": done\n";
  }

  if (system.systemd_running() && touches_units(*plan)) {
    if (auto status = system.reload_systemd(); !status) out += "warning: " + status.error().message + "\n";
  }
  out += render_notes(plan->notes);
  out += "\nJournal: " + journal_location(system) + " (undo everything with `tracefs-setup revert`).\n";
  if (!options.users.empty()) out += "Group membership takes effect at each user's next login.\n";
  return {0, out};
}

SetupOutcome run_status(SetupSystem& system) {
  auto loaded = load_journal(system);
  if (!loaded) return {2, "tracefs-setup status: " + loaded.error().message + "\n"};
  if (!*loaded || (*loaded)->entries.empty()) {
    return {1, "tracefs-setup status: nothing applied (no journal at " + journal_location(system) + ").\n"};
  }
  const Journal& journal = **loaded;
  std::string out = "tracefs-setup status: " + std::to_string(journal.entries.size()) + " change(s) applied\n";
  std::size_t drifted = 0;
  for (const auto& entry : journal.entries) {
    auto result = drift(system, entry);
    if (!result) {
      ++drifted;
      out += "  error    " + entry.summary + "\n           " + result.error().message + "\n";
    } else if (*result) {
      ++drifted;
      out += "  DRIFTED  " + entry.summary + "\n           " + **result + "\n";
    } else {
      out += std::string("  ") + (entry.done ? "applied  " : "partial  ") + entry.summary + "\n";
      if (!entry.done) ++drifted;
    }
  }
  if (drifted == 0) {
    out += "Everything still holds.\n";
    return {0, out};
  }
  out += std::to_string(drifted) + " change(s) no longer hold; `tracefs-setup apply` with the same options "
         "makes them again, `tracefs-setup revert` undoes everything.\n";
  return {1, out};
}

SetupOutcome run_revert(SetupSystem& system) {
  auto loaded = load_journal(system);
  if (!loaded) return {2, "tracefs-setup revert: " + loaded.error().message + "\nNothing was changed.\n"};
  if (!*loaded) return {0, "tracefs-setup revert: nothing to revert (no journal at " + journal_location(system) + ").\n"};
  Journal journal = std::move(**loaded);
  std::string out = "tracefs-setup revert: " + std::to_string(journal.entries.size()) + " change(s)\n";
  std::vector<std::string> summaries;
  for (auto it = journal.entries.rbegin(); it != journal.entries.rend(); ++it) summaries.push_back(it->summary);
  const auto failures = undo_from(system, journal, 0);
  for (const auto& summary : summaries) {
    const bool failed = std::any_of(failures.begin(), failures.end(),
                                    [&](const std::string& failure) { return failure.rfind(summary + ": ", 0) == 0; });
    out += std::string("  ") + (failed ? "FAILED   " : "undone   ") + summary + "\n";
  }
  const Expected<void> settled = settle_journal(system, journal);
  if (failures.empty() && settled) {
    if (system.systemd_running()) (void)system.reload_systemd();
    out += "Everything is as it was before apply.\n";
    return {0, out};
  }
  for (const auto& failure : failures) out += "error: " + failure + "\n";
  if (!settled) out += "error: journal: " + settled.error().message + "\n";
  out += "The journal keeps what could not be undone; fix the cause and run `tracefs-setup revert` again.\n";
  return {2, out};
}

}  // namespace bpfready
