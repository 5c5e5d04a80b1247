// Pure parsers: text in, values out. No file access here.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// The most a kernel config may hold, packed or unpacked: real ones are
// 100-300 KiB, so anything larger is not one.
inline constexpr std::size_t kKernelConfigMaxBytes = std::size_t{16} << 20;  // 16 MiB

// Decompresses gzip data (/proc/config.gz) with zlib. Unpacking more than
// MAX_OUTPUT bytes stops there with an EFBIG error (a gzip bomb).
Expected<std::string> gunzip(std::string_view compressed, std::size_t max_output = kKernelConfigMaxBytes);

// sysctl.conf / sysctl.d syntax: one "key = value" per line; lines starting
// with '#' or ';' are comments; a leading '-' (ignore errors) is dropped.
// Every (key, value) in file order: the key with '/' normalised to '.',
// the value trimmed. Lines without '=' or with an empty key are skipped.
std::vector<std::pair<std::string, std::string>> parse_sysctl_conf(std::string_view text);

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
  bool no_new_privs = false;  // file capabilities and set-id bits are ignored at exec
};
std::optional<ProcessCreds> parse_proc_status(std::string_view text);

// Splits on any of the separators, dropping empty pieces.
std::vector<std::string> split(std::string_view text, std::string_view separators);
// The words with SEPARATOR between them.
std::string join(const std::vector<std::string>& words, std::string_view separator = " ");
std::string_view trim(std::string_view text);
// "16 MiB", "64 KiB" or "1000 bytes": sizes in messages.
std::string size_text(std::size_t bytes);

}  // namespace bpfready
