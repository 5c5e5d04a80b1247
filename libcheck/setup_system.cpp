#include "libcheck/setup_system.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/perf_event.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "libcheck/mounts.h"
#include "libcheck/parse.h"

namespace bpfready {

namespace fs = std::filesystem;

namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};

struct FdCloser {
  int fd = -1;
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  FdCloser(FdCloser&&) = delete;
  FdCloser& operator=(FdCloser&&) = delete;
  explicit FdCloser(int f) : fd(f) {}
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// /etc/group or /etc/passwd of a root tree: colon-separated records.
std::vector<std::vector<std::string>> read_colon_file(const fs::path& file) {
  std::vector<std::vector<std::string>> records;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::string field;
    std::istringstream stream(line);
    while (std::getline(stream, field, ':')) fields.push_back(field);
    if (!line.empty() && line.back() == ':') fields.emplace_back();
    records.push_back(std::move(fields));
  }
  return records;
}

std::vector<std::string> split_members(const std::string& text) { return split(text, ","); }

class LiveSystem final : public SetupSystem {
 public:
  explicit LiveSystem(const std::string& root) : root_(root.empty() ? "/" : root) {}

  [[nodiscard]] bool live() const override { return root_.is_live(); }
  [[nodiscard]] std::string root_dir() const override { return root_.root().string(); }

  Expected<std::optional<GroupRecord>> find_group(const std::string& name) override {
    if (live()) {
      std::array<char, 65536> buffer{};
      struct group entry {};
      struct group* found = nullptr;
      const int rc = getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
      if (rc != 0) return SysError::from_errno(rc, "look up group " + name);
      if (found == nullptr) return std::optional<GroupRecord>{};
      GroupRecord record{found->gr_name, found->gr_gid, {}};
      for (char** member = found->gr_mem; member != nullptr && *member != nullptr; ++member) {
        record.members.emplace_back(*member);
      }
      return std::optional<GroupRecord>{record};
    }
    for (const auto& fields : read_colon_file(root_.path("/etc/group"))) {
      if (fields.size() < 3 || fields[0] != name) continue;
      GroupRecord record{fields[0], static_cast<gid_t>(std::stoul(fields[2])), {}};
      if (fields.size() > 3) record.members = split_members(fields[3]);
      return std::optional<GroupRecord>{record};
    }
    return std::optional<GroupRecord>{};
  }

  Expected<std::optional<UserRecord>> find_user(const std::string& name) override {
    if (live()) {
      std::array<char, 65536> buffer{};
      struct passwd entry {};
      struct passwd* found = nullptr;
      const int rc = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
      if (rc != 0) return SysError::from_errno(rc, "look up user " + name);
      if (found == nullptr) return std::optional<UserRecord>{};
      return std::optional<UserRecord>{UserRecord{found->pw_name, found->pw_uid, found->pw_gid}};
    }
    for (const auto& fields : read_colon_file(root_.path("/etc/passwd"))) {
      if (fields.size() < 4 || fields[0] != name) continue;
      return std::optional<UserRecord>{UserRecord{fields[0], static_cast<uid_t>(std::stoul(fields[2])),
                                                  static_cast<gid_t>(std::stoul(fields[3]))}};
    }
    return std::optional<UserRecord>{};
  }

  Expected<gid_t> create_group(const std::string& name) override {
    if (auto status = run_command(with_root({"groupadd", "--system", name})); !status) return status.error();
    auto group = find_group(name);
    if (!group) return group.error();
    if (!*group) return SysError::plain("groupadd reported success but group " + name + " is not there");
    return (*group)->gid;
  }

  Status delete_group(const std::string& name) override { return run_command(with_root({"groupdel", name})); }
  Status add_member(const std::string& user, const std::string& group) override {
    return run_command(with_root({"gpasswd", "-a", user, group}));
  }
  Status remove_member(const std::string& user, const std::string& group) override {
    return run_command(with_root({"gpasswd", "-d", user, group}));
  }

