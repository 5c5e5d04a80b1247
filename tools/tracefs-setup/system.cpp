#include "tools/tracefs-setup/system.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/perf_event.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "libcheck/common/fd.h"
#include "libcheck/common/procfs.h"
#include "libcheck/common/subprocess.h"
#include "libcheck/mounts.h"
#include "libcheck/parse.h"

namespace bpfready {

namespace fs = std::filesystem;

namespace {

// The fields of NAME's record in a colon-separated account file of a root
// tree (/etc/group, /etc/passwd) that has at least MIN_FIELDS; nullopt: none.
std::optional<std::vector<std::string>> find_record(const fs::path& file, const std::string& name,
                                                    std::size_t min_fields) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::string field;
    std::istringstream stream(line);
    while (std::getline(stream, field, ':')) fields.push_back(field);
    if (line.back() == ':') fields.emplace_back();
    if (fields.size() >= min_fields && fields[0] == name) return fields;
  }
  return std::nullopt;
}

FileMeta meta_of(const struct stat& st) { return FileMeta{st.st_mode, st.st_uid, st.st_gid}; }

class LiveSystem final : public SetupSystem {
 public:
  explicit LiveSystem(const std::string& root) : root_(root.empty() ? "/" : root) {}

  [[nodiscard]] bool live() const override { return root_.is_live(); }
  [[nodiscard]] std::string root_dir() const override { return root_.root().string(); }

  Expected<std::optional<GroupRecord>> find_group(const std::string& name) override {
    if (live()) return find_live_group(name);
    const auto fields = find_record(root_.path("/etc/group"), name, 3);
    if (!fields) return std::optional<GroupRecord>{};
    GroupRecord record{(*fields)[0], static_cast<gid_t>(std::stoul((*fields)[2])), {}};
    if (fields->size() > 3) record.members = split((*fields)[3], ",");
    return std::optional<GroupRecord>{record};
  }

  Expected<std::optional<UserRecord>> find_user(const std::string& name) override {
    if (live()) return find_user_by_name(name);
    const auto fields = find_record(root_.path("/etc/passwd"), name, 4);
    if (!fields) return std::optional<UserRecord>{};
    return std::optional<UserRecord>{UserRecord{(*fields)[0], static_cast<uid_t>(std::stoul((*fields)[2])),
                                                static_cast<gid_t>(std::stoul((*fields)[3]))}};
  }

  Expected<gid_t> create_group(const std::string& name) override {
    if (auto status = run_command(with_root({"groupadd", "--system", name})); !status) return status.error();
    auto group = find_group(name);
    if (!group) return group.error();
    if (!*group) return SysError::plain("groupadd reported success but group " + name + " is not there");
    return (*group)->gid;
  }

  Expected<void> delete_group(const std::string& name) override { return run_command(with_root({"groupdel", name})); }
  Expected<void> add_member(const std::string& user, const std::string& group) override {
    return run_command(with_root({"gpasswd", "-a", user, group}));
  }
  Expected<void> remove_member(const std::string& user, const std::string& group) override {
    return run_command(with_root({"gpasswd", "-d", user, group}));
  }

