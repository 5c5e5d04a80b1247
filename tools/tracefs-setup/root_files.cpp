#include "tools/tracefs-setup/root_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <random>
#include <vector>

#include "libcheck/common/creds.h"
#include "libcheck/common/text.h"
#include "libcheck/system_root.h"

namespace bpfready {

namespace {

// The components of a path, empty and "." ones left out.
std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

bool absent(int errnum) { return errnum == ENOENT || errnum == ENOTDIR; }

// An error about PATH, which may be hostile: shown on one line.
SysError path_error(int errnum, std::string_view what, const std::string& path, std::string_view why) {
  return SysError{errnum, std::string(what) + " " + escape_for_terminal(path) + ": " + std::string(why)};
}

SysError errno_error(int errnum, std::string_view what, const std::string& path) {
  return path_error(errnum, what, path, std::strerror(errnum));
}

Fd duplicate(int fd) { return Fd(::fcntl(fd, F_DUPFD_CLOEXEC, 0)); }

Expected<Fd> openat2_in_root(int root_fd, const std::string& relative) {
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    const long fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how);
    if (fd >= 0) return Fd(static_cast<int>(fd));
    // EAGAIN: a concurrent rename or mount; the kernel asks for a retry.
    if (errno != EAGAIN || attempt == 8) return errno_error(errno, "open", "/" + relative);
  }
}

// One component at a time from the root, refusing every symbolic link.
Expected<Fd> walk_in_root(int root_fd, const std::string& relative) {
  Fd dir = duplicate(root_fd);
  if (!dir.valid()) return SysError::from_errno(errno, "dup");
  std::string walked;
  for (const auto part : components(relative)) {
    walked += "/" + std::string(part);
    Fd next(::openat(dir.get(), std::string(part).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!next.valid() || ::fstat(next.get(), &st) != 0) return errno_error(errno, "open", walked);
    if (S_ISLNK(st.st_mode)) {
      return path_error(ELOOP, "open", walked,
                        "a symbolic link, and without openat2 (Linux 5.6) none is followed inside a root");
    }
    if (!S_ISDIR(st.st_mode)) return errno_error(ENOTDIR, "open", walked);
    dir = std::move(next);
  }
  return dir;
}

std::string random_suffix() {
  static std::random_device device;
  constexpr std::string_view letters = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string suffix;
  for (int i = 0; i < 8; ++i) suffix += letters[device() % letters.size()];
  return suffix;
}

}  // namespace

Expected<std::string> normalize_path(std::string_view path) {
  const std::string shown = escape_for_terminal(path);
  if (path.empty() || path.front() != '/') return SysError{EINVAL, "path '" + shown + "' is not absolute"};
  if (path.find('\0') != std::string_view::npos) return SysError{EINVAL, "path '" + shown + "' has a NUL byte"};
  std::vector<std::string_view> kept;
  for (const auto part : components(path)) {
    if (part != "..") {
      kept.push_back(part);
    } else if (kept.empty()) {
      return SysError{EINVAL, "path " + shown + " has a '..' above / (it would leave the root directory)"};
    } else {
      kept.pop_back();
    }
  }
  std::string normal;
  for (const auto part : kept) normal += "/" + std::string(part);
  return normal.empty() ? std::string("/") : normal;
}

bool is_normal_path(std::string_view path) {
  const auto normal = normalize_path(path);
  return normal && *normal == path;
}

RootFiles::RootFiles(const std::string& root) : RootFiles(root, Resolution::in_root) {
  if (!root_fd_.valid()) return;
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  const Fd probe(static_cast<int>(::syscall(SYS_openat2, root_fd_.get(), ".", &how, sizeof how)));
  if (!probe.valid() && errno == ENOSYS) resolution_ = Resolution::no_symlinks;
}

RootFiles::RootFiles(const std::string& root, Resolution resolution)
    : root_(root), root_fd_(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)), resolution_(resolution) {
  if (!root_fd_.valid()) root_errno_ = errno;
}

Expected<Fd> RootFiles::open_dir(const std::string& relative) const {
  if (!root_fd_.valid()) return errno_error(root_errno_, "open the root directory", root_);
  if (relative.empty()) {
    Fd dir = duplicate(root_fd_.get());
    if (!dir.valid()) return SysError::from_errno(errno, "dup");
    return dir;
  }
  return resolution_ == Resolution::in_root ? openat2_in_root(root_fd_.get(), relative)
                                            : walk_in_root(root_fd_.get(), relative);
}

