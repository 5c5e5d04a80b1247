// tracefs-setup's journal: every change apply made, with the state before it,
// so that revert can restore exactly that. It is JSON, replaced atomically,
// and written before each change (state "pending") and after it ("done"), so
// a crash at any point leaves a journal that revert can act on: restoring a
// "before" state is harmless when the change never happened.
#pragma once

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

// nullopt when there is no journal (nothing applied).
Expected<std::optional<Journal>> load_journal(SetupSystem& system);
Expected<void> save_journal(SetupSystem& system, const Journal& journal);
// Removes the journal file and the directories made for it (when empty).
Expected<void> remove_journal(SetupSystem& system, const Journal& journal);

nlohmann::json to_json(const Journal& journal);
Expected<Journal> journal_from_json(const nlohmann::json& document);

}  // namespace bpfready
