#include "libcheck/system_root.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace bpfready {

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
  std::ifstream meta(root_ / ".bpfready-meta");
  std::string line;
  while (std::getline(meta, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file;
    std::string mode;
    FileMeta entry;
    if (!(fields >> file >> mode >> entry.uid >> entry.gid)) continue;
    if (mode.empty() || mode.find_first_not_of("01234567") != std::string::npos) continue;  // not octal
    entry.mode = static_cast<mode_t>(std::stoul(mode, nullptr, 8));
    meta_overrides_[file] = entry;
  }
}

std::filesystem::path SystemRoot::path(std::string_view absolute) const {
  if (live_) return std::filesystem::path(absolute);
  std::string_view relative = absolute;
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  return root_ / relative;
}

Expected<std::string> SystemRoot::read(std::string_view absolute) const {
  const auto file = path(absolute);
  std::ifstream in(file, std::ios::binary);
  if (!in) return SysError::from_errno(errno != 0 ? errno : ENOENT, "open " + std::string(absolute));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return SysError::from_errno(errno != 0 ? errno : EIO, "read " + std::string(absolute));
  return content.str();
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
