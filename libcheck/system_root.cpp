#include "libcheck/system_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "libcheck/common/fd.h"
#include "libcheck/parse.h"

namespace bpfready {

namespace {

// ".bpfready-meta" is small; a larger one is not ours.
constexpr std::size_t kMetaCap = std::size_t{64} << 10;

bool is_dev_null(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3); }

SysError too_large(std::string_view shown, std::size_t max_bytes) {
  return SysError{EFBIG, "refused " + std::string(shown) + ": more than " + size_text(max_bytes)};
}

// Why a file of this type and size is not read; nullopt when it may be.
std::optional<SysError> refusal(const struct stat& st, std::string_view shown, std::size_t max_bytes) {
  if (!S_ISREG(st.st_mode) && !is_dev_null(st)) {
    return SysError{EINVAL, "refused " + std::string(shown) + ": not a regular file (" +
                                std::string(file_kind(st.st_mode)) + ")"};
  }
  if (st.st_size > 0 && static_cast<std::uintmax_t>(st.st_size) > max_bytes) return too_large(shown, max_bytes);
  return std::nullopt;
}

Expected<std::string> read_regular(const std::filesystem::path& file, std::string_view shown, std::size_t max_bytes) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return SysError::from_errno(errno, "open " + std::string(shown));
  if (auto refused = refusal(st, shown, max_bytes)) return *refused;
  const Fd fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return SysError::from_errno(errno, "open " + std::string(shown));
  if (::fstat(fd.get(), &st) != 0) return SysError::from_errno(errno, "stat " + std::string(shown));
  if (auto refused = refusal(st, shown, max_bytes)) return *refused;  // replaced since the stat above
  std::string content;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError::from_errno(errno, "read " + std::string(shown));
    if (n == 0) return content;
    if (content.size() + static_cast<std::size_t>(n) > max_bytes) return too_large(shown, max_bytes);
    content.append(buffer, static_cast<std::size_t>(n));
  }
}

// "0750" -> 0750 and "1000" -> 1000, only when the whole word is a number in range.
template <class T>
std::optional<T> parse_number(std::string_view word, int base, T max) {
  T value{};
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value, base);
  if (word.empty() || ec != std::errc() || end != word.data() + word.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string_view file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown type";
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

SystemRoot::SystemRoot(std::filesystem::path root) : root_(std::move(root)) {
  live_ = root_.empty() || root_ == "/";
  if (live_) {
    root_ = "/";
    return;
  }
  const auto meta = read_regular(root_ / ".bpfready-meta", "/.bpfready-meta", kMetaCap);
  if (!meta) return;
  for (const auto& line : split(*meta, "\n")) {
    if (line.front() == '#') continue;
    const auto fields = split(line, " \t");
    if (fields.size() < 4) continue;
    const auto mode = parse_number<unsigned>(fields[1], 8, 07777);
    const auto uid = parse_number<uid_t>(fields[2], 10, static_cast<uid_t>(-1));
    const auto gid = parse_number<gid_t>(fields[3], 10, static_cast<gid_t>(-1));
    if (!mode || !uid || !gid) continue;
    meta_overrides_[fields[0]] = FileMeta{static_cast<mode_t>(*mode), *uid, *gid};
  }
}

std::filesystem::path SystemRoot::path(std::string_view absolute) const {
  if (live_) return std::filesystem::path(absolute);
  std::string_view relative = absolute;
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  return root_ / relative;
}

Expected<std::string> SystemRoot::read(std::string_view absolute, std::size_t max_bytes) const {
  return read_regular(path(absolute), absolute, max_bytes);
}

Expected<FileMeta> SystemRoot::stat(std::string_view absolute) const {
  struct stat st {};
  if (::stat(path(absolute).c_str(), &st) != 0) {
    return SysError::from_errno(errno, "stat " + std::string(absolute));
  }
  FileMeta meta{st.st_mode, st.st_uid, st.st_gid};
  if (auto it = meta_overrides_.find(absolute); it != meta_overrides_.end()) {
    // The override gives permissions and owner; the file type stays real.
    meta.mode = (st.st_mode & S_IFMT) | (it->second.mode & 07777);
    meta.uid = it->second.uid;
    meta.gid = it->second.gid;
  }
  return meta;
}

bool SystemRoot::exists(std::string_view absolute) const {
  std::error_code ec;
  return std::filesystem::exists(path(absolute), ec);
}

}  // namespace bpfready
