// syscount's privilege separation, proven with a real unprivileged user:
// with only cap_bpf,cap_perfmon on a copy of the binary (and tracefs at its
// default 0700), it counts a command that runs with no capability and with
// the user's uid, gid and groups; syscount itself holds no capability once
// attached, and opens a user-named path only after dropping them. Root's
// command stays root with all of root's capabilities (under sudo too), and
// -u USER runs it as USER.
#include <grp.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "libcheck/common/creds.h"
#include "support/syscount.h"
#include "tools/syscount/privs.h"

using namespace syscount_test;
namespace fs = std::filesystem;

namespace {

// "Name:\tvalue..." lines of a /proc/PID/status text.
std::map<std::string, std::string> status_fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    fields[line.substr(0, colon)] = value;
  }
  return fields;
}

void expect_no_capabilities(const std::map<std::string, std::string>& status, const std::string& who) {
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"}) {
    ASSERT_TRUE(status.contains(set)) << who << ": no " << set;
    EXPECT_EQ(status.at(set), "0000000000000000") << who << " holds capabilities in " << set;
  }
}

class SyscountPrivilege : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    std::random_device random;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%06x", random() & 0xffffff);
    user_ = std::string("bpfr_sc_") + suffix;
    extra_group_ = std::string("bpfr_scg_") + suffix;
    run({"groupadd", extra_group_}, true);
    run({"useradd", "--no-create-home", "--shell", "/bin/sh", "--user-group", "--groups",
         extra_group_, user_},
        true);
    if (const passwd* entry = getpwnam(user_.c_str())) {
      uid_ = entry->pw_uid;
      gid_ = entry->pw_gid;
    }
    if (const group* entry = getgrnam(extra_group_.c_str())) extra_gid_ = entry->gr_gid;

    char pattern[] = "/tmp/bpfr_sc_XXXXXX";
    dir_ = mkdtemp(pattern);
    chmod(dir_.c_str(), 0755);
    fs::copy_file(syscount_path(), dir_ + "/syscount");
    fs::copy_file(syscount_path(), dir_ + "/syscount-nocaps");
    chmod((dir_ + "/syscount").c_str(), 0755);
    chmod((dir_ + "/syscount-nocaps").c_str(), 0755);
    setcap_status_ = run({"setcap", "cap_bpf,cap_perfmon=ep", dir_ + "/syscount"}, true).status;
    out_dir_ = dir_ + "/out";
    fs::create_directory(out_dir_);
    chown(out_dir_.c_str(), uid_, gid_);

    // Raw tracepoints need no tracefs; prove it with tracefs present and at
    // its default mode (mounted here when it is not, as a host would have it).
    if (!fs::exists("/sys/kernel/tracing/events")) {
      mounted_tracefs_ = mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0;
    }
  }

  static void TearDownTestSuite() {
    if (geteuid() != 0) return;
    if (!user_.empty()) run({"userdel", user_}, true);
    if (!extra_group_.empty()) run({"groupdel", extra_group_}, true);
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
    if (mounted_tracefs_) umount("/sys/kernel/tracing");  // leave the host as it was
  }

  void SetUp() override {
    SYSCOUNT_REQUIRE_ROOT();
    ASSERT_NE(uid_, 0u) << "test user " << user_ << " was not created";
    ASSERT_EQ(setcap_status_, 0) << "setcap failed";
    before_ = syscount_program_ids();
  }

  void TearDown() override {
    if (IsSkipped()) return;
    EXPECT_TRUE(leaked_since(before_).empty()) << "a syscount BPF program is still loaded";
  }

  // Runs ARGV as the test user (with their groups), like a login would.
  static RunResult run_as_user(const std::vector<std::string>& argv) {
    return run(argv, false, [] {
      gid_t groups[] = {gid_, extra_gid_};
      if (setgroups(2, groups) != 0 || setgid(gid_) != 0 || setuid(uid_) != 0) _exit(125);
      unsetenv("SUDO_UID");
      unsetenv("SUDO_GID");
    });
  }

  // Runs ARGV as root, as `sudo` run by the test user would.
  static RunResult run_as_sudo(const std::vector<std::string>& argv) {
    return run(argv, false, [] {
      setenv("SUDO_UID", std::to_string(uid_).c_str(), 1);
      setenv("SUDO_GID", std::to_string(gid_).c_str(), 1);
      setenv("SUDO_USER", user_.c_str(), 1);
    });
  }

  void expect_is_the_user(const std::map<std::string, std::string>& status) {
    const std::string uid = std::to_string(uid_);
    const std::string gid = std::to_string(gid_);
    EXPECT_EQ(status.at("Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
    EXPECT_EQ(status.at("Gid"), gid + "\t" + gid + "\t" + gid + "\t" + gid);
    EXPECT_NE((" " + status.at("Groups") + " ").find(" " + std::to_string(extra_gid_) + " "),
              std::string::npos)
        << "supplementary group missing: " << status.at("Groups");
  }

  static inline std::string user_, extra_group_, dir_, out_dir_;
  static inline bool mounted_tracefs_ = false;
  static inline uid_t uid_ = 0;
  static inline gid_t gid_ = 0, extra_gid_ = 0;
  static inline int setcap_status_ = -1;
  std::set<std::uint64_t> before_;
};

TEST_F(SyscountPrivilege, UserWithFileCapsCountsACommandThatHoldsNoCapability) {
  // tracefs stays closed to the user; raw tracepoints do not need it.
  struct stat tracefs {};
  if (stat("/sys/kernel/tracing", &tracefs) == 0 && (tracefs.st_mode & 07777) == 0700) {
    auto peek = run_as_user({"/bin/ls", "/sys/kernel/tracing/events"});
    EXPECT_NE(peek.status, 0) << "tracefs at 0700 should be closed to " << user_;
  } else {
    RecordProperty("tracefs_mode", "not the default 0700 on this host");
  }
  // Both variants of the programs need the same two capabilities.
  for (const std::string flavour : {"tp_btf", "raw_tp"}) {
    std::string report = out_dir_ + "/user-";
    report += flavour + ".json";
    auto result = run_as_user({dir_ + "/syscount", "--flavour", flavour, "--json", "--errors", "-o",
                               report, "--", "/bin/cat", "/proc/self/status"});
    ASSERT_EQ(result.status, 0) << flavour << ": " << result.err;
    auto status = status_fields(result.out);
    expect_no_capabilities(status, "the command");
    expect_is_the_user(status);

    struct stat meta {};
    ASSERT_EQ(stat(report.c_str(), &meta), 0);
    EXPECT_EQ(meta.st_uid, uid_) << "-o is created as the user";
    auto doc = nlohmann::json::parse(slurp(report), nullptr, false);
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(doc["programs"], flavour);
    auto counts = counts_from_json(doc);
    EXPECT_EQ(counts["execve"].count, 1u) << flavour;
    EXPECT_EQ(counts["exit_group"].count, 1u) << flavour;
    EXPECT_GE(counts["read"].count, 1u) << flavour;
    EXPECT_GE(counts["write"].count, 1u) << flavour;
    EXPECT_EQ(doc["exit_status"], 0);
  }
}

TEST_F(SyscountPrivilege, SyscountHoldsNoCapabilityAfterAttaching) {
  // The command's parent is syscount: read its status while it traces.
  auto result = run_as_user({dir_ + "/syscount", "-o", out_dir_ + "/parent.txt", "--", "/bin/sh",
                             "-c", "cat /proc/$PPID/status"});
  ASSERT_EQ(result.status, 0) << result.err;
  auto status = status_fields(result.out);
  EXPECT_EQ(status["Name"], "syscount");
  expect_no_capabilities(status, "syscount after attaching");
}

TEST_F(SyscountPrivilege, WithoutCapabilitiesItSaysWhyAndHowToFix) {
  auto result = run_as_user({dir_ + "/syscount-nocaps", "--", "/bin/true"});
  EXPECT_EQ(result.status, 2);
  EXPECT_LE(line_count(result.err), 2u) << result.err;
  EXPECT_NE(result.err.find("CAP_BPF"), std::string::npos) << result.err;
  // The fix: tracefs-setup makes this very binary group-only with the capabilities.
  EXPECT_NE(result.err.find("fix: sudo tracefs-setup apply --user \"$USER\" --binary " + dir_ + "/syscount-nocaps"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("setcap"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("libbpf"), std::string::npos) << "no raw libbpf output: " << result.err;
}

// The same status lines of a command run by root directly and through syscount.
void expect_same_credentials(const std::map<std::string, std::string>& direct,
                             const std::map<std::string, std::string>& traced) {
  for (const char* field : {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd",
                            "CapAmb", "NoNewPrivs"}) {
    ASSERT_TRUE(traced.contains(field)) << field;
    EXPECT_EQ(traced.at(field), direct.at(field)) << field << " differs under syscount";
  }
}

// Root's command stays root: today's root shell and syscount give it the same
// ids and capabilities (root's full set; it used to get none at all).
TEST_F(SyscountPrivilege, RootsCommandKeepsRootsCapabilities) {
  const auto direct = status_fields(run({"/bin/cat", "/proc/self/status"}).out);
  auto result = run({syscount_path(), "-o", "/dev/null", "--", "/bin/cat", "/proc/self/status"});
  ASSERT_EQ(result.status, 0) << result.err;
  const auto traced = status_fields(result.out);
  expect_same_credentials(direct, traced);
  EXPECT_NE(traced.at("CapEff"), "0000000000000000");

  auto grep = run({syscount_path(), "-o", "/dev/null", "--", "sh", "-c",
                   "grep CapEff /proc/self/status"});
  EXPECT_EQ(grep.out, "CapEff:\t" + direct.at("CapEff") + "\n");
}

// `ls` of another user's 0700 directory needs root's CAP_DAC_READ_SEARCH.
TEST_F(SyscountPrivilege, RootsCommandReadsAnotherUsersPrivateDirectory) {
  const std::string secret = out_dir_ + "/private";
  ASSERT_EQ(mkdir(secret.c_str(), 0700), 0);
  ASSERT_EQ(chown(secret.c_str(), uid_, gid_), 0);
  auto result = run({syscount_path(), "-o", "/dev/null", "--", "ls", secret});
  EXPECT_EQ(result.status, 0) << result.err;
  // With -u, the command is the user: their directory, but not root's.
  auto as_user = run({syscount_path(), "-o", "/dev/null", "-u", user_, "--", "ls", secret});
  EXPECT_EQ(as_user.status, 0) << as_user.err;
  auto roots = run({syscount_path(), "-o", "/dev/null", "-u", user_, "--", "ls", "/root"});
  EXPECT_NE(roots.status, 0) << "the command ran as root: " << roots.out;
}

TEST_F(SyscountPrivilege, UnderSudoTheCommandRunsAsRootLikeAnySudoedCommand) {
  const std::string report = out_dir_ + "/sudo.json";
  const auto direct = status_fields(run_as_sudo({"/bin/cat", "/proc/self/status"}).out);
  auto result = run_as_sudo(
      {syscount_path(), "--json", "-o", report, "--", "/bin/cat", "/proc/self/status"});
  ASSERT_EQ(result.status, 0) << result.err;
  expect_same_credentials(direct, status_fields(result.out));
  struct stat meta {};
  ASSERT_EQ(stat(report.c_str(), &meta), 0);
  EXPECT_EQ(meta.st_uid, 0u) << "sudo's -o is root's, as with any sudo'd program";
}

// strace's -u: root runs the command as another user, with that user's
// groups and no capability; nobody else may.
TEST_F(SyscountPrivilege, RootRunsTheCommandAsAnotherUserWithDashU) {
  for (const std::string& who : {user_, std::to_string(uid_)}) {
    auto result = run({syscount_path(), "-o", "/dev/null", "-u", who, "--", "/bin/cat",
                       "/proc/self/status"});
    ASSERT_EQ(result.status, 0) << result.err;
    auto status = status_fields(result.out);
    expect_no_capabilities(status, "the command run with -u");
    expect_is_the_user(status);
  }
  auto refused = run_as_user({dir_ + "/syscount", "-u", "root", "--", "/bin/true"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_EQ(line_count(refused.err), 1u) << refused.err;
  EXPECT_NE(refused.err.find("-u/--user needs root"), std::string::npos) << refused.err;
  auto unknown = run({syscount_path(), "-u", "bpfr-no-such-user", "--", "/bin/true"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("no user bpfr-no-such-user"), std::string::npos) << unknown.err;
}

// No no_new_privs: a setuid program in the user's command does what it does
// without syscount, and still gets nothing of syscount's file capabilities.
TEST_F(SyscountPrivilege, SetuidProgramsInTheUsersCommandWorkAsWithoutSyscount) {
  const std::string id = dir_ + "/id-setuid";
  fs::copy_file("/usr/bin/id", id);
  ASSERT_EQ(chmod(id.c_str(), 04755), 0);
  const auto direct = run_as_user({id, "-u"});
  if (direct.out != "0\n") GTEST_SKIP() << "setuid has no effect here (nosuid mount?)";
  auto traced = run_as_user({dir_ + "/syscount", "-o", out_dir_ + "/setuid.txt", "--", id, "-u"});
  EXPECT_EQ(traced.status, 0) << traced.err;
  EXPECT_EQ(traced.out, direct.out);
  auto status = run_as_user({dir_ + "/syscount", "-o", out_dir_ + "/nnp.txt", "--", "/bin/cat",
                             "/proc/self/status"});
  EXPECT_EQ(status_fields(status.out)["NoNewPrivs"], "0");
  expect_no_capabilities(status_fields(status.out), "the command");
}

// A user's -o path is opened only once syscount's file capabilities are gone
// (strace -u runs the copy as the user, its file capabilities honoured).
// -o is opened with the invoker's rights, after syscount dropped its own
// capabilities: a copy that also carries CAP_DAC_OVERRIDE (an admin's
// mistake) still cannot write where the user may not. Proven without
// ptrace, so it holds under the sanitizers too (LeakSanitizer cannot run
// under strace).
TEST_F(SyscountPrivilege, UserNamedPathIsOpenedOnlyAfterDroppingPrivileges) {
  const std::string copy = dir_ + "/syscount-dac";
  const std::string closed = dir_ + "/root-only";
  std::error_code ignored;
  fs::copy_file(syscount_path(), copy, fs::copy_options::overwrite_existing, ignored);
  chmod(copy.c_str(), 0755);
  ASSERT_EQ(run({"setcap", "cap_bpf,cap_perfmon,cap_dac_override=ep", copy}, true).status, 0);
  fs::create_directory(closed, ignored);
  chmod(closed.c_str(), 0700);
  const std::string report = closed + "/report.json";
  auto refused = run_as_user({copy, "--json", "-o", report, "--", "/bin/true"});
  EXPECT_NE(refused.status, 0) << refused.err;
  EXPECT_NE(refused.err.find("cannot write " + report), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(report)) << "opened with CAP_DAC_OVERRIDE still held";

  // Where the user may write, the file is the user's.
  const std::string allowed = out_dir_ + "/traced.json";
  auto written = run_as_user({copy, "--json", "-o", allowed, "--", "/bin/true"});
  ASSERT_EQ(written.status, 0) << written.err;
  struct stat meta {};
  ASSERT_EQ(stat(allowed.c_str(), &meta), 0);
  EXPECT_EQ(meta.st_uid, uid_);
}

// Where the kernel gates map reads (before 5.19 with
// kernel.unprivileged_bpf_disabled set), syscount keeps CAP_BPF permitted
// and raises it around its reads. Proven here on any kernel, as sudo would
// run it: after the drop the capability is only permitted; raised, a bpf()
// command that needs it works; lowered again, it is refused.
TEST_F(SyscountPrivilege, CapabilityKeptForReadsIsRaisedOnlyAroundThem) {
  const bool gated = slurp("/proc/sys/kernel/unprivileged_bpf_disabled").rfind('0', 0) != 0;
  const pid_t child = fork();
  if (child == 0) {
    auto map_create = [] {
      const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, nullptr, 4, 4, 1, nullptr);
      if (fd >= 0) close(fd);
      return fd >= 0;
    };
    // As sudo's root would become the user, keeping its permitted set.
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || !bpfready::switch_ids(uid_, gid_, {gid_}) ||
        !bpfready::drop_own_capabilities({CAP_BPF})) {
      _exit(10);
    }
    const auto dropped = bpfready::current_capabilities();
    if (dropped.permitted != (std::uint64_t{1} << CAP_BPF) || dropped.effective != 0 ||
        dropped.inheritable != 0 || dropped.ambient != 0 || getuid() != uid_) {
      _exit(11);
    }
    if (gated && map_create()) _exit(12);
    {
      const bpfready::RaisedCapability raised(CAP_BPF);
      if (!raised.raised() || !map_create()) _exit(13);
    }
    if (bpfready::current_capabilities().effective != 0) _exit(14);
    if (gated && map_create()) _exit(15);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: drop failed, 11: more than CAP_BPF permitted, 12/15: bpf() worked without the raise, "
         "13: raise failed, 14: raise not undone";
}

}  // namespace
