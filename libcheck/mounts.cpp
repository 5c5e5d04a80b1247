#include "libcheck/mounts.h"

#include <libmount/libmount.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "libcheck/system_root.h"

namespace bpfready {

namespace {
struct TableFree {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterFree {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
std::string or_empty(const char* s) { return s != nullptr ? s : ""; }
}  // namespace

Expected<std::vector<MountEntry>> parse_mountinfo_file(const std::string& path) {
  auto text = SystemRoot().read(path, kMountinfoMaxBytes);
  if (!text) return text.error();
  return parse_mountinfo(*text);
}

Expected<std::vector<MountEntry>> parse_mountinfo(std::string_view text) {
  std::vector<MountEntry> mounts;
  if (text.empty()) return mounts;  // fmemopen refuses an empty buffer
  std::unique_ptr<libmnt_table, TableFree> table(mnt_new_table());
  if (!table) return SysError::plain("libmount: out of memory");
  std::unique_ptr<FILE, FileClose> stream(
      ::fmemopen(const_cast<char*>(text.data()), text.size(), "r"));  // NOLINT: read-only despite the type
  if (!stream) return SysError::from_errno(errno, "fmemopen");
  if (const int rc = mnt_table_parse_stream(table.get(), stream.get(), "mountinfo"); rc != 0) {
    return SysError::from_errno(rc < 0 ? -rc : EINVAL, "parse mountinfo");
  }
  std::unique_ptr<libmnt_iter, IterFree> iter(mnt_new_iter(MNT_ITER_FORWARD));
  if (!iter) return SysError::plain("libmount: out of memory");
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
