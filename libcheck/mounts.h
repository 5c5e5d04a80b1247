// Mount table, parsed with libmount from a mountinfo file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcheck/expected.h"

namespace bpfready {

struct MountEntry {
  std::string target;      // "/sys/kernel/tracing"
  std::string fstype;      // "tracefs"
  std::string source;      // "tracefs"
  std::string fs_options;  // superblock options, e.g. "rw,mode=700"
  std::string vfs_options; // per-mount options, e.g. "rw,nosuid,nodev"
};

// A mountinfo file holds one line per mount; 16 MiB is ~100000 mounts.
inline constexpr std::size_t kMountinfoMaxBytes = std::size_t{16} << 20;

// Reads PATH as SystemRoot::read does (a regular file, at most
// kMountinfoMaxBytes) and parses it.
Expected<std::vector<MountEntry>> parse_mountinfo_file(const std::string& path);
// The mount table in the text of a mountinfo file; lines libmount cannot
// parse are skipped. Never throws, whatever the bytes.
Expected<std::vector<MountEntry>> parse_mountinfo(std::string_view text);

// The first mount of FSTYPE at one of the preferred targets, else any mount of it.
std::optional<MountEntry> find_mount(const std::vector<MountEntry>& mounts, const std::string& fstype,
                                     const std::vector<std::string>& preferred_targets);

// The value of "name=value" in a comma-separated option string.
std::optional<std::string> mount_option(const std::string& options, const std::string& name);

}  // namespace bpfready