Expected<std::pair<Fd, std::string>> RootFiles::parent_of(const std::string& path) const {
  auto normal = normalize_path(path);
  if (!normal) return normal.error();
  if (*normal == "/") return SysError{EISDIR, "the root directory itself is never changed"};
  const auto slash = normal->rfind('/');
  auto dir = open_dir(normal->substr(1, slash == 0 ? 0 : slash - 1));
  if (!dir) return dir.error();
  return std::pair{std::move(*dir), normal->substr(slash + 1)};
}

Expected<std::optional<Fd>> RootFiles::open_regular(const std::string& path) const {
  auto parent = parent_of(path);
  if (!parent) {
    if (absent(parent.error().errnum)) return std::optional<Fd>{};
    return parent.error();
  }
  const Fd node(::openat(parent->first.get(), parent->second.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!node.valid() || ::fstat(node.get(), &st) != 0) {
    if (absent(errno)) return std::optional<Fd>{};
    return errno_error(errno, "open", path);
  }
  if (!S_ISREG(st.st_mode)) return path_error(EINVAL, "open", path, "not a regular file (" + std::string(file_kind(st.st_mode)) + ")");
  // Opened for real only now that it is known to be a regular file: a FIFO
  // or a device is never opened. /proc/self/fd reopens this very inode.
  const std::string self = "/proc/self/fd/" + std::to_string(node.get());
  Fd file(::open(self.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.valid()) return errno_error(errno, "open", path);
  return std::optional<Fd>{std::move(file)};
}

Expected<Fd> RootFiles::open_existing_regular(const std::string& path) const {
  auto file = open_regular(path);
  if (!file) return file.error();
  if (!*file) return errno_error(ENOENT, "open", path);
  return std::move(**file);
}

Expected<std::optional<FileMeta>> RootFiles::stat(const std::string& path) const {
  auto parent = parent_of(path);
  if (!parent) {
    if (absent(parent.error().errnum)) return std::optional<FileMeta>{};
    return parent.error();
  }
  struct stat st {};
  if (::fstatat(parent->first.get(), parent->second.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (absent(errno)) return std::optional<FileMeta>{};
    return errno_error(errno, "stat", path);
  }
  return std::optional<FileMeta>{FileMeta{st.st_mode, st.st_uid, st.st_gid}};
}

Expected<void> RootFiles::chown(const std::string& path, uid_t uid, gid_t gid) const {
  auto file = open_existing_regular(path);
  if (!file) return file.error();
  if (::fchown(file->get(), uid, gid) != 0) return errno_error(errno, "chown", path);
  return Ok{};
}

Expected<void> RootFiles::chmod(const std::string& path, mode_t mode) const {
  auto file = open_existing_regular(path);
  if (!file) return file.error();
  if (::fchmod(file->get(), mode) != 0) return errno_error(errno, "chmod", path);
  return Ok{};
}

Expected<std::optional<std::string>> RootFiles::get_caps(const std::string& path) const {
  auto file = open_existing_regular(path);
  if (!file) return file.error();
  const CapSet caps(cap_get_fd(file->get()));
  if (!caps) {
    // No attribute, or a filesystem without extended attributes: no capabilities.
    if (errno == ENODATA || errno == ENOTSUP) return std::optional<std::string>{};
    return errno_error(errno, "read capabilities of", path);
  }
  const CapText text(cap_to_text(caps.get(), nullptr));
  if (!text) return errno_error(errno, "format capabilities of", path);
  const std::string value = text.get();
  if (value == "=" || value.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{value};
}

Expected<void> RootFiles::set_caps(const std::string& path, const std::optional<std::string>& caps) const {
  auto file = open_existing_regular(path);
  if (!file) return file.error();
  if (!caps) {
    if (cap_set_fd(file->get(), nullptr) != 0 && errno != ENODATA && errno != ENOTSUP) {
      return errno_error(errno, "remove capabilities of", path);
    }
    return Ok{};
  }
  const CapSet parsed(cap_from_text(caps->c_str()));
  if (!parsed) return SysError::plain("invalid capability text '" + escape_for_terminal(*caps) + "'");
  if (cap_set_fd(file->get(), parsed.get()) != 0) {
    const int err = errno;
    if (err == ENOTSUP) {
      return path_error(err, "set capabilities on", path,
                        "its filesystem does not support extended attributes (security.capability);"
                        " install the binary on one that does (ext4, xfs, btrfs, tmpfs)");
    }
    return errno_error(err, "set capabilities " + *caps + " on", path);
  }
  return Ok{};
}

Expected<std::optional<std::string>> RootFiles::read_file(const std::string& path) const {
  auto file = open_regular(path);
  if (!file) return file.error();
  if (!*file) return std::optional<std::string>{};
  const int fd = (*file)->get();
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(errno, "stat", path);
  const std::string too_large = "larger than " + std::to_string(kMaxFileSize >> 20U) + " MiB";
  if (static_cast<std::size_t>(st.st_size) > kMaxFileSize) return path_error(EFBIG, "read", path, too_large);
  std::string content;
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "read", path);
    if (n == 0) break;
    content.append(buffer.data(), static_cast<std::size_t>(n));
    if (content.size() > kMaxFileSize) return path_error(EFBIG, "read", path, too_large);
  }
  return std::optional<std::string>{std::move(content)};
}

Expected<void> RootFiles::write_file(const std::string& path, const std::string& content, mode_t mode) const {
  auto parent = parent_of(path);
  if (!parent) return parent.error();
  const int dir = parent->first.get();
  const std::string& name = parent->second;
  std::string temp;
  Fd file;
  for (int attempt = 0; attempt < 16 && !file.valid(); ++attempt) {
    temp = "." + name + "." + random_suffix();
    file.reset(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file.valid() && errno != EEXIST) break;
  }
  if (!file.valid()) return errno_error(errno, "create a temporary file next to", path);
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::unlinkat(dir, temp.c_str(), 0);
    return errno_error(err, what, path);
  };
  if (::fchmod(file.get(), mode) != 0) return fail("chmod");
  if (!write_all(file.get(), content)) return fail("write");
  if (::fsync(file.get()) != 0) return fail("fsync");
  if (::renameat(dir, temp.c_str(), dir, name.c_str()) != 0) return fail("rename into");
  return Ok{};
}

Expected<std::optional<std::string>> RootFiles::read_link(const std::string& path) const {
  auto parent = parent_of(path);
  if (!parent) {
    if (absent(parent.error().errnum)) return std::optional<std::string>{};
    return parent.error();
  }
  std::array<char, 4096> buffer{};
  const ssize_t n = ::readlinkat(parent->first.get(), parent->second.c_str(), buffer.data(), buffer.size());
  if (n < 0) {
    if (absent(errno)) return std::optional<std::string>{};
    return errno_error(errno, "readlink", path);
  }
  if (static_cast<std::size_t>(n) == buffer.size()) return errno_error(ENAMETOOLONG, "readlink", path);
  return std::optional<std::string>{std::string(buffer.data(), static_cast<std::size_t>(n))};
}

Expected<void> RootFiles::make_symlink(const std::string& path, const std::string& target) const {
  if (target.empty() || target.find('\0') != std::string::npos) return errno_error(EINVAL, "symlink", path);
  auto parent = parent_of(path);
  if (!parent) return parent.error();
  if (::symlinkat(target.c_str(), parent->first.get(), parent->second.c_str()) != 0) {
    return errno_error(errno, "symlink", path);
  }
  return Ok{};
}

Expected<void> RootFiles::remove_file(const std::string& path) const {
  auto parent = parent_of(path);
  if (!parent) {
    if (parent.error().errnum == ENOENT) return Ok{};
    return parent.error();
  }
  if (::unlinkat(parent->first.get(), parent->second.c_str(), 0) != 0 && errno != ENOENT) {
    return errno_error(errno, "remove", path);
  }
  return Ok{};
}

Expected<void> RootFiles::make_dir(const std::string& path, mode_t mode) const {
  auto parent = parent_of(path);
  if (!parent) return parent.error();
  if (::mkdirat(parent->first.get(), parent->second.c_str(), mode) != 0) return errno_error(errno, "mkdir", path);
  return Ok{};
}

Expected<void> RootFiles::remove_dir(const std::string& path) const {
  auto parent = parent_of(path);
  if (!parent) {
    if (parent.error().errnum == ENOENT) return Ok{};
    return parent.error();
  }
  if (::unlinkat(parent->first.get(), parent->second.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return errno_error(errno, "rmdir", path);
  }
  return Ok{};
}

}  // namespace bpfready