  Expected<std::optional<FileMeta>> stat(const std::string& path) override {
    struct stat st {};
    if (::lstat(mapped(path).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<FileMeta>{};
      return SysError::from_errno(errno, "stat " + path);
    }
    return std::optional<FileMeta>{FileMeta{st.st_mode, st.st_uid, st.st_gid}};
  }

  Status chown(const std::string& path, uid_t uid, gid_t gid) override {
    if (::lchown(mapped(path).c_str(), uid, gid) != 0) return SysError::from_errno(errno, "chown " + path);
    return Ok{};
  }

  Status chmod(const std::string& path, mode_t mode) override {
    if (::chmod(mapped(path).c_str(), mode) != 0) return SysError::from_errno(errno, "chmod " + path);
    return Ok{};
  }

  Expected<std::optional<std::string>> get_caps(const std::string& path) override {
    std::unique_ptr<struct _cap_struct, CapFree> caps(cap_get_file(mapped(path).c_str()));
    if (!caps) {
      // No attribute, or a filesystem without extended attributes: no capabilities.
      if (errno == ENODATA || errno == ENOTSUP) return std::optional<std::string>{};
      return SysError::from_errno(errno, "read capabilities of " + path);
    }
    std::unique_ptr<char, CapFree> text(cap_to_text(caps.get(), nullptr));
    if (!text) return SysError::from_errno(errno, "format capabilities of " + path);
    const std::string value = text.get();
    if (value == "=" || value.empty()) return std::optional<std::string>{};
    return std::optional<std::string>{value};
  }

  Status set_caps(const std::string& path, const std::optional<std::string>& caps) override {
    const std::string file = mapped(path);
    if (!caps) {
      if (cap_set_file(file.c_str(), nullptr) != 0 && errno != ENODATA && errno != ENOTSUP) {
        return SysError::from_errno(errno, "remove capabilities of " + path);
      }
      return Ok{};
    }
    std::unique_ptr<struct _cap_struct, CapFree> parsed(cap_from_text(caps->c_str()));
    if (!parsed) return SysError::plain("invalid capability text '" + *caps + "'");
    if (cap_set_file(file.c_str(), parsed.get()) != 0) {
      const int err = errno;
      if (err == ENOTSUP) {
        return SysError{err, "set capabilities on " + path +
                                 ": its filesystem does not support extended attributes (security.capability);"
                                 " install the binary on one that does (ext4, xfs, btrfs, tmpfs)"};
      }
      return SysError::from_errno(err, "set capabilities " + *caps + " on " + path);
    }
    return Ok{};
  }

  Expected<std::optional<std::string>> read_file(const std::string& path) override {
    std::ifstream in(mapped(path), std::ios::binary);
    if (!in) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>{};
      return SysError::from_errno(errno, "open " + path);
    }
    std::ostringstream content;
    content << in.rdbuf();
    return std::optional<std::string>{content.str()};
  }

