#include "libcheck/common/procfs.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

namespace bpfready {

std::string sysctl_path(std::string_view key) {
  std::string path = "/proc/sys/";
  const auto prefix = path.size();
  path += key;
  std::replace(path.begin() + static_cast<std::ptrdiff_t>(prefix), path.end(), '.', '/');
  return path;
}

std::optional<pid_t> tgid_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("Tgid:")) continue;
    const auto first = line.find_first_not_of(" \t", 5);
    if (first == std::string::npos) return std::nullopt;
    pid_t tgid = 0;
    const auto [end, error] = std::from_chars(line.data() + first, line.data() + line.size(), tgid);
    if (error != std::errc() || tgid <= 0) return std::nullopt;
    return tgid;
  }
  return std::nullopt;
}

std::string self_exe() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : path.string();
}

}  // namespace bpfready
