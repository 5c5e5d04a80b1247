// tracefs-setup on the real host, as root: apply, status and revert with a
// uniquely named group and user and a copy of a binary; revert must leave
// groups, the binary, tracefs and the unit/sysctl files exactly as before,
// also when any single step of apply fails. Everything created is removed.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "libcheck/common/creds.h"
#include "libcheck/common/fd.h"
#include "libcheck/probe.h"
#include "support/system.h"
#include "tools/tracefs-setup/apply.h"
#include "tools/tracefs-setup/journal.h"

namespace bpfready {
namespace {

namespace fs = std::filesystem;

const std::string kTracefs = "/sys/kernel/tracing";
const std::string kTool = std::string(BPFREADY_BINARY_DIR) + "/tools/tracefs-setup/tracefs-setup";

using ToolRun = testing::CommandResult;

// Runs a shell command line; its stdout and stderr together.
ToolRun shell(const std::string& command) { return testing::run_command(command + " 2>&1"); }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "<absent>";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string describe_path(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "<absent>";
  std::string text = std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " + mode_text(st.st_mode) +
                     " type " + std::to_string(st.st_mode & S_IFMT);
  if (S_ISLNK(st.st_mode)) text += " -> " + fs::read_symlink(path).string();
  if (S_ISREG(st.st_mode)) text += " content " + slurp(path);
  return text;
}

std::string file_caps(const std::string& path) {
  const CapSet caps(cap_get_file(path.c_str()));
  if (!caps) return "none";
  const CapText text(cap_to_text(caps.get(), nullptr));
  return text ? text.get() : "?";
}

std::string tracefs_options() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (line.find(" - tracefs ") != std::string::npos) out += line.substr(line.find(" - tracefs ")) + "\n";
  }
  return out;
}

// Every tracefs node outside instances/ (which other tests may create): path -> gid and mode.
std::map<std::string, std::string> tracefs_nodes() {
  std::map<std::string, std::string> nodes;
  if (tracefs_options().empty()) return nodes;
  std::error_code error;
  for (fs::recursive_directory_iterator it(kTracefs, error), end; it != end; it.increment(error)) {
    if (error) break;
    const std::string path = it->path().string();
    if (path.rfind(kTracefs + "/instances/", 0) == 0) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    nodes[path] = std::to_string(st.st_gid) + " " + mode_text(st.st_mode);
  }
  struct stat st {};
  if (::lstat(kTracefs.c_str(), &st) == 0) nodes[kTracefs] = std::to_string(st.st_gid) + " " + mode_text(st.st_mode);
  return nodes;
}

struct HostSnapshot {
  std::string group;
  std::string user_groups;
  std::string binary;
  std::string mount;
  std::map<std::string, std::string> nodes;
  std::map<std::string, std::string> files;
  std::string sysctls;
};

void expect_same(const HostSnapshot& before, const HostSnapshot& after, const std::string& context) {
  EXPECT_EQ(before.group, after.group) << context;
  EXPECT_EQ(before.user_groups, after.user_groups) << context;
  EXPECT_EQ(before.binary, after.binary) << context;
  EXPECT_EQ(before.mount, after.mount) << context;
  EXPECT_EQ(before.files, after.files) << context;
  EXPECT_EQ(before.sysctls, after.sysctls) << context;
  std::size_t shown = 0;
  for (const auto& [path, value] : before.nodes) {
    auto it = after.nodes.find(path);
    const std::string now = it == after.nodes.end() ? "<absent>" : it->second;
    if (now != value && shown++ < 5) ADD_FAILURE() << context << ": " << path << " was " << value << ", now " << now;
  }
  EXPECT_EQ(before.nodes.size(), after.nodes.size()) << context;
}

class TracefsSetupSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    BPFREADY_REQUIRE_ROOT();
    // One test of this suite at a time on the host.
    lock_.reset(::open("/run/lock/bpfready-tracefs-setup-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(lock_.valid());
    ASSERT_EQ(::flock(lock_.get(), LOCK_EX), 0);
    ASSERT_FALSE(fs::exists(std::string(kJournalPath)))
        << kJournalPath << " exists: tracefs-setup is applied on this host; these tests need it unapplied";

    group_ = testing::unique_name("bpfr_ts_g");
    user_ = testing::unique_name("bpfr_ts_u");
    ASSERT_EQ(shell("useradd --system --no-create-home --shell /usr/sbin/nologin " + user_).exit_code, 0);
    user_created_ = true;
    std::string dir = "/tmp/bpfr_ts_bin.XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    binary_ = dir_ + "/tool";
    fs::copy_file("/bin/true", binary_);
    ::chmod(binary_.c_str(), 0755);
    ::chmod(dir_.c_str(), 0755);

    if (tracefs_options().empty()) {
      ASSERT_EQ(::mount("nodev", kTracefs.c_str(), "tracefs", 0, nullptr), 0) << std::strerror(errno);
      mounted_tracefs_ = true;
    }
  }

  void TearDown() override {
    if (!lock_.valid()) return;
    if (fs::exists(std::string(kJournalPath))) {
      const ToolRun revert = shell(kTool + " revert");
      ADD_FAILURE() << "a test left tracefs-setup applied; revert said:\n" << revert.output;
    }
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
    if (user_created_) shell("userdel " + user_ + "; getent group " + user_ + " >/dev/null && groupdel " + user_);
    if (!group_.empty()) shell("getent group " + group_ + " >/dev/null && groupdel " + group_);
    if (mounted_tracefs_) ::umount2(kTracefs.c_str(), MNT_DETACH);
    lock_.reset();
  }

  [[nodiscard]] HostSnapshot snapshot() const {
    HostSnapshot snap;
    snap.group = shell("getent group " + group_).output;
    snap.user_groups = shell("id -Gn " + user_).output;
    snap.binary = describe_path(binary_) + " caps " + file_caps(binary_);
    snap.mount = tracefs_options();
    snap.nodes = tracefs_nodes();
    for (const auto& path : {std::string(kMountDropIn), std::string(kTracefsUnit), std::string(kTracefsUnitLink),
                             std::string(kSysctlFile), std::string(kJournalPath),
                             std::string("/etc/systemd/system/sys-kernel-tracing.mount.d"),
                             std::string("/etc/systemd/system/sysinit.target.wants"), std::string(kJournalDir)}) {
      snap.files[path] = describe_path(path);
    }
    snap.sysctls = slurp("/proc/sys/kernel/perf_event_paranoid") + slurp("/proc/sys/kernel/unprivileged_bpf_disabled") +
                   slurp("/proc/sys/kernel/kptr_restrict");
    return snap;
  }

  [[nodiscard]] std::string change_options(bool tracefs_read) const {
    return " --group " + group_ + " --user " + user_ + " --binary " + binary_ + (tracefs_read ? " --tracefs-read" : "");
  }

  [[nodiscard]] SetupOptions options(bool tracefs_read) const {
    SetupOptions options;
    options.group = group_;
    options.users = {user_};
    options.binaries = {binary_};
    options.tracefs_read = tracefs_read;
    return options;
  }

  // Runs FN in a child that is USER_, in group_ (when it exists), holding
  // exactly cap_bpf,cap_perfmon as a file-capability binary would. Returns
  // FN's exit code.
  template <class Fn>
  int as_profiling_user(Fn fn) const {
    struct passwd* pw = ::getpwnam(user_.c_str());
    if (pw == nullptr) return 250;
    struct group* gr = ::getgrnam(group_.c_str());
    const gid_t groups[] = {gr != nullptr ? gr->gr_gid : pw->pw_gid};
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    const pid_t child = ::fork();
    if (child == 0) {
      if (::prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0 || ::setgroups(1, groups) != 0 || ::setgid(gid) != 0 ||
          ::setuid(uid) != 0) {
        ::_exit(251);
      }
      cap_t caps = cap_from_text("cap_bpf,cap_perfmon=ep");
      if (caps == nullptr || cap_set_proc(caps) != 0) ::_exit(252);
      ::_exit(fn());
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 253;
  }

  // A second apply with the same options changes nothing, status finds it
  // holding, and revert restores BEFORE.
  void expect_idempotent_then_reverted(bool tracefs_read, const HostSnapshot& before) const {
    const ToolRun again = shell(kTool + " apply" + change_options(tracefs_read));
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_NE(again.output.find("no changes"), std::string::npos) << again.output;
    const ToolRun status = shell(kTool + " status");
    EXPECT_EQ(status.exit_code, 0) << status.output;
    const ToolRun revert = shell(kTool + " revert");
    ASSERT_EQ(revert.exit_code, 0) << revert.output;
    expect_same(before, snapshot(), "after revert");
  }

  Fd lock_;
  std::string group_;
  std::string user_;
  bool user_created_ = false;
  std::string dir_;
  std::string binary_;
  bool mounted_tracefs_ = false;
};

TEST_F(TracefsSetupSystem, ApplyStatusRevertWithoutTracefsRead) {
  const HostSnapshot before = snapshot();
  const ToolRun plan = shell(kTool + " plan" + change_options(false));
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  expect_same(before, snapshot(), "after plan");

  const ToolRun apply = shell(kTool + " apply" + change_options(false));
  ASSERT_EQ(apply.exit_code, 0) << apply.output;
  struct stat st {};
  ASSERT_EQ(::stat(binary_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_gid, ::getgrnam(group_.c_str())->gr_gid);
  EXPECT_EQ(st.st_mode & 07777, 0750U);
  EXPECT_EQ(file_caps(binary_), "cap_perfmon,cap_bpf=ep");
  EXPECT_NE(shell("id -Gn " + user_).output.find(group_), std::string::npos);
  // tracefs stays as it was (0700 root:root on a default host).
  EXPECT_EQ(snapshot().mount, before.mount);
  EXPECT_EQ(tracefs_nodes()[kTracefs], before.nodes.at(kTracefs));

  ASSERT_NO_FATAL_FAILURE(expect_idempotent_then_reverted(false, before));
  EXPECT_EQ(shell(kTool + " status").exit_code, 1);
}

TEST_F(TracefsSetupSystem, TracefsReadGivesTheGroupReadOnlyAccessAndPerfTracepoints) {
  const HostSnapshot before = snapshot();
  const std::string id_file = kTracefs + "/events/raw_syscalls/sys_enter/id";
  auto can_read_id = [&] {
    const int fd = ::open(id_file.c_str(), O_RDONLY);
    if (fd < 0) return 1;
    ::close(fd);
    return 0;
  };
  auto perf_tp = [] {
    const ProbeOutcome outcome = run_probe(ProbeFlavour::perf_tp, ProbeOptions{kTracefs, 100});
    return outcome.ok ? 0 : 10 + static_cast<int>(outcome.stage);
  };
  EXPECT_NE(as_profiling_user(can_read_id), 0) << "the user can read the event id before apply";

  const ToolRun apply = shell(kTool + " apply" + change_options(true));
  ASSERT_EQ(apply.exit_code, 0) << apply.output;
  const gid_t gid = ::getgrnam(group_.c_str())->gr_gid;
  EXPECT_NE(tracefs_options().find("gid=" + std::to_string(gid) + ",mode=750"), std::string::npos) << tracefs_options();
  EXPECT_EQ(slurp(std::string(kMountDropIn)), mount_dropin_text(group_));
  EXPECT_EQ(slurp(std::string(kTracefsUnit)), tracefs_unit_text(group_));

  // No tracefs file is writable by the group; the event ids are readable.
  for (const auto& [path, value] : tracefs_nodes()) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (st.st_gid == gid) {
      EXPECT_EQ(st.st_mode & S_IWGRP, 0U) << path << " is group-writable";
    }
  }
  EXPECT_EQ(as_profiling_user(can_read_id), 0);
  EXPECT_NE(as_profiling_user([&] {
              const int fd = ::open((kTracefs + "/trace_marker").c_str(), O_WRONLY);
              return fd < 0 ? 1 : 0;
            }),
            0)
      << "the group can write trace_marker";
  EXPECT_EQ(as_profiling_user(perf_tp), 0) << "a cap_bpf,cap_perfmon group member fails the perf-event tracepoint attach";

  // Measured: gid= also reaches instances created afterwards, trace_marker
  // included (which the boot unit fixes only for those existing at boot).
  const std::string instance = kTracefs + "/instances/bpfr_ts_probe" + std::to_string(::getpid());
  if (::mkdir(instance.c_str(), 0750) == 0) {
    struct stat st {};
    ASSERT_EQ(::stat((instance + "/events/raw_syscalls/sys_enter/id").c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, gid);
    ASSERT_EQ(::stat((instance + "/trace_marker").c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, gid);
    EXPECT_EQ(st.st_mode & 07777, 0220U);
    ::rmdir(instance.c_str());
  }

  ASSERT_NO_FATAL_FAILURE(expect_idempotent_then_reverted(true, before));
  EXPECT_NE(as_profiling_user(can_read_id), 0);
}

// Forwards to the live host and makes the Nth mutating call fail.
class FailingSystem final : public SetupSystem {
 public:
  explicit FailingSystem(int fail_at) : real_(make_live_system("/")), fail_at_(fail_at) {}
  int calls = 0;
  std::string failed;

  [[nodiscard]] bool live() const override { return real_->live(); }
  [[nodiscard]] std::string root_dir() const override { return real_->root_dir(); }
  Expected<std::optional<GroupRecord>> find_group(const std::string& n) override { return real_->find_group(n); }
  Expected<std::optional<UserRecord>> find_user(const std::string& n) override { return real_->find_user(n); }
  Expected<gid_t> create_group(const std::string& n) override {
    if (trip("create_group")) return SysError{EIO, "injected"};
    return real_->create_group(n);
  }
  Expected<void> delete_group(const std::string& n) override { return gate("delete_group", [&] { return real_->delete_group(n); }); }
  Expected<void> add_member(const std::string& u, const std::string& g) override {
    return gate("add_member", [&] { return real_->add_member(u, g); });
  }
  Expected<void> remove_member(const std::string& u, const std::string& g) override {
    return gate("remove_member", [&] { return real_->remove_member(u, g); });
  }
  Expected<std::optional<FileMeta>> stat(const std::string& p) override { return real_->stat(p); }
  Expected<void> chown(const std::string& p, uid_t u, gid_t g) override { return gate("chown", [&] { return real_->chown(p, u, g); }); }
  Expected<void> chmod(const std::string& p, mode_t m) override { return gate("chmod", [&] { return real_->chmod(p, m); }); }
  Expected<std::optional<std::string>> get_caps(const std::string& p) override { return real_->get_caps(p); }
  Expected<void> set_caps(const std::string& p, const std::optional<std::string>& c) override {
    return gate("set_caps", [&] { return real_->set_caps(p, c); });
  }
  Expected<std::optional<std::string>> read_file(const std::string& p) override { return real_->read_file(p); }
  Expected<void> write_file(const std::string& p, const std::string& c, mode_t m) override {
    return gate("write_file " + p, [&] { return real_->write_file(p, c, m); });
  }
  Expected<std::optional<std::string>> read_link(const std::string& p) override { return real_->read_link(p); }
  Expected<void> make_symlink(const std::string& p, const std::string& t) override {
    return gate("symlink", [&] { return real_->make_symlink(p, t); });
  }
  Expected<void> remove_file(const std::string& p) override { return gate("remove_file", [&] { return real_->remove_file(p); }); }
  Expected<void> make_dir(const std::string& p, mode_t m) override { return gate("make_dir", [&] { return real_->make_dir(p, m); }); }
  Expected<void> remove_dir(const std::string& p) override { return gate("remove_dir", [&] { return real_->remove_dir(p); }); }
  Expected<std::optional<TracefsState>> tracefs() override { return real_->tracefs(); }
  Expected<void> remount_tracefs(const std::string& t, uid_t u, gid_t g, mode_t m) override {
    return gate("remount", [&] { return real_->remount_tracefs(t, u, g, m); });
  }
  Expected<std::vector<TracefsNode>> walk_tracefs(const std::string& t) override { return real_->walk_tracefs(t); }
  Expected<void> tracefs_chown(const std::string& p, gid_t g) override {
    return gate("tracefs_chown", [&] { return real_->tracefs_chown(p, g); });
  }
  Expected<void> tracefs_chmod(const std::string& p, mode_t m) override {
    return gate("tracefs_chmod", [&] { return real_->tracefs_chmod(p, m); });
  }
  Expected<std::optional<long>> read_sysctl(const std::string& k) override { return real_->read_sysctl(k); }
  Expected<void> write_sysctl(const std::string& k, long v) override { return gate("sysctl", [&] { return real_->write_sysctl(k, v); }); }
  ParanoidVerdict perf_event_blocked_by_paranoid(std::uint64_t c) override { return real_->perf_event_blocked_by_paranoid(c); }
  bool systemd_running() override { return real_->systemd_running(); }
  Expected<void> reload_systemd() override { return real_->reload_systemd(); }

 private:
  bool trip(const std::string& what) {
    if (++calls != fail_at_) return false;
    failed = what;
    return true;
  }
  template <class Op>
  Expected<void> gate(const std::string& what, Op op) {
    if (trip(what)) return SysError{EIO, "injected failure: " + what};
    return op();
  }
  std::unique_ptr<SetupSystem> real_;
  int fail_at_;
};

TEST_F(TracefsSetupSystem, FailureAtEachStepOfApplyRevertsCleanly) {
  const HostSnapshot before = snapshot();
  FailingSystem counter(0);
  const auto full = run_apply(counter, options(true));
  ASSERT_EQ(full.exit_code, 0) << full.text;
  const int total = counter.calls;
  ASSERT_EQ(run_revert(*make_live_system("/")).exit_code, 0);
  expect_same(before, snapshot(), "after the uninjected run");
  ASSERT_GT(total, 10);

  for (int step = 1; step <= total; ++step) {
    FailingSystem system(step);
    const auto outcome = run_apply(system, options(true));
    EXPECT_EQ(outcome.exit_code, 2) << "step " << step;
    EXPECT_TRUE(outcome.text.find("the system is as it was") != std::string::npos ||
                outcome.text.find("Nothing was changed") != std::string::npos)
        << "step " << step << " (" << system.failed << "):\n" << outcome.text;
    expect_same(before, snapshot(), "failure at step " + std::to_string(step) + " (" + system.failed + ")");
    if (::testing::Test::HasFailure()) break;
  }
}

TEST_F(TracefsSetupSystem, FilesystemWithoutXattrsRollsBack) {
  const std::string ramfs = dir_ + "/ramfs";
  ASSERT_EQ(::mkdir(ramfs.c_str(), 0755), 0);
  ASSERT_EQ(::mount("none", ramfs.c_str(), "ramfs", 0, "mode=0755"), 0) << std::strerror(errno);
  const std::string binary = ramfs + "/tool";
  fs::copy_file("/bin/true", binary);
  ::chmod(binary.c_str(), 0755);
  const HostSnapshot before = snapshot();
  const std::string meta_before = describe_path(binary);
  const ToolRun apply = shell(kTool + " apply --group " + group_ + " --user " + user_ + " --binary " + binary);
  EXPECT_EQ(apply.exit_code, 2) << apply.output;
  EXPECT_NE(apply.output.find("extended attributes"), std::string::npos) << apply.output;
  EXPECT_NE(apply.output.find("the system is as it was"), std::string::npos) << apply.output;
  expect_same(before, snapshot(), "after the failed apply");
  EXPECT_EQ(describe_path(binary), meta_before);
  ::umount2(ramfs.c_str(), MNT_DETACH);
}

TEST_F(TracefsSetupSystem, MissingUserOrBinaryChangesNothing) {
  const HostSnapshot before = snapshot();
  ToolRun apply = shell(kTool + " apply --group " + group_ + " --user bpfr_ts_nosuchuser --binary " + binary_);
  EXPECT_EQ(apply.exit_code, 2);
  EXPECT_NE(apply.output.find("does not exist"), std::string::npos) << apply.output;
  apply = shell(kTool + " apply --group " + group_ + " --binary " + dir_ + "/missing");
  EXPECT_EQ(apply.exit_code, 2);
  EXPECT_NE(apply.output.find("does not exist"), std::string::npos) << apply.output;
  expect_same(before, snapshot(), "after refused applies");
}

TEST_F(TracefsSetupSystem, RefusesClearlyWhenNotRoot) {
  const pid_t child = ::fork();
  if (child == 0) {
    const int out = ::open((dir_ + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDERR_FILENO);
    ::dup2(out, STDOUT_FILENO);
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(99);
    ::execl(kTool.c_str(), kTool.c_str(), "apply", "--binary", "/bin/true", static_cast<char*>(nullptr));
    ::_exit(98);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(slurp(dir_ + "/out").find("must run as root"), std::string::npos) << slurp(dir_ + "/out");
}

// A mistyped command is named as one, not reported as a missing command.
TEST(TracefsSetupCommandLine, UnknownCommandAndStrayArgumentsAreNamed) {
  const auto bogus = shell(kTool + " bogus");
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_EQ(bogus.output, "tracefs-setup: unknown command 'bogus' (one of plan, apply, status, revert; see --help)\n");
  const auto none = shell(kTool);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.output, "tracefs-setup: a command is required (one of plan, apply, status, revert; see --help)\n");
  const auto stray = shell(kTool + " plan stray");
  EXPECT_EQ(stray.exit_code, 2);
  EXPECT_EQ(stray.output, "tracefs-setup: unexpected argument 'stray' (see --help)\n");
}

// plan and status only read: an ordinary user may run them.
TEST_F(TracefsSetupSystem, PlanAndStatusWorkForAnyUser) {
  for (const char* action : {"plan", "status"}) {
    SCOPED_TRACE(action);
    const auto run = shell("setpriv --reuid=65534 --regid=65534 --clear-groups " + kTool + " " + action +
                           (std::string(action) == "plan" ? " --binary /bin/true" : ""));
    EXPECT_EQ(run.output.find("must run as root"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(std::string("tracefs-setup ") + action), std::string::npos) << run.output;
    EXPECT_NE(run.exit_code, 2) << run.output;
  }
}

TEST_F(TracefsSetupSystem, SystemdAnalyzeVerifiesTheUnits) {
  if (shell("command -v systemd-analyze").exit_code != 0) GTEST_SKIP() << "systemd-analyze is not installed";
  const std::string units = dir_ + "/units";
  for (const auto& [source, label] : {std::pair{std::string("generated"), group_},
                                      std::pair{std::string("shipped"), std::string("bpfready")}}) {
    fs::remove_all(units);
    fs::create_directories(units + "/sys-kernel-tracing.mount.d");
    fs::copy_file("/lib/systemd/system/sys-kernel-tracing.mount", units + "/sys-kernel-tracing.mount");
    if (source == "generated") {
      std::ofstream(units + "/sys-kernel-tracing.mount.d/bpfready.conf") << mount_dropin_text(label);
      std::ofstream(units + "/bpfready-tracefs.service") << tracefs_unit_text(label);
    } else {
      const std::string shipped = std::string(BPFREADY_SOURCE_DIR) + "/systemd";
      fs::copy_file(shipped + "/sys-kernel-tracing.mount.d/bpfready.conf", units + "/sys-kernel-tracing.mount.d/bpfready.conf");
      fs::copy_file(shipped + "/bpfready-tracefs.service", units + "/bpfready-tracefs.service");
    }
    const std::string analyze = "SYSTEMD_UNIT_PATH=" + units + ": systemd-analyze verify ";
    std::string both = analyze;
    both += units + "/bpfready-tracefs.service ";
    both += units + "/sys-kernel-tracing.mount";
    const ToolRun verify = shell(both);
    EXPECT_EQ(verify.exit_code, 0) << source << ": " << verify.output;
    EXPECT_EQ(verify.output, "") << source;
    // verify reads drop-ins from this unit path: a bad key next to ours is reported.
    std::ofstream(units + "/sys-kernel-tracing.mount.d/zz-probe.conf") << "[Mount]\nBpfreadyBogusKey=1\n";
    const ToolRun probe = shell(analyze + units + "/sys-kernel-tracing.mount");
    EXPECT_NE(probe.output.find("BpfreadyBogusKey"), std::string::npos) << probe.output;
  }
}

TEST_F(TracefsSetupSystem, PackagingHooksApplyRevertAndNeverFail) {
  const HostSnapshot before = snapshot();
  const std::string defaults = dir_ + "/defaults";
  std::ofstream(defaults) << "BPFREADY_GROUP=" << group_ << "\nBPFREADY_USERS=\"" << user_
                          << " bpfr_ts_nosuchuser\"\nBPFREADY_BINARIES=\"" << binary_ << " " << dir_ << "/missing\"\n";
  fs::create_directories(dir_ + "/nobin");
  // Outside dpkg the consent comes from BPFREADY_NONROOT_PROFILING (under dpkg, from debconf).
  const std::string env = "BPFREADY_NONROOT_PROFILING=yes BPFREADY_DEFAULTS=" + defaults +
                          " BPFREADY_SBIN=" + BPFREADY_BINARY_DIR + "/tools/tracefs-setup BPFREADY_BIN=" + dir_ +
                          "/nobin ";
  const std::string hooks = std::string(BPFREADY_SOURCE_DIR) + "/packaging/debian/";
  ToolRun postinst = shell(env + "sh " + hooks + "postinst configure");
  EXPECT_EQ(postinst.exit_code, 0) << postinst.output;
  EXPECT_EQ(file_caps(binary_), "cap_perfmon,cap_bpf=ep") << postinst.output;
  EXPECT_NE(postinst.output.find("bpfr_ts_nosuchuser does not exist"), std::string::npos) << postinst.output;
  // Upgrade: prerm does nothing, postinst again changes nothing.
  EXPECT_EQ(shell(env + "sh " + hooks + "prerm upgrade 0.2").exit_code, 0);
  postinst = shell(env + "sh " + hooks + "postinst configure 0.1");
  EXPECT_NE(postinst.output.find("no changes"), std::string::npos) << postinst.output;
  const ToolRun prerm = shell(env + "sh " + hooks + "prerm remove");
  EXPECT_EQ(prerm.exit_code, 0) << prerm.output;
  expect_same(before, snapshot(), "after postinst + prerm remove");

  // A failing apply (an invalid group name) does not fail the installation.
  std::ofstream(defaults) << "BPFREADY_GROUP='Not A Group'\nBPFREADY_BINARIES=" << binary_ << "\n";
  postinst = shell(env + "sh " + hooks + "postinst configure");
  EXPECT_EQ(postinst.exit_code, 0) << postinst.output;
  EXPECT_NE(postinst.output.find("tracefs-setup apply failed"), std::string::npos) << postinst.output;
  expect_same(before, snapshot(), "after a failed postinst");
}

// The binary with --root: a path that climbs out of the image, a journal
// acting on the running host, a FIFO journal, a damaged account file and an
// empty --root each get one line and exit 2; the host file is untouched.
TEST(TracefsSetupRoot, NothingOutsideTheRootIsTouched) {
  BPFREADY_REQUIRE_ROOT();
  std::string image = "/tmp/bpfr_ts_img.XXXXXX";
  std::string host = "/tmp/bpfr_ts_host.XXXXXX";
  ASSERT_NE(::mkdtemp(image.data()), nullptr);
  ASSERT_NE(::mkdtemp(host.data()), nullptr);
  const std::string victim = host + "/victim";
  std::ofstream(victim) << "host\n";
  const std::string victim_before = describe_path(victim) + " caps " + file_caps(victim);
  fs::create_directories(image + "/etc");
  fs::create_directories(image + "/var/lib/bpfready");
  std::ofstream(image + "/etc/group") << "root:x:0:\nbpfready:x:4242:\n";
  std::ofstream(image + "/etc/passwd") << "alice:x:abc:1000::/:/bin/sh\n";
  const std::string journal = image + "/var/lib/bpfready/tracefs-setup.json";
  auto write_journal = [&](const nlohmann::json& entry) {
    std::ofstream(journal) << nlohmann::json{{"schema", 1}, {"entries", {entry}}}.dump();
  };
  const std::string tool = kTool + " --root " + image;
  const std::string out = "/../../../.." + victim;
  std::vector<std::pair<std::string, std::string>> runs;  // command, expected part of its one line
  runs.emplace_back(tool + " apply --binary " + out, "'..' above /");
  runs.emplace_back(tool + " plan --user alice", image + "/etc/passwd line 1");
  runs.emplace_back(kTool + " --root '' status", "--root");
  for (const auto& [command, expected] : runs) {
    const ToolRun run = shell(command);
    EXPECT_EQ(run.exit_code, 2) << command << "\n" << run.output;
    EXPECT_NE(run.output.find(expected), std::string::npos) << command << "\n" << run.output;
    EXPECT_EQ(run.output.find("internal error"), std::string::npos) << run.output;
    if (command.find("''") != std::string::npos) {
      EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
    }
  }
  write_journal({{"kind", "binary"}, {"target", out}, {"after", nlohmann::json::object()},
                 {"before", {{"uid", 0}, {"gid", 4242}, {"mode", 06755}, {"caps", "cap_net_raw=ep"}}}});
  ToolRun run = shell(tool + " revert");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("is damaged"), std::string::npos) << run.output;
  write_journal({{"kind", "sysctl"}, {"target", "kernel.perf_event_paranoid"}, {"before", {{"value", 3}}},
                 {"after", {{"value", 2}}}});
  const std::string paranoid = slurp("/proc/sys/kernel/perf_event_paranoid");
  run = shell(tool + " revert");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("acts on the running host"), std::string::npos) << run.output;
  if (slurp("/proc/sys/kernel/perf_event_paranoid") != paranoid) {
    ADD_FAILURE() << "revert under --root wrote the host's perf_event_paranoid";
    std::ofstream("/proc/sys/kernel/perf_event_paranoid") << paranoid;
  }
  fs::remove(journal);
  ASSERT_EQ(::mkfifo(journal.c_str(), 0600), 0);
  run = shell("timeout 20 " + tool + " status");
  EXPECT_EQ(run.exit_code, 2) << "124: hung on a FIFO\n" << run.output;
  EXPECT_NE(run.output.find("not a regular file"), std::string::npos) << run.output;
  EXPECT_EQ(describe_path(victim) + " caps " + file_caps(victim), victim_before);
  fs::remove_all(image);
  fs::remove_all(host);
}

}  // namespace
}  // namespace bpfready