  Status write_file(const std::string& path, const std::string& content, mode_t mode) override {
    const fs::path target = mapped(path);
    std::string temp = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) return SysError::from_errno(errno, "create a temporary file next to " + path);
    FdCloser closer(fd);
    auto fail = [&](const std::string& what) {
      const int err = errno;
      ::unlink(temp.c_str());
      return SysError::from_errno(err, what + " " + path);
    };
    if (::fchmod(fd, mode) != 0) return fail("chmod");
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail("write");
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return fail("fsync");
    if (::rename(temp.c_str(), target.c_str()) != 0) return fail("rename into");
    return Ok{};
  }

  Expected<std::optional<std::string>> read_link(const std::string& path) override {
    std::error_code error;
    const fs::path target = fs::read_symlink(mapped(path), error);
    if (error) {
      if (error.value() == ENOENT || error.value() == ENOTDIR) return std::optional<std::string>{};
      return SysError::from_errno(error.value(), "readlink " + path);
    }
    return std::optional<std::string>{target.string()};
  }

  Status make_symlink(const std::string& path, const std::string& target) override {
    if (::symlink(target.c_str(), mapped(path).c_str()) != 0) return SysError::from_errno(errno, "symlink " + path);
    return Ok{};
  }

  Status remove_file(const std::string& path) override {
    if (::unlink(mapped(path).c_str()) != 0 && errno != ENOENT) return SysError::from_errno(errno, "remove " + path);
    return Ok{};
  }

  Status make_dir(const std::string& path, mode_t mode) override {
    if (::mkdir(mapped(path).c_str(), mode) != 0) return SysError::from_errno(errno, "mkdir " + path);
    return Ok{};
  }

  Status remove_dir(const std::string& path) override {
    if (::rmdir(mapped(path).c_str()) != 0 && errno != ENOENT) return SysError::from_errno(errno, "rmdir " + path);
    return Ok{};
  }

  Expected<std::optional<TracefsState>> tracefs() override {
    if (!live()) return std::optional<TracefsState>{};
    auto mounts = parse_mountinfo_file("/proc/self/mountinfo");
    if (!mounts) return mounts.error();
    const auto entry = find_mount(*mounts, "tracefs", {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"});
    if (!entry) return std::optional<TracefsState>{};
    TracefsState state;
    state.target = entry->target;
    state.fs_options = entry->fs_options;
    // Options at their defaults are not shown in mountinfo.
    if (auto uid = mount_option(entry->fs_options, "uid")) state.uid = static_cast<uid_t>(std::stoul(*uid));
    if (auto gid = mount_option(entry->fs_options, "gid")) state.gid = static_cast<gid_t>(std::stoul(*gid));
    if (auto mode = mount_option(entry->fs_options, "mode")) state.mode = static_cast<mode_t>(std::stoul(*mode, nullptr, 8));
    return std::optional<TracefsState>{state};
  }

  Status remount_tracefs(const std::string& target, uid_t uid, gid_t gid, mode_t mode) override {
    const std::string uid_text = std::to_string(uid);
    const std::string gid_text = std::to_string(gid);
    const std::string mode_value = mode_text(mode);
    // fspick + fsconfig reconfigures the superblock only; mount(2) with
    // MS_REMOUNT would also reset the per-mount flags we did not pass.
    const int fd = ::fspick(AT_FDCWD, target.c_str(), FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT);
    if (fd < 0) {
      if (errno == ENOSYS) return remount_legacy(target, uid_text, gid_text, mode_value);
      return SysError::from_errno(errno, "fspick " + target);
    }
    FdCloser closer(fd);
    for (const auto& [key, value] : {std::pair{"uid", uid_text}, std::pair{"gid", gid_text}, std::pair{"mode", mode_value}}) {
      if (::fsconfig(fd, FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
        return SysError::from_errno(errno, std::string("set tracefs option ") + key + "=" + value);
      }
    }
    if (::fsconfig(fd, FSCONFIG_CMD_RECONFIGURE, nullptr, nullptr, 0) != 0) {
      return SysError::from_errno(errno, "remount " + target + " with uid=" + uid_text + ",gid=" + gid_text +
                                             ",mode=" + mode_value);
    }
    return Ok{};
  }

  Expected<std::vector<TracefsNode>> walk_tracefs(const std::string& target) override {
    std::vector<TracefsNode> nodes;
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0) return SysError::from_errno(errno, "stat " + target);
    nodes.push_back({target, FileMeta{st.st_mode, st.st_uid, st.st_gid}});
    std::error_code error;
    fs::recursive_directory_iterator it(target, fs::directory_options::skip_permission_denied, error);
    if (error) return SysError::from_errno(error.value(), "list " + target);
    for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (error) return SysError::from_errno(error.value(), "list " + target);
      const std::string path = it->path().string();
      if (::lstat(path.c_str(), &st) != 0) continue;  // an instance removed meanwhile
      nodes.push_back({path, FileMeta{st.st_mode, st.st_uid, st.st_gid}});
    }
    return nodes;
  }

  Status tracefs_chown(const std::string& path, gid_t gid) override {
    if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) return SysError::from_errno(errno, "chgrp " + path);
    return Ok{};
  }

  Status tracefs_chmod(const std::string& path, mode_t mode) override {
    if (::chmod(path.c_str(), mode) != 0) return SysError::from_errno(errno, "chmod " + path);
    return Ok{};
  }

  Expected<std::optional<long>> read_sysctl(const std::string& key) override {
    std::ifstream in(sysctl_path(key));
    if (!in) return std::optional<long>{};
    std::string text;
    std::getline(in, text);
    return parse_sysctl_int(text);
  }

  Status write_sysctl(const std::string& key, long value) override {
    const std::string path = sysctl_path(key);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return SysError::from_errno(errno, "open " + path);
    FdCloser closer(fd);
    const std::string text = std::to_string(value) + "\n";
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      return SysError::from_errno(errno, "write " + key + "=" + std::to_string(value));
    }
    return Ok{};
  }

  ParanoidVerdict perf_event_blocked_by_paranoid(std::uint64_t caps) override;

  bool systemd_running() override { return live() && ::access("/run/systemd/system", F_OK) == 0; }
  Status reload_systemd() override { return run_command({"systemctl", "daemon-reload"}); }

 private:
  [[nodiscard]] std::string mapped(const std::string& path) const { return root_.path(path).string(); }

  [[nodiscard]] std::vector<std::string> with_root(std::vector<std::string> argv) const {
    if (!live()) argv.insert(argv.begin() + 1, {"--root", root_.root().string()});
    return argv;
  }

  static std::string sysctl_path(const std::string& key) {
    std::string path = "/proc/sys/" + key;
    for (std::size_t i = 10; i < path.size(); ++i) {
      if (path[i] == '.') path[i] = '/';
    }
    return path;
  }

  static Status remount_legacy(const std::string& target, const std::string& uid, const std::string& gid,
                               const std::string& mode) {
    // Pass the current per-mount flags back, or MS_REMOUNT would clear them.
    struct statvfs vfs {};
    if (::statvfs(target.c_str(), &vfs) != 0) return SysError::from_errno(errno, "statvfs " + target);
    unsigned long flags = MS_REMOUNT;
    if ((vfs.f_flag & ST_RDONLY) != 0) flags |= MS_RDONLY;
    if ((vfs.f_flag & ST_NOSUID) != 0) flags |= MS_NOSUID;
    if ((vfs.f_flag & ST_NODEV) != 0) flags |= MS_NODEV;
    if ((vfs.f_flag & ST_NOEXEC) != 0) flags |= MS_NOEXEC;
    if ((vfs.f_flag & ST_NOATIME) != 0) flags |= MS_NOATIME;
    if ((vfs.f_flag & ST_NODIRATIME) != 0) flags |= MS_NODIRATIME;
    if ((vfs.f_flag & ST_RELATIME) != 0) flags |= MS_RELATIME;
    if ((vfs.f_flag & (ST_RELATIME | ST_NOATIME)) == 0) flags |= MS_STRICTATIME;
    const std::string data = "uid=" + uid + ",gid=" + gid + ",mode=" + mode;
    if (::mount("tracefs", target.c_str(), nullptr, flags, data.c_str()) != 0) {
      return SysError::from_errno(errno, "remount " + target + " with " + data);
    }
    return Ok{};
  }

  SystemRoot root_;
};

