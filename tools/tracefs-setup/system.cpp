#include "tools/tracefs-setup/system.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "libcheck/common/fd.h"
#include "libcheck/common/procfs.h"
#include "libcheck/common/subprocess.h"
#include "libcheck/common/text.h"
#include "libcheck/mounts.h"
#include "libcheck/parse.h"
#include "tools/tracefs-setup/root_files.h"

namespace bpfready {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxId = 0xFFFFFFFEU;  // (uid_t)-1 means "no id"

// An account or mount id: decimal digits only, 0 to 4294967294.
std::optional<std::uint32_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value > kMaxId) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

// An octal permission mode, 0 to 07777.
std::optional<mode_t> parse_octal_mode(std::string_view text) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("01234567") != std::string_view::npos) {
    return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value, 8);
  if (value > 07777) return std::nullopt;
  return static_cast<mode_t>(value);
}

std::vector<std::string_view> split_on(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// NAME's record in a colon-separated account file that has at least
// MIN_FIELDS fields, and its line number.
struct AccountLine {
  std::vector<std::string_view> fields;
  std::size_t number = 0;
};

// A record of NAME with fewer fields is an error.
Expected<std::optional<AccountLine>> find_record(std::string_view text, const std::string& name,
                                                 std::size_t min_fields) {
  std::size_t number = 0;
  for (const auto line : split_on(text, '\n')) {
    ++number;
    if (line.empty() || line.front() == '#') continue;
    auto fields = split_on(line, ':');
    if (fields[0] != name) continue;
    if (fields.size() < min_fields) {
      return SysError::plain("line " + std::to_string(number) + ": the record of " + escape_for_terminal(name) +
                             " has " + std::to_string(fields.size()) + " field(s), not at least " +
                             std::to_string(min_fields));
    }
    return std::optional<AccountLine>{AccountLine{std::move(fields), number}};
  }
  return std::optional<AccountLine>{};
}

Expected<std::uint32_t> account_id(const AccountLine& record, std::size_t index, std::string_view what) {
  if (auto id = parse_id(record.fields[index])) return *id;
  return SysError::plain("line " + std::to_string(record.number) + ": " + std::string(what) + " '" +
                         escape_for_terminal(record.fields[index]) + "' is not a number from 0 to 4294967294");
}

FileMeta meta_of(const struct stat& st) { return FileMeta{st.st_mode, st.st_uid, st.st_gid}; }

class LiveSystem final : public SetupSystem {
 public:
  explicit LiveSystem(const std::string& root) : live_(root == "/"), files_(root) {}

  [[nodiscard]] bool live() const override { return live_; }
  [[nodiscard]] std::string root_dir() const override { return files_.root(); }

  Expected<std::optional<GroupRecord>> find_group(const std::string& name) override {
    if (live()) return find_live_group(name);
    return parse_account_file<GroupRecord>("/etc/group", name, parse_group_record);
  }

  Expected<std::optional<UserRecord>> find_user(const std::string& name) override {
    if (live()) return find_user_by_name(name);
    return parse_account_file<UserRecord>("/etc/passwd", name, parse_passwd_record);
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

  Expected<std::optional<FileMeta>> stat(const std::string& path) override { return files_.stat(path); }
  Expected<void> chown(const std::string& path, uid_t uid, gid_t gid) override { return files_.chown(path, uid, gid); }
  Expected<void> chmod(const std::string& path, mode_t mode) override { return files_.chmod(path, mode); }
  Expected<std::optional<std::string>> get_caps(const std::string& path) override { return files_.get_caps(path); }
  Expected<void> set_caps(const std::string& path, const std::optional<std::string>& caps) override {
    return files_.set_caps(path, caps);
  }
  Expected<std::optional<std::string>> read_file(const std::string& path) override { return files_.read_file(path); }
  Expected<void> write_file(const std::string& path, const std::string& content, mode_t mode) override {
    return files_.write_file(path, content, mode);
  }
  Expected<std::optional<std::string>> read_link(const std::string& path) override { return files_.read_link(path); }
  Expected<void> make_symlink(const std::string& path, const std::string& target) override {
    return files_.make_symlink(path, target);
  }
  Expected<void> remove_file(const std::string& path) override { return files_.remove_file(path); }
  Expected<void> make_dir(const std::string& path, mode_t mode) override { return files_.make_dir(path, mode); }
  Expected<void> remove_dir(const std::string& path) override { return files_.remove_dir(path); }

  Expected<std::optional<TracefsState>> tracefs() override {
    if (!live()) return std::optional<TracefsState>{};
    auto mounts = parse_mountinfo_file("/proc/self/mountinfo");
    if (!mounts) return mounts.error();
    const auto entry = find_mount(*mounts, "tracefs", {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"});
    if (!entry) return std::optional<TracefsState>{};
    auto state = parse_tracefs_options(entry->target, entry->fs_options);
    if (!state) return state.error();
    return std::optional<TracefsState>{std::move(*state)};
  }

  Expected<void> remount_tracefs(const std::string& target, uid_t uid, gid_t gid, mode_t mode) override {
    if (!live()) return not_live("remount tracefs");
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
    if (!live()) return not_live("list tracefs");
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
    if (!live()) return not_live("chgrp a tracefs file");
    if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) return SysError::from_errno(errno, "chgrp " + path);
    return Ok{};
  }

  Expected<void> tracefs_chmod(const std::string& path, mode_t mode) override {
    if (!live()) return not_live("chmod a tracefs file");
    if (::chmod(path.c_str(), mode) != 0) return SysError::from_errno(errno, "chmod " + path);
    return Ok{};
  }

  Expected<std::optional<long>> read_sysctl(const std::string& key) override {
    if (!live()) return not_live("read sysctl " + key);
    std::ifstream in(sysctl_path(key));
    if (!in) return std::optional<long>{};
    std::string text;
    std::getline(in, text);
    return parse_sysctl_int(text);
  }

  Expected<void> write_sysctl(const std::string& key, long value) override {
    if (!live()) return not_live("set sysctl " + key);
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
  Expected<void> reload_systemd() override {
    if (!live()) return not_live("reload systemd");
    return run_command({"systemctl", "daemon-reload"});
  }

 private:
  [[nodiscard]] SysError not_live(const std::string& what) const {
    return SysError::plain("refused to " + what + ": --root " + files_.root() +
                           " is not the running host, which tracefs-setup leaves alone with --root");
  }

  // NAME's record in FILE of the root tree, by PARSE; errors name the file.
  template <class Record, class Parse>
  Expected<std::optional<Record>> parse_account_file(const std::string& file, const std::string& name, Parse parse) {
    auto text = files_.read_file(file);
    if (!text) return text.error();
    if (!*text) return std::optional<Record>{};
    auto record = parse(**text, name);
    if (!record) return SysError::plain(files_.root() + file + " " + record.error().message);
    return record;
  }

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
    if (!live()) argv.insert(argv.begin() + 1, {"--root", files_.root()});
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

  bool live_;
  RootFiles files_;
};

// Tries what libbpf does for a perf-event tracepoint (a CPU-wide perf event)
// in a child holding exactly CAPS. With CAP_PERFMON, mainline kernels allow it
// at any perf_event_paranoid; an EACCES above 2 is the Debian/Ubuntu patch.
ParanoidVerdict LiveSystem::perf_event_blocked_by_paranoid(std::uint64_t caps) {
  ParanoidVerdict verdict;
  if (!live()) {
    verdict.evidence = "not checked: not the running host";
    return verdict;
  }
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

Expected<std::optional<GroupRecord>> parse_group_record(std::string_view file_text, const std::string& name) {
  const auto found = find_record(file_text, name, 3);
  if (!found) return found.error();
  if (!*found) return std::optional<GroupRecord>{};
  const auto& record = *found;
  auto gid = account_id(*record, 2, "gid");
  if (!gid) return gid.error();
  GroupRecord group{name, *gid, {}};
  if (record->fields.size() > 3) {
    for (const auto member : split_on(record->fields[3], ',')) {
      if (!member.empty()) group.members.emplace_back(member);
    }
  }
  return std::optional<GroupRecord>{std::move(group)};
}

Expected<std::optional<UserRecord>> parse_passwd_record(std::string_view file_text, const std::string& name) {
  const auto found = find_record(file_text, name, 4);
  if (!found) return found.error();
  if (!*found) return std::optional<UserRecord>{};
  const auto& record = *found;
  auto uid = account_id(*record, 2, "uid");
  if (!uid) return uid.error();
  auto gid = account_id(*record, 3, "gid");
  if (!gid) return gid.error();
  return std::optional<UserRecord>{UserRecord{name, *uid, *gid}};
}

Expected<TracefsState> parse_tracefs_options(const std::string& target, const std::string& fs_options) {
  TracefsState state;
  state.target = target;
  state.fs_options = fs_options;
  auto bad = [&](const std::string& key, const std::string& value) {
    return SysError::plain("tracefs at " + escape_for_terminal(target) + " has an invalid option " + key + "=" +
                           escape_for_terminal(value));
  };
  // Options at their defaults are not shown in mountinfo.
  for (const auto* key : {"uid", "gid"}) {
    const auto value = mount_option(fs_options, key);
    if (!value) continue;
    const auto id = parse_id(*value);
    if (!id) return bad(key, *value);
    (std::string_view(key) == "uid" ? state.uid : state.gid) = *id;
  }
  if (const auto value = mount_option(fs_options, "mode")) {
    const auto mode = parse_octal_mode(*value);
    if (!mode) return bad("mode", *value);
    state.mode = *mode;
  }
  return state;
}

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
