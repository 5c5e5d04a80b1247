#include "tools/tracefs-setup/apply.h"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "libcheck/common/text.h"
#include "tools/tracefs-setup/changes.h"
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

// One journal entry that undo_from tried, and how that went.
struct Undone {
  std::string summary;
  Expected<void> result;
};

// Undoes entries from FIRST to the end, newest first, and removes those
// undone from JOURNAL. What happened to each, newest first.
std::vector<Undone> undo_from(SetupSystem& system, Journal& journal, std::size_t first) {
  std::vector<Undone> undone;
  for (std::size_t i = journal.entries.size(); i > first; --i) {
    const JournalEntry& entry = journal.entries[i - 1];
    undone.push_back({escape_for_terminal(entry.summary), undo(system, entry)});
    if (undone.back().result) journal.entries.erase(journal.entries.begin() + static_cast<std::ptrdiff_t>(i - 1));
  }
  return undone;
}

// "summary: why" for each entry that could not be undone, with PREFIX.
std::string undo_failures(const std::vector<Undone>& undone, const std::string& prefix) {
  std::string out;
  for (const auto& item : undone) {
    if (!item.result) out += prefix + item.summary + ": " + item.result.error().message + "\n";
  }
  return out;
}

bool all_undone(const std::vector<Undone>& undone) {
  return std::all_of(undone.begin(), undone.end(), [](const Undone& item) { return item.result.has_value(); });
}

// Saves JOURNAL, or removes it when it has nothing left to revert.
Expected<void> settle_journal(SetupSystem& system, const Journal& journal) {
  if (journal.entries.empty()) return remove_journal(system, journal);
  return save_journal(system, journal);
}

bool touches_units(const Plan& plan) {
  return std::any_of(plan.changes.begin(), plan.changes.end(), [](const Change& change) {
    return (change.kind == ChangeKind::file || change.kind == ChangeKind::symlink) &&
           change.target.starts_with(kUnitDir);
  });
}

std::string render_notes(const std::vector<std::string>& notes) {
  std::string out;
  if (notes.empty()) return out;
  out += "\nLeft alone, and why:\n";
  for (const auto& note : notes) out += "  - " + note + "\n";
  return out;
}

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

// Makes the directories a new journal needs, recorded in JOURNAL so that
// removing the journal removes them.
Expected<void> make_journal_dirs(SetupSystem& system, Journal& journal) {
  auto missing = missing_parents(system, std::string(kJournalPath));
  if (!missing) return missing.error();
  journal.created_dirs = std::move(*missing);
  for (const auto& dir : journal.created_dirs) {
    if (auto made = system.make_dir(dir, 0755); !made) {
      (void)remove_journal(system, journal);
      return made;
    }
  }
  return Ok{};
}

json apply_record(const SetupOptions& options) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {{"time", std::chrono::duration_cast<std::chrono::seconds>(now).count()}, {"options", options.to_json()}};
}

// Journals CHANGE as pending, makes it, and journals it as done.
Expected<void> apply_change(SetupSystem& system, Journal& journal, const Change& change) {
  journal.entries.push_back({change.kind, change.target, change.before, change.after, change.summary, false});
  auto save = [&]() { return save_journal(system, journal); };
  if (auto saved = save(); !saved) return saved;
  if (auto done = perform(system, journal.entries.back(), save); !done) return done;
  journal.entries.back().done = true;
  return save();
}

// After a failed change: undoes this run's entries (from FIRST on, MADE of
// them complete), drops this run's record, and says how that went.
std::string roll_back(SetupSystem& system, Journal& journal, std::size_t first, std::size_t made) {
  journal.applies.erase(journal.applies.end() - 1);
  const auto undone = undo_from(system, journal, first);
  const Expected<void> settled = settle_journal(system, journal);
  if (all_undone(undone) && settled) {
    return "Rolled back the " + std::to_string(made) + " change(s) made before it (and any part of this one);"
           " the system is as it was.\n";
  }
  std::string out = "Rollback was incomplete:\n" + undo_failures(undone, "  - ");
  if (!settled) out += "  - journal: " + settled.error().message + "\n";
  return out + "The journal " + journal_location(system) + " lists what remains; run `tracefs-setup revert`.\n";
}

// What apply says after every change is made.
std::string finish_apply(SetupSystem& system, const Plan& plan) {
  std::string out;
  if (system.systemd_running() && touches_units(plan)) {
    if (auto reloaded = system.reload_systemd(); !reloaded) out += "warning: " + reloaded.error().message + "\n";
  }
  out += render_notes(plan.notes);
  out += "\nJournal: " + journal_location(system) + " (undo everything with `tracefs-setup revert`).\n";
  if (!plan.options.users.empty()) out += "Group membership takes effect at each user's next login.\n";
  return out;
}

