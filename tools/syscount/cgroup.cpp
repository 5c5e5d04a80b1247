#include "tools/syscount/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "libcheck/common/text.h"

namespace bpfready {

namespace {

namespace fs = std::filesystem;

bool is_cgroup2(int fd) {
  struct statfs info {};
  return ::fstatfs(fd, &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC;
}

bool ends_with(std::string_view text, std::string_view tail) {
  return text.size() >= tail.size() && text.substr(text.size() - tail.size()) == tail;
}

// Unit types that have a cgroup of their own.
constexpr std::array<std::string_view, 6> kCgroupUnitTypes = {".service", ".scope", ".slice",
                                                              ".socket",  ".mount", ".swap"};

// Deep enough for user services (user.slice/user-1000.slice/user@1000.service/app.slice/X),
// bounded so that a huge tree cannot stall the start.
constexpr int kSearchDepth = 8;

// Every directory named NAME under ROOT, at most two (one is the answer,
// two make the name ambiguous).
std::vector<std::string> find_named(const std::string& root, const std::string& name) {
  std::vector<std::string> found;
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_directory(error)) continue;
    if (it->path().filename() == name) {
      found.push_back(it->path().string());
      if (found.size() == 2) break;
      it.disable_recursion_pending();
    }
    if (it.depth() >= kSearchDepth) it.disable_recursion_pending();
  }
  return found;
}

// Where systemd puts slice NAME: a-b-c.slice lives in a.slice/a-b.slice/.
std::string slice_path(const std::string& root, const std::string& name) {
  std::string path = root;
  const std::string stem = name.substr(0, name.size() - std::string_view(".slice").size());
  for (std::size_t dash = stem.find('-'); dash != std::string::npos; dash = stem.find('-', dash + 1)) {
    path += "/" + stem.substr(0, dash) + ".slice";
  }
  return path + "/" + name;
}

bool is_directory(const std::string& path) {
  struct stat meta {};
  return ::stat(path.c_str(), &meta) == 0 && S_ISDIR(meta.st_mode);
}

}  // namespace

Expected<std::string> cgroup2_root(const std::vector<std::string>& candidates) {
  for (const auto& candidate : candidates) {
    const Fd fd(::open(candidate.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.valid() && is_cgroup2(fd.get())) return candidate;
  }
  return SysError::plain("no cgroup v2 hierarchy is mounted (looked at /sys/fs/cgroup and "
                         "/sys/fs/cgroup/unified); --unit needs one");
}

Expected<std::string> unit_name(const std::string& name) {
  const auto refuse = [&](const std::string& why) {
    return SysError::plain("--unit " + ("'" + escape_for_terminal(name) + "'") + ": " + why);
  };
  if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return refuse("not a unit name (give NAME or NAME.service)");
  }
  for (auto type : kCgroupUnitTypes) {
    if (ends_with(name, type) && name.size() > type.size()) return name;
  }
  for (auto type : {".target", ".timer", ".path", ".device", ".automount"}) {
    if (ends_with(name, type)) return refuse("units of this type have no processes to count");
  }
  return name + ".service";
}

Expected<std::string> unit_cgroup_path(const std::string& root, const std::string& unit) {
  const std::string quoted = "'" + escape_for_terminal(unit) + "'";
  if (ends_with(unit, ".slice")) {
    const std::string path = unit == "-.slice" ? root : slice_path(root, unit);
    if (is_directory(path)) return path;
  } else if (const std::string system = root + "/system.slice/" + unit; is_directory(system)) {
    return system;
  }
  const auto found = find_named(root, unit);
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    return SysError::plain("unit " + quoted + " has no cgroup under " + escape_for_terminal(root) +
                           " (is it running? a stopped unit has none)");
  }
  return SysError::plain("more than one cgroup is named " + quoted + " (" +
                         escape_for_terminal(found[0]) + ", " + escape_for_terminal(found[1]) +
                         "); give the one meant with --cgroup PATH");
}

Expected<Fd> open_cgroup(const std::string& path) {
  const std::string shown = escape_for_terminal(path);
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOTDIR) return SysError::plain("--cgroup " + shown + ": not a directory");
    return SysError::from_errno(errno, "--cgroup " + shown);
  }
  if (!is_cgroup2(fd.get())) {
    return SysError::plain("--cgroup " + shown +
                           ": not a cgroup v2 directory (give a directory under the cgroup2 "
                           "mount, normally /sys/fs/cgroup)");
  }
  return fd;
}

}  // namespace bpfready
