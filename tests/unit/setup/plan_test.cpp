// tracefs-setup's pure parts: which tracefs nodes change, capability text,
// the shipped unit files, the journal format, file writes under a root, and
// what the whole tool refuses before it acts.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "tools/tracefs-setup/app.h"
#include "tools/tracefs-setup/apply.h"
#include "tools/tracefs-setup/journal.h"
#include "tools/tracefs-setup/plan.h"
#include "tools/tracefs-setup/system.h"

namespace bpfready {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TracefsNode node(const std::string& path, mode_t mode, gid_t gid) { return {path, FileMeta{mode, 0, gid}}; }

TEST(SetupTracefsNodes, GidReachedEverything_OnlyGroupWriteIsRemoved) {
  const std::string t = "/sys/kernel/tracing";
  const gid_t g = 995;
  const std::vector<TracefsNode> nodes = {
      node(t, S_IFDIR | 0750, g),
      node(t + "/trace", S_IFREG | 0640, g),
      node(t + "/trace_marker", S_IFREG | 0220, g),
      node(t + "/free_buffer", S_IFREG | 0200, g),
      node(t + "/events", S_IFDIR | 0755, g),
      node(t + "/events/raw_syscalls/sys_enter/id", S_IFREG | 0440, g),
      node(t + "/events/raw_syscalls/sys_enter/enable", S_IFREG | 0640, g),
  };
  const auto changes = tracefs_node_changes(t, nodes, g);
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].path, t + "/trace_marker");
  EXPECT_EQ(changes[0].mode, 0200U);
  EXPECT_EQ(changes[0].gid, g);
}

TEST(SetupTracefsNodes, GidDidNotReachEvents_IdsBecomeGroupReadable) {
  const std::string t = "/sys/kernel/tracing";
  const gid_t g = 995;
  const std::vector<TracefsNode> nodes = {
      node(t + "/events/raw_syscalls", S_IFDIR | 0750, 0),        // no search for others: give it to the group
      node(t + "/events/raw_syscalls/sys_enter/id", S_IFREG | 0400, 0),
      node(t + "/events/raw_syscalls/sys_enter/enable", S_IFREG | 0660, 0),  // root's group write stays root's
      node(t + "/instances/x/events/foo/id", S_IFREG | 0440, 0),  // instances are not needed for attach
  };
  const auto changes = tracefs_node_changes(t, nodes, g);
  ASSERT_EQ(changes.size(), 2U);
  EXPECT_EQ(changes[0].path, t + "/events/raw_syscalls");
  EXPECT_EQ(changes[0].gid, g);
  EXPECT_EQ(changes[0].mode, 0750U);
  EXPECT_EQ(changes[1].path, t + "/events/raw_syscalls/sys_enter/id");
  EXPECT_EQ(changes[1].gid, g);
  EXPECT_EQ(changes[1].mode, 0440U);
}

TEST(SetupCaps, CanonicalTextAndErrors) {
  auto text = binary_caps_text("cap_bpf,cap_perfmon");
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "cap_perfmon,cap_bpf=ep");
  EXPECT_EQ(*binary_caps_text("CAP_PERFMON CAP_BPF"), "cap_perfmon,cap_bpf=ep");
  EXPECT_FALSE(binary_caps_text("cap_bpf,cap_nonsense"));
  EXPECT_FALSE(binary_caps_text(""));
}

// The files in systemd/ are what tracefs-setup writes for the default group.
TEST(SetupUnits, ShippedFilesMatchWhatApplyWrites) {
  const fs::path source = BPFREADY_SOURCE_DIR;
  EXPECT_EQ(slurp(source / "systemd/sys-kernel-tracing.mount.d/bpfready.conf"), mount_dropin_text("bpfready"));
  EXPECT_EQ(slurp(source / "systemd/bpfready-tracefs.service"), tracefs_unit_text("bpfready"));
}

TEST(SetupUnits, NeverGrantWriteOrTouchDebugfs) {
  for (const auto& text : {mount_dropin_text("g1"), tracefs_unit_text("g1")}) {
    EXPECT_EQ(text.find("chmod g+w"), std::string::npos) << text;
    EXPECT_EQ(text.find("chmod -R"), std::string::npos) << text;
    EXPECT_EQ(text.find("rwx"), std::string::npos) << text;
    EXPECT_EQ(text.find("debug"), std::string::npos) << text;
  }
  EXPECT_NE(mount_dropin_text("g1").find("Options=nosuid,nodev,noexec,gid=g1,mode=0750"), std::string::npos);
  EXPECT_NE(sysctl_file_text().find("kernel.perf_event_paranoid = 2\n"), std::string::npos);
}

TEST(SetupJournal, RoundTripsAndRejectsGarbage) {
  Journal journal;
  journal.created_dirs = {"/var/lib/bpfready"};
  journal.entries.push_back({ChangeKind::binary, "/usr/bin/x", {{"uid", 0}, {"caps", nullptr}},
                             {{"caps", "cap_bpf=ep"}}, "make x", true});
  journal.entries.push_back({ChangeKind::tracefs_nodes, "/sys/kernel/tracing", {{"nodes", nlohmann::json::array()}},
                             {}, "nodes", false});
  auto back = journal_from_json(to_json(journal));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->entries.size(), 2U);
  EXPECT_EQ(back->entries[0].kind, ChangeKind::binary);
  EXPECT_TRUE(back->entries[0].done);
  EXPECT_FALSE(back->entries[1].done);
  EXPECT_EQ(back->entries[0].before, journal.entries[0].before);
  EXPECT_EQ(back->created_dirs, journal.created_dirs);
  EXPECT_FALSE(journal_from_json({{"schema", 99}, {"entries", nlohmann::json::array()}}));
  EXPECT_FALSE(journal_from_json({{"schema", 1}, {"entries", {{{"kind", "nope"}}}}}));
}

class SetupRootFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "bpfr_ts_unit.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "etc");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(SetupRootFiles, WritesReadsLinksAndRemovesUnderTheRoot) {
  auto system = make_live_system(root_.string());
  EXPECT_FALSE(system->live());
  ASSERT_TRUE(system->write_file("/etc/a.conf", "one\n", 0640));
  EXPECT_EQ(slurp(root_ / "etc/a.conf"), "one\n");
  EXPECT_EQ(fs::status(root_ / "etc/a.conf").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  ASSERT_TRUE(system->write_file("/etc/a.conf", "two\n", 0644));  // replaced atomically
  EXPECT_EQ(**system->read_file("/etc/a.conf"), "two\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(root_ / "etc"), fs::directory_iterator()), 1);  // no temp left

  EXPECT_FALSE(*system->read_file("/etc/missing"));
  EXPECT_FALSE(*system->stat("/etc/missing/deeper"));

  ASSERT_TRUE(system->make_dir("/etc/d", 0755));
  ASSERT_TRUE(system->make_symlink("/etc/d/link", "/etc/a.conf"));
  EXPECT_EQ(**system->read_link("/etc/d/link"), "/etc/a.conf");
  EXPECT_TRUE(S_ISLNK((*system->stat("/etc/d/link"))->mode));
  const auto not_empty = system->remove_dir("/etc/d");
  ASSERT_FALSE(not_empty);
  EXPECT_EQ(not_empty.error().errnum, ENOTEMPTY);
  ASSERT_TRUE(system->remove_file("/etc/d/link"));
  ASSERT_TRUE(system->remove_file("/etc/d/link"));  // already gone is fine
  ASSERT_TRUE(system->remove_dir("/etc/d"));
  EXPECT_FALSE(fs::exists(root_ / "etc/d"));

  // Not the live host: no tracefs, no systemd.
  auto tracefs = system->tracefs();
  ASSERT_TRUE(tracefs);
  EXPECT_FALSE(*tracefs);
  EXPECT_FALSE(system->systemd_running());
}

TEST_F(SetupRootFiles, AccountsComeFromTheRootsFiles) {
  std::ofstream(root_ / "etc/group") << "root:x:0:\nbpfready:x:990:alice,bob\n";
  std::ofstream(root_ / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  auto system = make_live_system(root_.string());
  auto group = system->find_group("bpfready");
  ASSERT_TRUE(group && *group);
  EXPECT_EQ((*group)->gid, 990U);
  EXPECT_EQ((*group)->members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_FALSE(*system->find_group("nogroup"));
  auto user = system->find_user("alice");
  ASSERT_TRUE(user && *user);
  EXPECT_EQ((*user)->uid, 1000U);
  EXPECT_FALSE(*system->find_user("carol"));
}

// The whole tool on an image root: nothing live is touched and no host lock is taken.
TEST_F(SetupRootFiles, ToolRefusesWhatItCannotDoBeforeActing) {
  auto run = [](const SetupCommand& command) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = run_tracefs_setup(command, out, err);
    return std::tuple{code, out.str(), err.str()};
  };
  SetupCommand command;
  command.action = SetupAction::status;
  command.root = (root_ / "missing").string();
  if (::geteuid() != 0) {
    const auto [code, out, err] = run(command);
    EXPECT_EQ(code, kExitFailure);
    EXPECT_NE(err.find("must run as root"), std::string::npos) << err;
    EXPECT_NE(err.find("sudo tracefs-setup status"), std::string::npos) << err;
    GTEST_SKIP() << "the rest needs root";
  }
  auto [code, out, err] = run(command);
  EXPECT_EQ(code, kExitFailure);
  EXPECT_NE(err.find("--root " + command.root + " is not a directory"), std::string::npos) << err;

  command.root = root_.string();
  std::tie(code, out, err) = run(command);
  EXPECT_EQ(code, kExitDrift);
  EXPECT_NE(out.find("nothing applied (no journal at " + root_.string() + "/var/lib/bpfready/tracefs-setup.json)"),
            std::string::npos) << out;

  command.action = SetupAction::plan;
  command.options.binaries = {"usr/bin/tool"};
  std::tie(code, out, err) = run(command);
  EXPECT_EQ(code, kExitFailure);
  EXPECT_NE(err.find("give binaries as absolute paths inside the image: usr/bin/tool"), std::string::npos) << err;
  EXPECT_TRUE(out.empty()) << out;
  EXPECT_EQ(std::distance(fs::directory_iterator(root_), fs::directory_iterator()), 1);  // only etc/
}

TEST(SetupCommand, RunsWithoutShellAndReportsOutput) {
  EXPECT_TRUE(run_command({"true"}));
  const auto failed = run_command({"sh", "-c", "echo complaint >&2; exit 3"});
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("exited with 3: complaint"), std::string::npos) << failed.error().message;
  const auto missing = run_command({"/nonexistent/program"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("could not be run"), std::string::npos);
}

TEST(SetupModeText, FourOctalDigits) {
  EXPECT_EQ(mode_text(0750), "0750");
  EXPECT_EQ(mode_text(S_IFREG | 04755), "4755");
}

}  // namespace
}  // namespace bpfready
