#include "tools/tracefs-setup/journal.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <initializer_list>
#include <utility>
#include <vector>

#include "libcheck/common/text.h"
#include "tools/tracefs-setup/root_files.h"

namespace bpfready {

using nlohmann::json;

namespace {

// Deeper than anything tracefs-setup writes; copying or printing a deeper
// document would recurse that deep.
constexpr std::size_t kMaxDepth = 16;

// DOCUMENT's nesting is deeper than kMaxDepth (found without recursion).
bool too_deep(const json& document) {
  std::vector<std::pair<const json*, std::size_t>> pending{{&document, 1}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->is_structured()) continue;
    if (depth > kMaxDepth) return true;
    for (const auto& child : *value) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

// VALUE, shortened, on one line: for messages about what a journal holds.
std::string shown(const json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return escape_for_terminal(text);
}

SysError must_be(std::string_view key, std::string_view what, const json& value) {
  return SysError::plain("'" + std::string(key) + "' must be " + std::string(what) + ", not " + shown(value));
}

// STATE[KEY], or an error when it is missing.
Expected<const json*> field(const json& state, std::string_view key) {
  if (!state.is_object()) return SysError::plain("the journal entry's state is not an object");
  const auto it = state.find(key);
  if (it == state.end() || it->is_null()) return SysError::plain("'" + std::string(key) + "' is missing from the journal entry");
  return &*it;
}

// Whether PATH is a normal absolute path strictly below DIR.
bool below(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

// A list of directories that must all be strictly above TARGET.
Expected<void> check_ancestors(const json& dirs, std::string_view key, const std::string& target) {
  if (!dirs.is_array()) return must_be(key, "a list of directories", dirs);
  for (const auto& dir : dirs) {
    if (!dir.is_string() || !is_normal_path(dir.get_ref<const std::string&>()) ||
        !below(target, dir.get_ref<const std::string&>())) {
      return must_be(key, "directories above " + escape_for_terminal(target), dir);
    }
  }
  return Ok{};
}

// The tracefs files of a tracefs_nodes entry: each strictly inside TARGET.
Expected<void> check_nodes(const json& nodes, const std::string& target) {
  if (!nodes.is_array()) return must_be("nodes", "a list", nodes);
  for (const auto& node : nodes) {
    auto path = state_text(node, "path");
    if (!path) return path.error();
    if (!is_normal_path(*path) || !below(*path, target)) return must_be("path", "inside " + target, node["path"]);
    if (auto mode = state_mode(node, "mode"); !mode) return mode.error();
    if (state_has(node, "gid")) {
      if (auto gid = state_id(node, "gid"); !gid) return gid.error();
    }
  }
  return Ok{};
}

// Every field STATE has that tracefs-setup reads, of the right type and range.
Expected<void> check_state(const json& state, const std::string& target) {
  if (!state.is_object()) return must_be("before' and 'after", "objects", state);
  for (const auto& [key, value] : state.items()) {
    Expected<void> checked = Ok{};
    if (value.is_null()) continue;
    if (key == "uid" || key == "gid") {
      if (auto id = state_id(state, key); !id) checked = id.error();
    } else if (key == "mode") {
      if (auto mode = state_mode(state, key); !mode) checked = mode.error();
    } else if (key == "value") {
      if (auto number = state_number(state, key); !number) checked = number.error();
    } else if (key == "exists" || key == "member") {
      if (!value.is_boolean()) checked = must_be(key, "true or false", value);
    } else if (key == "content" || key == "link" || key == "caps" || key == "fs_options") {
      if (!value.is_string()) checked = must_be(key, "a string", value);
    } else if (key == "group") {
      if (!value.is_string() || !valid_group_name(value.get_ref<const std::string&>())) {
        checked = must_be(key, "a group name", value);
      }
    } else if (key == "missing_dirs") {
      checked = check_ancestors(value, key, target);
    } else if (key == "nodes") {
      checked = check_nodes(value, target);
    }
    if (!checked) return checked;
  }
  return Ok{};
}

bool one_of(const std::string& text, std::initializer_list<std::string_view> choices) {
  return std::find(choices.begin(), choices.end(), text) != choices.end();
}

// Whether TARGET is one tracefs-setup changes for a change of KIND.
bool valid_target(ChangeKind kind, const std::string& target) {
  switch (kind) {
    case ChangeKind::group_create: return valid_group_name(target);
    case ChangeKind::group_member: {
      const auto colon = target.find(':');
      return colon != std::string::npos && valid_user_name(target.substr(0, colon)) &&
             valid_group_name(target.substr(colon + 1));
    }
    case ChangeKind::binary: return target != "/" && is_normal_path(target);
    case ChangeKind::file: return one_of(target, {kMountDropIn, kTracefsUnit, kSysctlFile});
    case ChangeKind::symlink: return target == kTracefsUnitLink;
    case ChangeKind::tracefs_mount:
    case ChangeKind::tracefs_nodes: return one_of(target, {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"});
    case ChangeKind::sysctl: return target == kParanoidKey;
  }
  return false;
}

Expected<JournalEntry> entry_from_json(const json& item) {
  if (!item.is_object()) return SysError::plain("is not an object");
  auto kind_name = state_text(item, "kind");
  if (!kind_name) return kind_name.error();
  auto kind = change_kind_from_string(*kind_name);
  if (!kind) return kind.error();
  auto target = state_text(item, "target");
  if (!target) return target.error();
  if (!valid_target(*kind, *target)) {
    return SysError::plain("target " + shown(*target) + " is not one a " + *kind_name + " change of tracefs-setup has");
  }
  JournalEntry entry{*kind, *target, json::object(), json::object(), "", false};
  for (const auto& [key, state] : {std::pair{"before", &entry.before}, std::pair{"after", &entry.after}}) {
    const auto it = item.find(key);
    if (it == item.end()) return SysError::plain(std::string("'") + key + "' is missing");
    if (it->is_null()) continue;
    if (auto checked = check_state(*it, *target); !checked) return SysError::plain(std::string(key) + ": " + checked.error().message);
    *state = *it;
  }
  const json summary = item.value("summary", json(""));
  const json state = item.value("state", json("pending"));
  if (!summary.is_string()) return must_be("summary", "a string", summary);
  if (!state.is_string() || !one_of(state.get<std::string>(), {"done", "pending"})) {
    return must_be("state", "done or pending", state);
  }
  entry.summary = summary.get<std::string>();
  entry.done = state == "done";
  return entry;
}

// Fills JOURNAL from the top level of DOCUMENT, an object.
Expected<void> header_from_json(const json& document, Journal& journal) {
  const json schema = document.value("schema", json());
  if (!schema.is_number_integer() || schema != kJournalSchema) {
    return SysError::plain("schema " + shown(schema) + " is not " + std::to_string(kJournalSchema));
  }
  const json dirs = document.value("created_dirs", json::array());
  if (auto checked = check_ancestors(dirs, "created_dirs", std::string(kJournalPath)); !checked) return checked;
  for (const auto& dir : dirs) journal.created_dirs.push_back(dir.get<std::string>());
  journal.applies = document.value("applies", json::array());
  if (!journal.applies.is_array()) return must_be("applies", "a list", journal.applies);
  return Ok{};
}

}  // namespace

json to_json(const Journal& journal) {
  json entries = json::array();
  for (const auto& entry : journal.entries) {
    entries.push_back({{"kind", to_string(entry.kind)},
                       {"target", entry.target},
                       {"summary", entry.summary},
                       {"state", entry.done ? "done" : "pending"},
                       {"before", entry.before},
                       {"after", entry.after}});
  }
  return {{"schema", kJournalSchema},
          {"tool", "tracefs-setup"},
          {"created_dirs", journal.created_dirs},
          {"applies", journal.applies},
          {"entries", entries}};
}

Expected<Journal> journal_from_json(const json& document) {
  try {
    if (!document.is_object()) return SysError::plain("it is not a JSON object");
    if (too_deep(document)) return SysError::plain("it is nested deeper than " + std::to_string(kMaxDepth) + " levels");
    Journal journal;
    if (auto header = header_from_json(document, journal); !header) return header.error();
    const auto entries = document.find("entries");
    if (entries == document.end() || !entries->is_array()) return SysError::plain("'entries' must be a list");
    for (std::size_t i = 0; i < entries->size(); ++i) {
      auto entry = entry_from_json((*entries)[i]);
      if (!entry) return SysError::plain("entries[" + std::to_string(i) + "]: " + entry.error().message);
      journal.entries.push_back(std::move(*entry));
    }
    return journal;
  } catch (const json::exception& error) {  // not expected: every access above is checked first
    return SysError::plain(std::string("unreadable: ") + error.what());
  }
}

bool acts_on_running_host(const JournalEntry& entry) {
  return entry.kind == ChangeKind::tracefs_mount || entry.kind == ChangeKind::tracefs_nodes ||
         entry.kind == ChangeKind::sysctl;
}

Expected<std::string> state_text(const json& state, std::string_view key) {
  auto value = field(state, key);
  if (!value) return value.error();
  if (!(*value)->is_string()) return must_be(key, "a string", **value);
  return (*value)->get<std::string>();
}

Expected<std::uint32_t> state_id(const json& state, std::string_view key) {
  auto value = field(state, key);
  if (!value) return value.error();
  const json& id = **value;
  if (!id.is_number_unsigned() && !(id.is_number_integer() && id.get<std::int64_t>() >= 0)) {
    return must_be(key, "an id from 0 to 4294967294", id);
  }
  const auto number = id.get<std::uint64_t>();
  if (number > 0xFFFFFFFEU) return must_be(key, "an id from 0 to 4294967294", id);
  return static_cast<std::uint32_t>(number);
}

Expected<mode_t> state_mode(const json& state, std::string_view key) {
  auto value = field(state, key);
  if (!value) return value.error();
  auto mode = state_id(state, key);
  if (!mode || *mode > 07777) return must_be(key, "a permission mode (from 0 to 07777)", **value);
  return static_cast<mode_t>(*mode);
}

Expected<long> state_number(const json& state, std::string_view key) {
  auto value = field(state, key);
  if (!value) return value.error();
  const json& number = **value;
  if (number.is_number_unsigned() && number.get<std::uint64_t>() > static_cast<std::uint64_t>(LONG_MAX)) {
    return must_be(key, "an integer", number);
  }
  if (!number.is_number_integer()) return must_be(key, "an integer", number);
  return static_cast<long>(number.get<std::int64_t>());
}

bool state_has(const json& state, std::string_view key) {
  if (!state.is_object()) return false;
  const auto it = state.find(key);
  return it != state.end() && !it->is_null();
}

std::string journal_location(SetupSystem& system) {
  return (std::filesystem::path(system.root_dir()) / std::filesystem::path(kJournalPath).relative_path()).string();
}

Expected<std::optional<Journal>> load_journal(SetupSystem& system) {
  const std::string where = "journal " + escape_for_terminal(journal_location(system));
  auto text = system.read_file(std::string(kJournalPath));
  if (!text) return SysError{text.error().errnum, where + ": " + text.error().message};
  if (!*text) return std::optional<Journal>{};
  const json document = json::parse(**text, nullptr, false);
  if (document.is_discarded()) return SysError::plain(where + " is damaged: it is not valid JSON; fix or remove it");
  auto journal = journal_from_json(document);
  if (!journal) return SysError::plain(where + " is damaged: " + journal.error().message + "; fix or remove it");
  if (!system.live()) {
    for (const auto& entry : journal->entries) {
      if (!acts_on_running_host(entry)) continue;
      return SysError::plain(where + " has an entry that acts on the running host (" +
                             std::string(to_string(entry.kind)) + " " + entry.target +
                             "), which a journal under --root never has; refused, nothing was changed");
    }
  }
  return std::optional<Journal>{std::move(*journal)};
}

Expected<void> save_journal(SetupSystem& system, const Journal& journal) {
  // make_plan refuses what JSON cannot hold; replace keeps dump from throwing regardless.
  return system.write_file(std::string(kJournalPath),
                           to_json(journal).dump(2, ' ', false, json::error_handler_t::replace) + "\n", 0600);
}

Expected<void> remove_journal(SetupSystem& system, const Journal& journal) {
  if (auto status = system.remove_file(std::string(kJournalPath)); !status) return status;
  for (auto it = journal.created_dirs.rbegin(); it != journal.created_dirs.rend(); ++it) {
    if (auto status = system.remove_dir(*it); !status && status.error().errnum != ENOTEMPTY) return status;
  }
  return Ok{};
}

}  // namespace bpfready
