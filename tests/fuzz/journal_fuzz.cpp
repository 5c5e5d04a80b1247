// tracefs-setup's journal as load_journal reads it: JSON text, then
// journal_from_json. A journal that loads must save and load again (revert
// after a second apply depends on it).
#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz.h"
#include "tools/tracefs-setup/journal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto document = nlohmann::json::parse(bpfready::fuzz::as_text(data, size), nullptr, false);
  if (document.is_discarded()) return 0;
  const auto journal = bpfready::journal_from_json(document);
  if (!journal) return 0;
  const auto saved = bpfready::to_json(*journal).dump(2);
  const auto reloaded = bpfready::journal_from_json(nlohmann::json::parse(saved, nullptr, false));
  if (!reloaded) bpfready::fuzz::finding("a journal that loaded does not load again after saving");
  if (reloaded->entries.size() != journal->entries.size()) bpfready::fuzz::finding("saving lost journal entries");
  return 0;
}
