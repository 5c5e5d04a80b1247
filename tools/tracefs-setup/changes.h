// What each kind of change does to a host: make it (apply), restore the state
// before it (revert and rollback), and tell whether it still holds (status).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "libcheck/expected.h"
#include "tools/tracefs-setup/journal.h"
#include "tools/tracefs-setup/system.h"

namespace bpfready {

// Makes ENTRY's change, adding to ENTRY what it learns (a created group's
// gid, the tracefs nodes it touches). SAVE journals ENTRY again when the
// change learns more before acting.
Expected<void> perform(SetupSystem& system, JournalEntry& entry, const std::function<Expected<void>()>& save);

// Restores ENTRY's before state. Safe when the change never happened.
Expected<void> undo(SetupSystem& system, const JournalEntry& entry);

// nullopt when ENTRY's change still holds; otherwise what is there instead.
Expected<std::optional<std::string>> drift(SetupSystem& system, const JournalEntry& entry);

}  // namespace bpfready
