// Pure parsers: text in, values out. No file access here.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcheck/expected.h"

namespace bpfready {

// "2\n" -> 2. Anything that is not one integer is nullopt.
std::optional<long> parse_sysctl_int(std::string_view text);

struct KernelVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  auto operator<=>(const KernelVersion&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive
  [[nodiscard]] std::string str() const;
};
// "6.18.44-fc-v769" -> 6.18.44; "5.4.0-150-generic" -> 5.4.0.
std::optional<KernelVersion> parse_kernel_version(std::string_view release);

// Kernel config (.config syntax). Maps CONFIG_NAME to its value: "y", "m",
// a number or string, or "n" for "# CONFIG_NAME is not set".
using KernelConfigOptions = std::map<std::string, std::string, std::less<>>;
KernelConfigOptions parse_kernel_config(std::string_view text);

// Decompresses gzip data (/proc/config.gz) with zlib.
Expected<std::string> gunzip(std::string_view compressed);

enum class LockdownMode { none, integrity, confidentiality };
std::string_view to_string(LockdownMode mode);
// "none [integrity] confidentiality" -> integrity.
std::optional<LockdownMode> parse_lockdown(std::string_view text);

// The identity and capability sets of a process, from /proc/PID/status.
struct ProcessCreds {
  uid_t uid = 0;   // real
  uid_t euid = 0;  // effective
  gid_t gid = 0;
  gid_t egid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::uint64_t cap_inheritable = 0;
  std::uint64_t cap_permitted = 0;
  std::uint64_t cap_effective = 0;
  std::uint64_t cap_bounding = 0;
  std::uint64_t cap_ambient = 0;
};
std::optional<ProcessCreds> parse_proc_status(std::string_view text);

// Splits on any of the separators, dropping empty pieces.
std::vector<std::string> split(std::string_view text, std::string_view separators);
// The words with SEPARATOR between them.
std::string join(const std::vector<std::string>& words, std::string_view separator = " ");
std::string_view trim(std::string_view text);

}  // namespace bpfready