// Tries what libbpf does for a perf-event tracepoint (a CPU-wide perf event)
// in a child holding exactly CAPS. With CAP_PERFMON, mainline kernels allow it
// at any perf_event_paranoid; an EACCES above 2 is the Debian/Ubuntu patch.
ParanoidVerdict LiveSystem::perf_event_blocked_by_paranoid(std::uint64_t caps) {
  ParanoidVerdict verdict;
  auto value = read_sysctl("kernel.perf_event_paranoid");
  if (!value || !*value) {
    verdict.evidence = "kernel.perf_event_paranoid could not be read";
    return verdict;
  }
  verdict.value = **value;
  if (verdict.value <= 2) {
    verdict.evidence = "kernel.perf_event_paranoid is " + std::to_string(verdict.value) +
                       "; CAP_PERFMON is enough at 2 or below";
    return verdict;
  }
  if (!live()) {
    verdict.evidence = "not checked: not the running host";
    return verdict;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    verdict.evidence = "could not fork to test perf_event_open";
    return verdict;
  }
  if (child == 0) {
    cap_t reduced = cap_init();
    for (int cap = 0; cap < 64; ++cap) {
      if ((caps & (std::uint64_t{1} << cap)) == 0 || !CAP_IS_SUPPORTED(cap)) continue;
      const cap_value_t one[] = {cap};
      cap_set_flag(reduced, CAP_EFFECTIVE, 1, one, CAP_SET);
      cap_set_flag(reduced, CAP_PERMITTED, 1, one, CAP_SET);
    }
    if (cap_set_proc(reduced) != 0) ::_exit(125);
    struct perf_event_attr attr {};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    const long fd = ::syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0);
    ::_exit(fd >= 0 ? 0 : (errno & 0x7f));
  }
  int wstatus = 0;
  while (::waitpid(child, &wstatus, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 126;
  if (code == EACCES || code == EPERM) {
    verdict.blocked = true;
    verdict.evidence = "perf_event_open of a CPU-wide event with only the tool's capabilities failed (" +
                       std::string(std::strerror(code)) + ") at perf_event_paranoid=" +
                       std::to_string(verdict.value) + ": this kernel demands CAP_SYS_ADMIN above 2";
  } else if (code == 0) {
    verdict.evidence = "perf_event_open with only the tool's capabilities works at perf_event_paranoid=" +
                       std::to_string(verdict.value) + " (mainline semantics)";
  } else {
    verdict.evidence = "perf_event_open test inconclusive (exit " + std::to_string(code) + ")";
  }
  return verdict;
}

}  // namespace

std::unique_ptr<SetupSystem> make_live_system(const std::string& root) { return std::make_unique<LiveSystem>(root); }

Status run_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return SysError::plain("empty command");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return SysError::from_errno(errno, "pipe");
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  args.push_back(nullptr);
  const pid_t child = ::fork();
  if (child < 0) {
    const int err = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return SysError::from_errno(err, "fork for " + argv[0]);
  }
  if (child == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string output;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int wstatus = 0;
  while (::waitpid(child, &wstatus, 0) < 0) {
    if (errno != EINTR) return SysError::from_errno(errno, "wait for " + argv[0]);
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return Ok{};
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  std::string why = WIFEXITED(wstatus) ? (WEXITSTATUS(wstatus) == 127 ? "could not be run"
                                                                         : "exited with " + std::to_string(WEXITSTATUS(wstatus)))
                                       : "was killed by signal " + std::to_string(WTERMSIG(wstatus));
  return SysError::plain(join(argv) + " " + why + (output.empty() ? "" : ": " + output));
}

}  // namespace bpfready
