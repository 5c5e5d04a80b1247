// Every read of host state goes through a SystemRoot, so that tests can point
// the checks at a fixture tree that imitates another host.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "libcheck/expected.h"

namespace bpfready {

struct FileMeta {
  mode_t mode = 0;  // full st_mode, type bits included
  uid_t uid = 0;
  gid_t gid = 0;
  [[nodiscard]] bool is_dir() const { return S_ISDIR(mode); }
  [[nodiscard]] mode_t permissions() const { return mode & 07777; }
};

// What SystemRoot::read reads at most unless told otherwise.
inline constexpr std::size_t kReadCapDefault = std::size_t{1} << 20;  // 1 MiB

// "a FIFO", "a directory", "a character device", ...: the type in MODE, for messages.
std::string_view file_kind(mode_t mode);

// "0750": the permission bits of MODE in octal, as chmod takes them.
std::string mode_text(mode_t mode);

class SystemRoot {
 public:
  // "/" is the live host. Any other directory is a fixture tree; its file
  // ".bpfready-meta" may give owner and mode for paths that git cannot
  // store, one "PATH MODE_OCTAL UID GID" per line (PATH absolute). Lines
  // that do not parse (a mode that is not octal or above 07777, an id that
  // is not a 32-bit number) are skipped.
  explicit SystemRoot(std::filesystem::path root = "/");

  [[nodiscard]] bool is_live() const { return live_; }
  [[nodiscard]] const std::filesystem::path& root() const { return root_; }

  // Maps an absolute host path ("/proc/sys/kernel/osrelease") into this root.
  [[nodiscard]] std::filesystem::path path(std::string_view absolute) const;

  // The content of a regular file, at most MAX_BYTES of it. A fixture tree
  // may hold anything, so anything else is refused without reading: a FIFO,
  // a device or a directory is an EINVAL error ("refused PATH: not a regular
  // file (a FIFO)"), and a file larger than MAX_BYTES an EFBIG error, judged
  // by the bytes really read since proc and sys files report a size of 0 or
  // 4096. /dev/null reads as empty (it is how sysctl.d masks a file). The
  // file is opened O_NONBLOCK | O_CLOEXEC | O_NOCTTY.
  [[nodiscard]] Expected<std::string> read(std::string_view absolute, std::size_t max_bytes = kReadCapDefault) const;
  [[nodiscard]] Expected<FileMeta> stat(std::string_view absolute) const;
  [[nodiscard]] bool exists(std::string_view absolute) const;

 private:
  std::filesystem::path root_;
  bool live_ = true;
  std::map<std::string, FileMeta, std::less<>> meta_overrides_;
};

}  // namespace bpfready
