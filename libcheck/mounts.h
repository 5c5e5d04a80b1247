// Mount table, parsed with libmount from a mountinfo file.
#pragma once

#include <optional>
#include <string>
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

Expected<std::vector<MountEntry>> parse_mountinfo_file(const std::string& path);

// The first mount of FSTYPE at one of the preferred targets, else any mount of it.
std::optional<MountEntry> find_mount(const std::vector<MountEntry>& mounts, const std::string& fstype,
                                     const std::vector<std::string>& preferred_targets);

// The value of "name=value" in a comma-separated option string.
std::optional<std::string> mount_option(const std::string& options, const std::string& name);

}  // namespace bpfready
