#include "libcheck/caps.h"

#include <sys/capability.h>

#include <memory>

#include "libcheck/common/creds.h"
#include "libcheck/parse.h"

namespace bpfready {

std::string cap_name(int cap) {
  const CapText name(cap_to_name(static_cast<cap_value_t>(cap)));
  return name ? std::string(name.get()) : "cap_" + std::to_string(cap);
}

std::string caps_to_text(std::uint64_t mask) {
  std::string text;
  for (int cap = 0; cap < 64; ++cap) {
    if (!has_cap(mask, cap)) continue;
    if (!text.empty()) text += ',';
    text += cap_name(cap);
  }
  return text.empty() ? "none" : text;
}

Expected<std::uint64_t> parse_cap_list(std::string_view text) {
  std::uint64_t mask = 0;
  for (const auto& word : split(text, ", \t")) {
    cap_value_t value = 0;
    if (cap_from_name(word.c_str(), &value) != 0 || value < 0 || value >= 64) {
      return SysError::plain("unknown capability '" + word + "'");
    }
    mask |= cap_bit(value);
  }
  return mask;
}

Expected<std::optional<FileCaps>> read_file_caps(const std::string& path) {
  const CapSet caps(cap_get_file(path.c_str()));
  if (!caps) {
    if (errno == ENODATA || errno == ENOTSUP) return std::optional<FileCaps>{};
    return SysError::from_errno(errno, "read capabilities of " + path);
  }
  FileCaps result;
  for (int cap = 0; cap < 64 && cap_valid(cap); ++cap) {
    cap_flag_value_t flag = CAP_CLEAR;
    if (cap_get_flag(caps.get(), cap, CAP_PERMITTED, &flag) == 0 && flag == CAP_SET) result.permitted |= cap_bit(cap);
    if (cap_get_flag(caps.get(), cap, CAP_INHERITABLE, &flag) == 0 && flag == CAP_SET) result.inheritable |= cap_bit(cap);
    if (cap_get_flag(caps.get(), cap, CAP_EFFECTIVE, &flag) == 0 && flag == CAP_SET) result.effective = true;
  }
  const CapText text(cap_to_text(caps.get(), nullptr));
  if (text) result.text = text.get();
  if (result.permitted == 0 && result.inheritable == 0) return std::optional<FileCaps>{};
  return std::optional<FileCaps>{result};
}

}  // namespace bpfready
