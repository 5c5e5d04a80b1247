#include "tools/tracefs-setup/journal.h"

#include <cerrno>

namespace bpfready {

using nlohmann::json;

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
    if (document.value("schema", 0) != kJournalSchema) {
      return SysError::plain("journal schema " + std::to_string(document.value("schema", 0)) + " is not " +
                             std::to_string(kJournalSchema));
    }
    Journal journal;
    journal.created_dirs = document.value("created_dirs", std::vector<std::string>{});
    journal.applies = document.value("applies", json::array());
    for (const auto& item : document.at("entries")) {
      auto kind = change_kind_from_string(item.at("kind").get<std::string>());
      if (!kind) return kind.error();
      JournalEntry entry;
      entry.kind = *kind;
      entry.target = item.at("target").get<std::string>();
      entry.summary = item.value("summary", "");
      entry.done = item.value("state", "pending") == "done";
      entry.before = item.at("before");
      entry.after = item.at("after");
      journal.entries.push_back(std::move(entry));
    }
    return journal;
  } catch (const json::exception& error) {
    return SysError::plain(std::string("malformed journal: ") + error.what());
  }
}

Expected<std::optional<Journal>> load_journal(SetupSystem& system) {
  const std::string path(kJournalPath);
  auto text = system.read_file(path);
  if (!text) return text.error();
  if (!*text) return std::optional<Journal>{};
  json document = json::parse(**text, nullptr, false);
  if (document.is_discarded()) return SysError::plain(path + " is not valid JSON; fix or remove it");
  auto journal = journal_from_json(document);
  if (!journal) return SysError::plain(path + ": " + journal.error().message);
  return std::optional<Journal>{std::move(*journal)};
}

Expected<void> save_journal(SetupSystem& system, const Journal& journal) {
  return system.write_file(std::string(kJournalPath), to_json(journal).dump(2) + "\n", 0600);
}

Expected<void> remove_journal(SetupSystem& system, const Journal& journal) {
  if (auto status = system.remove_file(std::string(kJournalPath)); !status) return status;
  for (auto it = journal.created_dirs.rbegin(); it != journal.created_dirs.rend(); ++it) {
    if (auto status = system.remove_dir(*it); !status && status.error().errnum != ENOTEMPTY) return status;
  }
  return Ok{};
}

}  // namespace bpfready
