// Capability names, sets and file capabilities, through libcap.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libcheck/expected.h"

namespace bpfready {

// Capability numbers used by the checks. The values are the kernel ABI
// (<linux/capability.h>); CAP_BPF and CAP_PERFMON exist since Linux 5.8.
enum Cap : int {
  kCapDacOverride = 1,
  kCapDacReadSearch = 2,
  kCapSysAdmin = 21,
  kCapPerfmon = 38,
  kCapBpf = 39,
};

constexpr std::uint64_t cap_bit(int cap) { return std::uint64_t{1} << cap; }
constexpr bool has_cap(std::uint64_t mask, int cap) { return (mask & cap_bit(cap)) != 0; }

// "cap_bpf"; libcap's spelling.
std::string cap_name(int cap);
// "cap_bpf,cap_perfmon", or "none" for an empty set.
std::string caps_to_text(std::uint64_t mask);
// "cap_bpf,cap_perfmon" (or "CAP_BPF CAP_PERFMON") -> mask. Error names the bad word.
Expected<std::uint64_t> parse_cap_list(std::string_view text);

struct FileCaps {
  std::uint64_t permitted = 0;
  std::uint64_t inheritable = 0;
  bool effective = false;  // the "e" flag: raised into the effective set at exec
  std::string text;        // libcap's text form, e.g. "cap_bpf,cap_perfmon=ep"
};
// File capabilities of PATH; nullopt when it has none.
Expected<std::optional<FileCaps>> read_file_caps(const std::string& path);

}  // namespace bpfready
