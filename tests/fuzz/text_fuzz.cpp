// libcheck/common/text: what makes hostile host text safe. valid_utf8 must
// give text JSON can carry; escape_for_terminal must let no control
// character through; shell_quote must give one word back.
#include <nlohmann/json.hpp>

#include "libcheck/common/text.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = bpfready::fuzz::as_text(data, size);
  try {
    (void)nlohmann::json(bpfready::valid_utf8(input)).dump();
  } catch (const nlohmann::json::exception&) {
    bpfready::fuzz::finding("valid_utf8 gave text that JSON refuses");
  }
  const auto escaped = bpfready::escape_for_terminal(input);
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const auto c = static_cast<unsigned char>(escaped[i]);
    const bool c1 = c == 0xc2 && i + 1 < escaped.size() && static_cast<unsigned char>(escaped[i + 1]) <= 0x9f;
    if (c < 0x20 || c == 0x7f || c1) bpfready::fuzz::finding("escape_for_terminal let a control character through");
  }
  try {
    (void)nlohmann::json(escaped).dump();
  } catch (const nlohmann::json::exception&) {
    bpfready::fuzz::finding("escape_for_terminal gave invalid UTF-8");
  }
  (void)bpfready::shell_quote(input);
  return 0;
}