// An action refused before it changed anything: one line.
SetupOutcome refusal(std::string_view action, const SysError& error) {
  return {kExitFailure, "tracefs-setup " + std::string(action) + ": " + error.message + ". Nothing was changed.\n"};
}

}  // namespace

SetupOutcome run_plan(SetupSystem& system, const SetupOptions& options) {
  auto plan = make_plan(system, options);
  if (!plan) return {kExitFailure, "tracefs-setup plan: " + plan.error().message + "\n"};
  return {kExitDone, "tracefs-setup plan (nothing is changed)\n\n" + render_plan(*plan)};
}

SetupOutcome run_apply(SetupSystem& system, const SetupOptions& options) {
  const std::string unchanged = "\nNothing was changed.\n";
  auto plan = make_plan(system, options);
  if (!plan) return refusal("apply", plan.error());
  if (plan->changes.empty()) {
    return {kExitDone, "tracefs-setup apply: no changes; everything is already in place.\n" + render_notes(plan->notes)};
  }
  auto loaded = load_journal(system);
  if (!loaded) return refusal("apply", loaded.error());
  Journal journal = loaded->value_or(Journal{});
  const std::size_t first = journal.entries.size();
  std::string out = "tracefs-setup apply: " + std::to_string(plan->changes.size()) + " change(s)\n";
  if (!*loaded) {
    if (auto made = make_journal_dirs(system, journal); !made) {
      return {kExitFailure, out + "error: " + made.error().message + unchanged};
    }
  }
  journal.applies.push_back(apply_record(options));
  std::size_t step = 0;
  for (const auto& change : plan->changes) {
    const std::string label =
        "[" + std::to_string(++step) + "/" + std::to_string(plan->changes.size()) + "] " + change.summary;
    if (auto done = apply_change(system, journal, change); !done) {
      out += "  " + label + ": FAILED\n    " + done.error().message + "\n";
      return {kExitFailure, out + roll_back(system, journal, first, step - 1)};
    }
    out += "  " + label + ": done\n";
  }
  return {kExitDone, out + finish_apply(system, *plan)};
}

SetupOutcome run_status(SetupSystem& system) {
  auto loaded = load_journal(system);
  if (!loaded) return {kExitFailure, "tracefs-setup status: " + loaded.error().message + "\n"};
  if (!*loaded || (*loaded)->entries.empty()) {
    return {kExitDrift, "tracefs-setup status: nothing applied (no journal at " + journal_location(system) + ").\n"};
  }
  const Journal& journal = **loaded;
  std::string out = "tracefs-setup status: " + std::to_string(journal.entries.size()) + " change(s) applied\n";
  std::size_t drifted = 0;
  for (const auto& entry : journal.entries) {
    const std::string summary = escape_for_terminal(entry.summary);  // as the journal has it
    auto result = drift(system, entry);
    if (!result) {
      ++drifted;
      out += "  error    " + summary + "\n           " + result.error().message + "\n";
    } else if (*result) {
      ++drifted;
      out += "  DRIFTED  " + summary + "\n           " + **result + "\n";
    } else {
      out += std::string("  ") + (entry.done ? "applied  " : "partial  ") + summary + "\n";
      if (!entry.done) ++drifted;
    }
  }
  if (drifted == 0) return {kExitDone, out + "Everything still holds.\n"};
  out += std::to_string(drifted) + " change(s) no longer hold; `tracefs-setup apply` with the same options "
         "makes them again, `tracefs-setup revert` undoes everything.\n";
  return {kExitDrift, out};
}

SetupOutcome run_revert(SetupSystem& system) {
  auto loaded = load_journal(system);
  if (!loaded) return refusal("revert", loaded.error());
  if (!*loaded) {
    return {kExitDone, "tracefs-setup revert: nothing to revert (no journal at " + journal_location(system) + ").\n"};
  }
  Journal journal = std::move(**loaded);
  std::string out = "tracefs-setup revert: " + std::to_string(journal.entries.size()) + " change(s)\n";
  const auto undone = undo_from(system, journal, 0);
  for (const auto& item : undone) out += std::string("  ") + (item.result ? "undone   " : "FAILED   ") + item.summary + "\n";
  const Expected<void> settled = settle_journal(system, journal);
  if (all_undone(undone) && settled) {
    if (system.systemd_running()) (void)system.reload_systemd();
    return {kExitDone, out + "Everything is as it was before apply.\n"};
  }
  out += undo_failures(undone, "error: ");
  if (!settled) out += "error: journal: " + settled.error().message + "\n";
  out += "The journal keeps what could not be undone; fix the cause and run `tracefs-setup revert` again.\n";
  return {kExitFailure, out};
}

}  // namespace bpfready
