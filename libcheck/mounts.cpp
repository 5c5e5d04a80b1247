#include "libcheck/mounts.h"

#include <libmount/libmount.h>

#include <algorithm>
#include <memory>

namespace bpfready {

namespace {
struct TableFree {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterFree {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};
std::string or_empty(const char* s) { return s != nullptr ? s : ""; }
}  // namespace

Expected<std::vector<MountEntry>> parse_mountinfo_file(const std::string& path) {
  std::unique_ptr<libmnt_table, TableFree> table(mnt_new_table());
  if (!table) return SysError::plain("libmount: out of memory");
  if (const int rc = mnt_table_parse_file(table.get(), path.c_str()); rc != 0) {
    return SysError::from_errno(rc < 0 ? -rc : EINVAL, "parse " + path);
  }
  std::unique_ptr<libmnt_iter, IterFree> iter(mnt_new_iter(MNT_ITER_FORWARD));
  std::vector<MountEntry> mounts;
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table.get(), iter.get(), &fs) == 0) {
    mounts.push_back(MountEntry{or_empty(mnt_fs_get_target(fs)), or_empty(mnt_fs_get_fstype(fs)),
                                or_empty(mnt_fs_get_source(fs)), or_empty(mnt_fs_get_fs_options(fs)),
                                or_empty(mnt_fs_get_vfs_options(fs))});
  }
  return mounts;
}

std::optional<MountEntry> find_mount(const std::vector<MountEntry>& mounts, const std::string& fstype,
                                     const std::vector<std::string>& preferred_targets) {
  for (const auto& target : preferred_targets) {
    const auto it = std::find_if(mounts.begin(), mounts.end(),
                                 [&](const MountEntry& m) { return m.fstype == fstype && m.target == target; });
    if (it != mounts.end()) return *it;
  }
  const auto it = std::find_if(mounts.begin(), mounts.end(), [&](const MountEntry& m) { return m.fstype == fstype; });
  if (it != mounts.end()) return *it;
  return std::nullopt;
}

std::optional<std::string> mount_option(const std::string& options, const std::string& name) {
  char* value = nullptr;
  size_t size = 0;
  if (mnt_optstr_get_option(options.c_str(), name.c_str(), &value, &size) != 0) return std::nullopt;
  return value != nullptr ? std::string(value, size) : std::string();
}

}  // namespace bpfready
