// The files of a target system, reached strictly inside its root directory.
//
// Every path is absolute on the target ("/etc/group") and is normalised
// lexically first: a ".." that would climb above "/" is an error, not the
// host's parent directory. Resolution then starts at a descriptor of the
// root: with openat2(RESOLVE_IN_ROOT) symbolic links and ".." inside the tree
// stay inside it (an absolute link is taken relative to the root); on a
// kernel without openat2 every symbolic link on the way is refused. The last
// component is never followed, and files are changed through descriptors
// whose type was checked first (a FIFO or a device is never opened).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "libcheck/common/fd.h"
#include "libcheck/expected.h"
#include "libcheck/system_root.h"

namespace bpfready {

// The largest file read_file reads: journals, unit files and account files are far smaller.
inline constexpr std::size_t kMaxFileSize = std::size_t{16} << 20U;

// PATH without empty, "." and ".." components ("/usr//lib/../bin/x" -> "/usr/bin/x").
// Errors: not absolute, a NUL byte, or a ".." above "/".
Expected<std::string> normalize_path(std::string_view path);
// Whether PATH is already what normalize_path makes of it.
bool is_normal_path(std::string_view path);

enum class Resolution {
  in_root,      // openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
  no_symlinks,  // a walk, one component at a time, refusing symbolic links
};

class RootFiles {
 public:
  // The tree at ROOT ("/" for the running host); openat2 when the kernel has it.
  explicit RootFiles(const std::string& root);
  RootFiles(const std::string& root, Resolution resolution);

  [[nodiscard]] const std::string& root() const { return root_; }

  // Does not follow a last symbolic link; nullopt: absent.
  [[nodiscard]] Expected<std::optional<FileMeta>> stat(const std::string& path) const;
  // These act on regular files only (refusing links, FIFOs, devices, directories).
  [[nodiscard]] Expected<void> chown(const std::string& path, uid_t uid, gid_t gid) const;
  [[nodiscard]] Expected<void> chmod(const std::string& path, mode_t mode) const;
  [[nodiscard]] Expected<std::optional<std::string>> get_caps(const std::string& path) const;
  [[nodiscard]] Expected<void> set_caps(const std::string& path, const std::optional<std::string>& caps) const;
  // nullopt: absent. Anything but a regular file of at most kMaxFileSize is an error.
  [[nodiscard]] Expected<std::optional<std::string>> read_file(const std::string& path) const;
  // Replaces PATH atomically (temporary file, fsync, rename).
  [[nodiscard]] Expected<void> write_file(const std::string& path, const std::string& content, mode_t mode) const;
  [[nodiscard]] Expected<std::optional<std::string>> read_link(const std::string& path) const;
  [[nodiscard]] Expected<void> make_symlink(const std::string& path, const std::string& target) const;
  [[nodiscard]] Expected<void> remove_file(const std::string& path) const;  // absent is fine
  [[nodiscard]] Expected<void> make_dir(const std::string& path, mode_t mode) const;
  [[nodiscard]] Expected<void> remove_dir(const std::string& path) const;  // absent is fine

 private:
  // The directory holding PATH's last component, and that component.
  [[nodiscard]] Expected<std::pair<Fd, std::string>> parent_of(const std::string& path) const;
  [[nodiscard]] Expected<Fd> open_dir(const std::string& relative) const;
  // PATH opened for reading once it is known to be a regular file; nullopt: absent.
  [[nodiscard]] Expected<std::optional<Fd>> open_regular(const std::string& path) const;
  [[nodiscard]] Expected<Fd> open_existing_regular(const std::string& path) const;

  std::string root_;
  Fd root_fd_;
  int root_errno_ = 0;
  Resolution resolution_ = Resolution::in_root;
};

}  // namespace bpfready