  Expected<std::optional<FileMeta>> stat(const std::string& path) override {
    struct stat st {};
    if (::lstat(mapped(path).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<FileMeta>{};
      return SysError::from_errno(errno, "stat " + path);
    }
    return std::optional<FileMeta>{meta_of(st)};
  }

  Expected<void> chown(const std::string& path, uid_t uid, gid_t gid) override {
    if (::lchown(mapped(path).c_str(), uid, gid) != 0) return SysError::from_errno(errno, "chown " + path);
    return Ok{};
  }

  Expected<void> chmod(const std::string& path, mode_t mode) override {
    if (::chmod(mapped(path).c_str(), mode) != 0) return SysError::from_errno(errno, "chmod " + path);
    return Ok{};
  }

  Expected<std::optional<std::string>> get_caps(const std::string& path) override {
    const CapSet caps(cap_get_file(mapped(path).c_str()));
    if (!caps) {
      // No attribute, or a filesystem without extended attributes: no capabilities.
      if (errno == ENODATA || errno == ENOTSUP) return std::optional<std::string>{};
      return SysError::from_errno(errno, "read capabilities of " + path);
    }
    const CapText text(cap_to_text(caps.get(), nullptr));
    if (!text) return SysError::from_errno(errno, "format capabilities of " + path);
    const std::string value = text.get();
    if (value == "=" || value.empty()) return std::optional<std::string>{};
    return std::optional<std::string>{value};
  }

  Expected<void> set_caps(const std::string& path, const std::optional<std::string>& caps) override {
    const std::string file = mapped(path);
    if (!caps) {
      if (cap_set_file(file.c_str(), nullptr) != 0 && errno != ENODATA && errno != ENOTSUP) {
        return SysError::from_errno(errno, "remove capabilities of " + path);
      }
      return Ok{};
    }
    const CapSet parsed(cap_from_text(caps->c_str()));
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

  Expected<void> write_file(const std::string& path, const std::string& content, mode_t mode) override {
    const fs::path target = mapped(path);
    std::string temp = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
    const Fd file(::mkstemp(temp.data()));
    if (!file.valid()) return SysError::from_errno(errno, "create a temporary file next to " + path);
    const int fd = file.get();
    auto fail = [&](const std::string& what) {
      const int err = errno;
      ::unlink(temp.c_str());
      return SysError::from_errno(err, what + " " + path);
    };
    if (::fchmod(fd, mode) != 0) return fail("chmod");
    if (!write_all(fd, content)) return fail("write");
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

  Expected<void> make_symlink(const std::string& path, const std::string& target) override {
    if (::symlink(target.c_str(), mapped(path).c_str()) != 0) return SysError::from_errno(errno, "symlink " + path);
    return Ok{};
  }

  Expected<void> remove_file(const std::string& path) override {
    if (::unlink(mapped(path).c_str()) != 0 && errno != ENOENT) return SysError::from_errno(errno, "remove " + path);
    return Ok{};
  }

  Expected<void> make_dir(const std::string& path, mode_t mode) override {
    if (::mkdir(mapped(path).c_str(), mode) != 0) return SysError::from_errno(errno, "mkdir " + path);
    return Ok{};
  }

  Expected<void> remove_dir(const std::string& path) override {
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

  Expected<void> remount_tracefs(const std::string& target, uid_t uid, gid_t gid, mode_t mode) override {
    const std::string uid_text = std::to_string(uid);
    const std::string gid_text = std::to_string(gid);
    const std::string mode_value = mode_text(mode);
    // fspick + fsconfig reconfigures the superblock only; mount(2) with
    // MS_REMOUNT would also reset the per-mount flags we did not pass.
    const Fd picked(::fspick(AT_FDCWD, target.c_str(), FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT));
    if (!picked.valid()) {
      if (errno == ENOSYS) return remount_legacy(target, uid_text, gid_text, mode_value);
      return SysError::from_errno(errno, "fspick " + target);
    }
    const int fd = picked.get();
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
    nodes.push_back({target, meta_of(st)});
    std::error_code error;
    fs::recursive_directory_iterator it(target, fs::directory_options::skip_permission_denied, error);
    if (error) return SysError::from_errno(error.value(), "list " + target);
    for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (error) return SysError::from_errno(error.value(), "list " + target);
      const std::string path = it->path().string();
      if (::lstat(path.c_str(), &st) != 0) continue;  // an instance removed meanwhile
      nodes.push_back({path, meta_of(st)});
    }
    return nodes;
  }

  Expected<void> tracefs_chown(const std::string& path, gid_t gid) override {
    if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) return SysError::from_errno(errno, "chgrp " + path);
    return Ok{};
  }

  Expected<void> tracefs_chmod(const std::string& path, mode_t mode) override {
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

  Expected<void> write_sysctl(const std::string& key, long value) override {
    const std::string path = sysctl_path(key);
    const Fd file(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!file.valid()) return SysError::from_errno(errno, "open " + path);
    if (!write_all(file.get(), std::to_string(value) + "\n")) {
      return SysError::from_errno(errno, "write " + key + "=" + std::to_string(value));
    }
    return Ok{};
  }

  ParanoidVerdict perf_event_blocked_by_paranoid(std::uint64_t caps) override;

  bool systemd_running() override { return live() && ::access("/run/systemd/system", F_OK) == 0; }
  Expected<void> reload_systemd() override { return run_command({"systemctl", "daemon-reload"}); }

 private:
  [[nodiscard]] std::string mapped(const std::string& path) const { return root_.path(path).string(); }

  static Expected<std::optional<GroupRecord>> find_live_group(const std::string& name) {
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

  [[nodiscard]] std::vector<std::string> with_root(std::vector<std::string> argv) const {
    if (!live()) argv.insert(argv.begin() + 1, {"--root", root_.root().string()});
    return argv;
  }

  static Expected<void> remount_legacy(const std::string& target, const std::string& uid, const std::string& gid,
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
  auto child = run_in_child([caps](int /*out_fd*/) {
    if (!set_process_caps(caps)) return 125;
    struct perf_event_attr attr {};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    const long fd = ::syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0);
    return fd >= 0 ? 0 : (errno & 0x7f);
  });
  if (!child) {
    verdict.evidence = "could not fork to test perf_event_open";
    return verdict;
  }
  const int code = WIFEXITED(child->wait_status) ? WEXITSTATUS(child->wait_status) : 126;
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

bool GroupRecord::lists(const std::string& user) const {
  return std::find(members.begin(), members.end(), user) != members.end();
}

std::unique_ptr<SetupSystem> make_live_system(const std::string& root) { return std::make_unique<LiveSystem>(root); }

Expected<std::vector<std::string>> missing_parents(SetupSystem& system, const std::string& path) {
  std::vector<std::string> missing;
  for (auto dir = fs::path(path).parent_path(); dir != dir.root_path(); dir = dir.parent_path()) {
    auto meta = system.stat(dir.string());
    if (!meta) return meta.error();
    if (*meta) break;
    missing.insert(missing.begin(), dir.string());
  }
  return missing;
}

Expected<void> run_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return SysError::plain("empty command");
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  args.push_back(nullptr);
  auto child = run_in_child([&](int out_fd) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execvp(args[0], args.data());
    return 127;
  });
  if (!child) return SysError{child.error().errnum, child.error().message + " for " + argv[0]};
  const int wstatus = child->wait_status;
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return Ok{};
  std::string output = std::move(child->output);
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  const std::string why = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127 ? "could not be run"
                                                                          : describe_wait_status(wstatus);
  return SysError::plain(join(argv) + " " + why + (output.empty() ? "" : ": " + output));
}

}  // namespace bpfready
