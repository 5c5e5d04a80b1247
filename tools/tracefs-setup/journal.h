// tracefs-setup's journal: every change apply made, with the state before it,
// so that revert can restore exactly that. It is JSON, replaced atomically,
// and written before each change (state "pending") and after it ("done"), so
// a crash at any point leaves a journal that revert can act on: restoring a
// "before" state is harmless when the change never happened.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libcheck/expected.h"
#include "tools/tracefs-setup/plan.h"
#include "tools/tracefs-setup/system.h"

namespace bpfready {

inline constexpr std::string_view kJournalDir = "/var/lib/bpfready";
inline constexpr std::string_view kJournalPath = "/var/lib/bpfready/tracefs-setup.json";
inline constexpr int kJournalSchema = 1;

struct JournalEntry {  // NOLINT(bugprone-exception-escape): json members, copying may allocate
  ChangeKind kind = ChangeKind::file;
  std::string target;
  nlohmann::json before;
  nlohmann::json after;
  std::string summary;
  bool done = false;  // false: the change may or may not have happened
};

struct Journal {
  std::vector<JournalEntry> entries;         // in the order they were applied
  std::vector<std::string> created_dirs;     // made for the journal itself, outermost first
  nlohmann::json applies = nlohmann::json::array();  // one record per apply that changed something
};

// Where the journal is, for messages: under --root when one is given.
std::string journal_location(SetupSystem& system);

// nullopt when there is no journal (nothing applied). The file must be a
// regular file of at most 16 MiB; a damaged one is an error saying so, and so
// is, under --root, an entry that would act on the running host (a sysctl or
// tracefs): nothing is changed then.
Expected<std::optional<Journal>> load_journal(SetupSystem& system);
Expected<void> save_journal(SetupSystem& system, const Journal& journal);
// Removes the journal file and the directories made for it (when empty).
Expected<void> remove_journal(SetupSystem& system, const Journal& journal);

nlohmann::json to_json(const Journal& journal);
// Never throws, whatever DOCUMENT holds: wrong types, missing keys, numbers
// out of range, deep nesting, paths that leave the root (".."), and targets
// that tracefs-setup never changes are a one-line error. Fields an entry
// lacks are reported when the entry is used (state_* below).
Expected<Journal> journal_from_json(const nlohmann::json& document);

// Whether ENTRY acts on the running host rather than on files (tracefs, sysctls).
bool acts_on_running_host(const JournalEntry& entry);

// Checked reads of a field KEY of an entry's before or after STATE: missing,
// of another type, or out of range is an error naming KEY, never an exception.
Expected<std::string> state_text(const nlohmann::json& state, std::string_view key);
Expected<std::uint32_t> state_id(const nlohmann::json& state, std::string_view key);  // a uid or gid
Expected<mode_t> state_mode(const nlohmann::json& state, std::string_view key);       // 0 to 07777
Expected<long> state_number(const nlohmann::json& state, std::string_view key);
// Whether STATE has KEY (not null).
bool state_has(const nlohmann::json& state, std::string_view key);

}  // namespace bpfready
