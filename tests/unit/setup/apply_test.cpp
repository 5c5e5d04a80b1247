// tracefs-setup's plan/apply/status/revert over an in-memory host: accounts,
// files, file capabilities, a tracefs that behaves as measured on 6.18
// (gid= reaches every node), sysctls, and a switch that makes the Nth
// change fail. No privileges needed.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "tools/tracefs-setup/apply.h"
#include "tools/tracefs-setup/journal.h"

namespace bpfready {
namespace {

using nlohmann::json;

struct FakeFile {
  FileMeta meta;
  std::string content;
  std::string link;
  std::optional<std::string> caps;
};

class FakeSystem final : public SetupSystem {
 public:
  FakeSystem() {
    groups["root"] = {"root", 0, {}};
    groups["adm"] = {"adm", 4, {"syslog"}};
    users["root"] = {"root", 0, 0};
    users["alice"] = {"alice", 1000, 1000};
    users["bob"] = {"bob", 1001, 1001};
    for (const char* dir : {"/etc", "/etc/systemd", "/etc/systemd/system", "/usr", "/usr/bin", "/var", "/var/lib"}) {
      files[dir] = {{S_IFDIR | 0755, 0, 0}, "", "", std::nullopt};
    }
    files["/usr/bin/syscount"] = {{S_IFREG | 0755, 0, 0}, "ELF", "", std::nullopt};
    files["/usr/bin/other"] = {{S_IFREG | 04755, 1000, 1000}, "ELF", "", std::string("cap_sys_admin=ep")};
    tracefs_state = TracefsState{"/sys/kernel/tracing", "rw", 0, 0, 0700};
    const std::string t = "/sys/kernel/tracing";
    nodes[t] = {S_IFDIR | 0700, 0, 0};
    nodes[t + "/trace"] = {S_IFREG | 0640, 0, 0};
    nodes[t + "/trace_marker"] = {S_IFREG | 0220, 0, 0};
    nodes[t + "/trace_marker_raw"] = {S_IFREG | 0220, 0, 0};
    nodes[t + "/events"] = {S_IFDIR | 0755, 0, 0};
    nodes[t + "/events/raw_syscalls"] = {S_IFDIR | 0755, 0, 0};
    nodes[t + "/events/raw_syscalls/sys_enter"] = {S_IFDIR | 0755, 0, 0};
    nodes[t + "/events/raw_syscalls/sys_enter/id"] = {S_IFREG | 0440, 0, 0};
    nodes[t + "/events/raw_syscalls/sys_enter/enable"] = {S_IFREG | 0640, 0, 0};
    sysctls["kernel.perf_event_paranoid"] = 2;
  }

  // Everything a test compares before and after.
  [[nodiscard]] json state() const {
    json out;
    for (const auto& [name, group] : groups) out["groups"][name] = {group.gid, group.members};
    for (const auto& [path, file] : files) {
      out["files"][path] = {file.meta.mode, file.meta.uid, file.meta.gid, file.content, file.link,
                            file.caps ? *file.caps : "-"};
    }
    for (const auto& [path, meta] : nodes) out["tracefs"][path] = {meta.mode, meta.gid};
    if (tracefs_state) out["mount"] = {tracefs_state->uid, tracefs_state->gid, tracefs_state->mode};
    out["sysctls"] = sysctls;
    return out;
  }

  // Failure injection: the Nth mutating call (1-based) fails; also ops by name.
  int fail_at = 0;
  int second_fail_at = 0;
  int mutations = 0;
  std::set<std::string> failing_ops;
  std::vector<std::string> log;

  bool is_live = true;
  bool systemd = false;
  ParanoidVerdict paranoid{false, 2, "perf_event_paranoid is 2"};
  std::map<std::string, GroupRecord> groups;
  std::map<std::string, UserRecord> users;
  std::map<std::string, FakeFile> files;
  std::optional<TracefsState> tracefs_state;
  std::map<std::string, FileMeta> nodes;
  std::map<std::string, long> sysctls;

  [[nodiscard]] bool live() const override { return is_live; }
  [[nodiscard]] std::string root_dir() const override { return "/"; }

  Expected<std::optional<GroupRecord>> find_group(const std::string& name) override {
    auto it = groups.find(name);
    if (it == groups.end()) return std::optional<GroupRecord>{};
    return std::optional<GroupRecord>{it->second};
  }
  Expected<std::optional<UserRecord>> find_user(const std::string& name) override {
    auto it = users.find(name);
    if (it == users.end()) return std::optional<UserRecord>{};
    return std::optional<UserRecord>{it->second};
  }
  Expected<gid_t> create_group(const std::string& name) override {
    if (auto s = mutate("create_group " + name); !s) return s.error();
    gid_t gid = 990;
    while (std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return g.second.gid == gid; })) --gid;
    groups[name] = {name, gid, {}};
    return gid;
  }
  Expected<void> delete_group(const std::string& name) override {
    if (auto s = mutate("delete_group " + name); !s) return s;
    groups.erase(name);
    return Ok{};
  }
  Expected<void> add_member(const std::string& user, const std::string& group) override {
    if (auto s = mutate("add_member " + user); !s) return s;
    groups.at(group).members.push_back(user);
    return Ok{};
  }
  Expected<void> remove_member(const std::string& user, const std::string& group) override {
    if (auto s = mutate("remove_member " + user); !s) return s;
    auto& members = groups.at(group).members;
    members.erase(std::remove(members.begin(), members.end(), user), members.end());
    return Ok{};
  }

  Expected<std::optional<FileMeta>> stat(const std::string& path) override {
    if (auto it = files.find(path); it != files.end()) return std::optional<FileMeta>{it->second.meta};
    if (auto it = nodes.find(path); it != nodes.end()) return std::optional<FileMeta>{it->second};
    return std::optional<FileMeta>{};
  }
  Expected<void> chown(const std::string& path, uid_t uid, gid_t gid) override {
    if (auto s = mutate("chown " + path); !s) return s;
    auto& file = files.at(path);
    if (file.meta.uid != uid || file.meta.gid != gid) {
      file.caps.reset();  // as the kernel does
      file.meta.mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
    }
    file.meta.uid = uid;
    file.meta.gid = gid;
    return Ok{};
  }
  Expected<void> chmod(const std::string& path, mode_t mode) override {
    if (auto s = mutate("chmod " + path); !s) return s;
    auto& meta = files.at(path).meta;
    meta.mode = (meta.mode & S_IFMT) | mode;
    return Ok{};
  }
  Expected<std::optional<std::string>> get_caps(const std::string& path) override { return files.at(path).caps; }
  Expected<void> set_caps(const std::string& path, const std::optional<std::string>& caps) override {
    // Like libcap on a filesystem without xattrs: setting fails, removing has nothing to remove.
    if (auto s = mutate((caps ? "set_caps " : "remove_caps ") + path); !s) return s;
    files.at(path).caps = caps;
    return Ok{};
  }
  Expected<std::optional<std::string>> read_file(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end() || !S_ISREG(it->second.meta.mode)) return std::optional<std::string>{};
    return std::optional<std::string>{it->second.content};
  }
  Expected<void> write_file(const std::string& path, const std::string& content, mode_t mode) override {
    if (auto s = mutate("write_file " + path); !s) return s;
    if (!files.count(parent(path))) return SysError{ENOENT, "write " + path + ": no parent"};
    files[path] = {{S_IFREG | mode, 0, 0}, content, "", std::nullopt};
    return Ok{};
  }
  Expected<std::optional<std::string>> read_link(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end() || !S_ISLNK(it->second.meta.mode)) return std::optional<std::string>{};
    return std::optional<std::string>{it->second.link};
  }
  Expected<void> make_symlink(const std::string& path, const std::string& target) override {
    if (auto s = mutate("symlink " + path); !s) return s;
    if (files.count(path)) return SysError{EEXIST, "symlink " + path};
    files[path] = {{S_IFLNK | 0777, 0, 0}, "", target, std::nullopt};
    return Ok{};
  }
  Expected<void> remove_file(const std::string& path) override {
    if (auto s = mutate("remove_file " + path); !s) return s;
    files.erase(path);
    return Ok{};
  }
  Expected<void> make_dir(const std::string& path, mode_t mode) override {
    if (auto s = mutate("make_dir " + path); !s) return s;
    if (files.count(path)) return SysError{EEXIST, "mkdir " + path};
    files[path] = {{S_IFDIR | mode, 0, 0}, "", "", std::nullopt};
    return Ok{};
  }
  Expected<void> remove_dir(const std::string& path) override {
    if (auto s = mutate("remove_dir " + path); !s) return s;
    for (const auto& [other, file] : files) {
      if (other.rfind(path + "/", 0) == 0) return SysError{ENOTEMPTY, "rmdir " + path};
    }
    files.erase(path);
    return Ok{};
  }

  Expected<std::optional<TracefsState>> tracefs() override {
    if (!is_live) return std::optional<TracefsState>{};
    return tracefs_state;
  }
  Expected<void> remount_tracefs(const std::string& /*target*/, uid_t uid, gid_t gid, mode_t mode) override {
    if (auto s = mutate("remount"); !s) return s;
    tracefs_state->uid = uid;
    tracefs_state->gid = gid;
    tracefs_state->mode = mode;
    for (auto& [path, meta] : nodes) meta.gid = gid;  // measured: gid= reaches every node
    auto& root = nodes.at(tracefs_state->target);
    root.mode = S_IFDIR | mode;
    return Ok{};
  }
  Expected<std::vector<TracefsNode>> walk_tracefs(const std::string& /*target*/) override {
    std::vector<TracefsNode> out;
    for (const auto& [path, meta] : nodes) out.push_back({path, meta});
    return out;
  }
  Expected<void> tracefs_chown(const std::string& path, gid_t gid) override {
    if (auto s = mutate("tracefs_chown " + path); !s) return s;
    nodes.at(path).gid = gid;
    return Ok{};
  }
  Expected<void> tracefs_chmod(const std::string& path, mode_t mode) override {
    if (auto s = mutate("tracefs_chmod " + path); !s) return s;
    auto& meta = nodes.at(path);
    meta.mode = (meta.mode & S_IFMT) | mode;
    return Ok{};
  }
  Expected<std::optional<long>> read_sysctl(const std::string& key) override {
    auto it = sysctls.find(key);
    if (it == sysctls.end()) return std::optional<long>{};
    return std::optional<long>{it->second};
  }
  Expected<void> write_sysctl(const std::string& key, long value) override {
    if (auto s = mutate("sysctl " + key); !s) return s;
    sysctls[key] = value;
    return Ok{};
  }
  ParanoidVerdict perf_event_blocked_by_paranoid(std::uint64_t /*caps*/) override { return paranoid; }
  bool systemd_running() override { return systemd; }
  Expected<void> reload_systemd() override {
    log.emplace_back("daemon-reload");
    return Ok{};
  }

 private:
  static std::string parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

  Expected<void> mutate(const std::string& what) {
    ++mutations;
    log.push_back(what);
    const std::string op = what.substr(0, what.find(' '));
    if (mutations == fail_at || mutations == second_fail_at || failing_ops.count(op) != 0) {
      return SysError{EIO, "injected failure: " + what};
    }
    return Ok{};
  }
};

SetupOptions basic_options() {
  SetupOptions options;
  options.group = "bpfready";
  options.users = {"alice"};
  options.binaries = {"/usr/bin/syscount"};
  return options;
}

SetupOptions tracefs_options() {
  SetupOptions options = basic_options();
  options.users = {"alice", "bob"};
  options.binaries = {"/usr/bin/syscount", "/usr/bin/other"};
  options.tracefs_read = true;
  return options;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Reverts; the host must then be exactly as BEFORE.
void expect_reverted_to(FakeSystem& system, const json& before) {
  const auto outcome = run_revert(system);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_EQ(system.state(), before);
}

TEST(SetupPlan, ChangesNothingAndExplainsEveryChange) {
  FakeSystem system;
  const json before = system.state();
  const auto outcome = run_plan(system, basic_options());
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(system.state(), before);
  EXPECT_EQ(system.mutations, 0);
  EXPECT_TRUE(contains(outcome.text, "groupadd --system bpfready")) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "gpasswd -a alice bpfready"));
  EXPECT_TRUE(contains(outcome.text, "chown root:bpfready /usr/bin/syscount && chmod 0750 /usr/bin/syscount && "
                                     "setcap cap_perfmon,cap_bpf=ep /usr/bin/syscount"));
  EXPECT_TRUE(contains(outcome.text, "why:"));
  EXPECT_TRUE(contains(outcome.text, "tracefs is left as it is"));
  EXPECT_FALSE(contains(outcome.text, "mount -o remount"));
}

TEST(SetupPlan, RefusesMissingUserAndBinaryWithoutChanging) {
  FakeSystem system;
  const json before = system.state();
  SetupOptions options = basic_options();
  options.users.push_back("nosuchuser");
  auto outcome = run_apply(system, options);
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_TRUE(contains(outcome.text, "user 'nosuchuser' does not exist")) << outcome.text;
  EXPECT_EQ(system.state(), before);

  options = basic_options();
  options.binaries.emplace_back("/usr/bin/missing");
  outcome = run_apply(system, options);
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_TRUE(contains(outcome.text, "binary /usr/bin/missing does not exist")) << outcome.text;
  EXPECT_EQ(system.state(), before);

  options = basic_options();
  options.group = "Bad Group";
  EXPECT_EQ(run_apply(system, options).exit_code, 2);
  options = basic_options();
  options.caps = "cap_nonsense";
  EXPECT_EQ(run_apply(system, options).exit_code, 2);
  EXPECT_EQ(system.mutations, 0);
}

TEST(SetupApply, AppliesOnceThenSaysNoChangesAndRevertsExactly) {
  FakeSystem system;
  const json before = system.state();
  auto outcome = run_apply(system, basic_options());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  ASSERT_TRUE(system.groups.count("bpfready"));
  const gid_t gid = system.groups["bpfready"].gid;
  EXPECT_EQ(system.groups["bpfready"].members, std::vector<std::string>{"alice"});
  const auto& binary = system.files["/usr/bin/syscount"];
  EXPECT_EQ(binary.meta.uid, 0U);
  EXPECT_EQ(binary.meta.gid, gid);
  EXPECT_EQ(binary.meta.mode & 07777, 0750U);
  EXPECT_EQ(binary.caps, std::optional<std::string>("cap_perfmon,cap_bpf=ep"));
  // Without --tracefs-read tracefs is untouched.
  EXPECT_EQ(system.nodes["/sys/kernel/tracing"].mode & 07777, 0700U);
  EXPECT_EQ(system.tracefs_state->gid, 0U);
  EXPECT_FALSE(system.files.count(std::string(kMountDropIn)));
  EXPECT_TRUE(system.files.count(std::string(kJournalPath)));

  const int mutations = system.mutations;
  outcome = run_apply(system, basic_options());
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_TRUE(contains(outcome.text, "no changes")) << outcome.text;
  EXPECT_EQ(system.mutations, mutations);

  outcome = run_status(system);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.text;

  outcome = run_revert(system);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_EQ(system.state(), before);
  EXPECT_EQ(run_status(system).exit_code, 1);
  EXPECT_EQ(run_revert(system).exit_code, 0);  // nothing to revert is fine
}

TEST(SetupApply, TracefsReadGivesGroupReadAndNoWrite) {
  FakeSystem system;
  const json before = system.state();
  auto outcome = run_apply(system, tracefs_options());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  const gid_t gid = system.groups["bpfready"].gid;
  EXPECT_EQ(system.tracefs_state->gid, gid);
  EXPECT_EQ(system.tracefs_state->mode, 0750U);
  for (const auto& [path, meta] : system.nodes) {
    EXPECT_EQ(meta.gid, gid) << path;
    EXPECT_EQ(meta.mode & S_IWGRP, 0U) << path << " is group-writable";
  }
  EXPECT_EQ(system.nodes["/sys/kernel/tracing/trace_marker"].mode & 07777, 0200U);
  EXPECT_EQ(system.nodes["/sys/kernel/tracing/events/raw_syscalls/sys_enter/id"].mode & 07777, 0440U);
  EXPECT_EQ(system.files[std::string(kMountDropIn)].content, mount_dropin_text("bpfready"));
  EXPECT_EQ(system.files[std::string(kTracefsUnit)].content, tracefs_unit_text("bpfready"));
  EXPECT_EQ(system.files[std::string(kTracefsUnitLink)].link, std::string(kTracefsUnit));
  // The other binary lost its setuid bit and cap_sys_admin: exactly the tool's caps.
  EXPECT_EQ(system.files["/usr/bin/other"].meta.mode & 07777, 0750U);
  EXPECT_EQ(system.files["/usr/bin/other"].caps, std::optional<std::string>("cap_perfmon,cap_bpf=ep"));
  EXPECT_EQ(system.sysctls["kernel.perf_event_paranoid"], 2);
  EXPECT_TRUE(contains(outcome.text, "PID 1 is not systemd")) << outcome.text;

  outcome = run_apply(system, tracefs_options());
  EXPECT_TRUE(contains(outcome.text, "no changes")) << outcome.text;
  EXPECT_EQ(run_status(system).exit_code, 0);

  ASSERT_NO_FATAL_FAILURE(expect_reverted_to(system, before));
}

TEST(SetupApply, ReloadsSystemdOnlyWhenItRunsAndUnitsChanged) {
  FakeSystem system;
  system.systemd = true;
  ASSERT_EQ(run_apply(system, basic_options()).exit_code, 0);
  EXPECT_EQ(std::count(system.log.begin(), system.log.end(), "daemon-reload"), 0);
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  EXPECT_EQ(std::count(system.log.begin(), system.log.end(), "daemon-reload"), 1);
}

TEST(SetupApply, ExistingGroupAndMembershipAreKeptByRevert) {
  FakeSystem system;
  system.groups["bpfready"] = {"bpfready", 777, {"alice"}};
  const json before = system.state();
  auto outcome = run_apply(system, basic_options());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_FALSE(contains(outcome.text, "groupadd"));
  EXPECT_EQ(system.files["/usr/bin/syscount"].meta.gid, 777U);
  ASSERT_NO_FATAL_FAILURE(expect_reverted_to(system, before));
  EXPECT_TRUE(system.groups.count("bpfready"));
}

TEST(SetupApply, SecondApplyWithMoreOptionsStacksAndRevertsBoth) {
  FakeSystem system;
  const json before = system.state();
  ASSERT_EQ(run_apply(system, basic_options()).exit_code, 0);
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(expect_reverted_to(system, before));
}

// Every mutation apply makes (journal writes included) fails once in turn;
// each time the host must end exactly as before, with no journal left.
TEST(SetupApply, FailureAtEveryStepRollsBackCompletely) {
  for (const bool tracefs : {false, true}) {
    FakeSystem probe;
    ASSERT_EQ(run_apply(probe, tracefs ? tracefs_options() : basic_options()).exit_code, 0);
    const int total = probe.mutations;
    ASSERT_GT(total, 5);
    for (int step = 1; step <= total; ++step) {
      FakeSystem system;
      const json before = system.state();
      system.fail_at = step;
      const auto outcome = run_apply(system, tracefs ? tracefs_options() : basic_options());
      EXPECT_EQ(outcome.exit_code, 2) << "step " << step;
      EXPECT_TRUE(contains(outcome.text, "injected failure")) << outcome.text;
      EXPECT_TRUE(contains(outcome.text, "the system is as it was") || contains(outcome.text, "Nothing was changed"))
          << "step " << step << "\n" << outcome.text;
      EXPECT_EQ(system.state(), before) << "step " << step << " (" << system.log[static_cast<std::size_t>(step - 1)]
                                        << ")\n" << outcome.text;
    }
  }
}

// A failure while rolling back leaves a journal that revert can finish.
TEST(SetupApply, IncompleteRollbackLeavesAJournalThatRevertFinishes) {
  FakeSystem probe;
  ASSERT_EQ(run_apply(probe, tracefs_options()).exit_code, 0);
  const int total = probe.mutations;
  int incomplete = 0;
  for (int step = 4; step <= total; step += 3) {
    FakeSystem system;
    const json before = system.state();
    system.fail_at = step;
    system.second_fail_at = step + 1;  // the first undo fails too
    const auto outcome = run_apply(system, tracefs_options());
    EXPECT_EQ(outcome.exit_code, 2);
    system.fail_at = system.second_fail_at = 0;
    if (contains(outcome.text, "Rollback was incomplete")) {
      ++incomplete;
      EXPECT_TRUE(system.files.count(std::string(kJournalPath))) << outcome.text;
      const auto revert = run_revert(system);
      EXPECT_EQ(revert.exit_code, 0) << revert.text;
    }
    EXPECT_EQ(system.state(), before) << "step " << step << "\n" << outcome.text;
  }
  EXPECT_GT(incomplete, 0);
}

TEST(SetupApply, FilesystemWithoutXattrsFailsClearlyAndRollsBack) {
  FakeSystem system;
  const json before = system.state();
  system.failing_ops = {"set_caps"};
  const auto outcome = run_apply(system, basic_options());
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_TRUE(contains(outcome.text, "FAILED")) << outcome.text;
  system.failing_ops.clear();
  EXPECT_EQ(system.state(), before);
}

TEST(SetupApply, TracefsNotMountedWritesUnitsOnly) {
  FakeSystem system;
  system.tracefs_state.reset();
  system.nodes.clear();
  const json before = system.state();
  const auto outcome = run_apply(system, tracefs_options());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "tracefs is not mounted")) << outcome.text;
  EXPECT_TRUE(system.files.count(std::string(kMountDropIn)));
  ASSERT_NO_FATAL_FAILURE(expect_reverted_to(system, before));
}

TEST(SetupApply, ParanoidChangesOnlyWhenProvenBlockingAndOnlyTo2) {
  FakeSystem system;
  system.sysctls["kernel.perf_event_paranoid"] = 3;
  // Not proven (mainline semantics): left alone.
  system.paranoid = {false, 3, "works at 3 (mainline semantics)"};
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  EXPECT_EQ(system.sysctls["kernel.perf_event_paranoid"], 3);
  EXPECT_FALSE(system.files.count(std::string(kSysctlFile)));
  ASSERT_EQ(run_revert(system).exit_code, 0);

  // Without --tracefs-read it is never looked at.
  system.paranoid = {true, 4, "EACCES at 4"};
  system.sysctls["kernel.perf_event_paranoid"] = 4;
  ASSERT_EQ(run_apply(system, basic_options()).exit_code, 0);
  EXPECT_EQ(system.sysctls["kernel.perf_event_paranoid"], 4);
  ASSERT_EQ(run_revert(system).exit_code, 0);

  const json before = system.state();
  const auto outcome = run_apply(system, tracefs_options());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_EQ(system.sysctls["kernel.perf_event_paranoid"], 2);
  EXPECT_EQ(system.files[std::string(kSysctlFile)].content, sysctl_file_text());
  EXPECT_TRUE(contains(outcome.text, "set kernel.perf_event_paranoid to 2 now (was 4)")) << outcome.text;
  ASSERT_NO_FATAL_FAILURE(expect_reverted_to(system, before));
  EXPECT_EQ(system.sysctls["kernel.perf_event_paranoid"], 4);
}

TEST(SetupApply, NeverTouchesUnprivilegedBpfOrKptrRestrict) {
  FakeSystem system;
  system.sysctls["kernel.unprivileged_bpf_disabled"] = 2;
  system.sysctls["kernel.kptr_restrict"] = 1;
  system.paranoid = {true, 3, "EACCES at 3"};
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  EXPECT_EQ(system.sysctls["kernel.unprivileged_bpf_disabled"], 2);
  EXPECT_EQ(system.sysctls["kernel.kptr_restrict"], 1);
  for (const auto& entry : system.log) {
    EXPECT_FALSE(contains(entry, "unprivileged_bpf") || contains(entry, "kptr")) << entry;
  }
}

TEST(SetupStatus, ReportsDrift) {
  FakeSystem system;
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  system.files["/usr/bin/syscount"].caps.reset();  // e.g. a package upgrade replaced the file
  system.nodes["/sys/kernel/tracing/trace_marker"].mode = S_IFREG | 0220;
  const auto outcome = run_status(system);
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_TRUE(contains(outcome.text, "DRIFTED  make /usr/bin/syscount")) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "capabilities none")) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "trace_marker is")) << outcome.text;
  // apply again repairs it; revert still restores the very first state.
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  EXPECT_EQ(run_status(system).exit_code, 0) << run_status(system).text;
}

TEST(SetupRevert, BinaryRemovedSinceApplyDoesNotBlockTheRest) {
  FakeSystem system;
  const json before = system.state();
  ASSERT_EQ(run_apply(system, basic_options()).exit_code, 0);
  system.files.erase("/usr/bin/syscount");  // e.g. the package was purged
  const auto outcome = run_revert(system);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_FALSE(system.groups.count("bpfready")) << "the group must still be reverted";
  EXPECT_FALSE(system.files.count(std::string(kJournalPath))) << "the journal must not stay stuck";
  json expected = before;
  expected["files"].erase("/usr/bin/syscount");
  EXPECT_EQ(system.state(), expected);
}

TEST(SetupRevert, PendingEntryFromACrashIsRestored) {
  FakeSystem system;
  const json before = system.state();
  // Crash simulation: the change was made but the journal still says pending.
  ASSERT_EQ(run_apply(system, basic_options()).exit_code, 0);
  auto journal = load_journal(system);
  ASSERT_TRUE(journal && *journal);
  for (auto& entry : (*journal)->entries) entry.done = false;
  ASSERT_TRUE(save_journal(system, **journal));
  EXPECT_TRUE(contains(run_status(system).text, "partial"));
  ASSERT_NO_FATAL_FAILURE(expect_reverted_to(system, before));
}

TEST(SetupRevert, FailureKeepsTheRestInTheJournal) {
  FakeSystem system;
  const json before = system.state();
  ASSERT_EQ(run_apply(system, basic_options()).exit_code, 0);
  system.failing_ops = {"remove_member"};
  auto outcome = run_revert(system);
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_TRUE(contains(outcome.text, "FAILED   add user alice")) << outcome.text;
  auto journal = load_journal(system);
  ASSERT_TRUE(journal && *journal);
  EXPECT_EQ((*journal)->entries.size(), 1U);  // the membership; the group itself was removed
  system.failing_ops.clear();
  outcome = run_revert(system);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_EQ(system.state(), before);
}

TEST(SetupRevert, RootTreeWithoutLiveTracefsWritesFilesOnly) {
  FakeSystem system;
  system.is_live = false;
  const json before = system.state();
  const auto outcome = run_apply(system, tracefs_options());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_EQ(system.tracefs_state->gid, 0U);
  EXPECT_TRUE(system.files.count(std::string(kTracefsUnit)));
  ASSERT_NO_FATAL_FAILURE(expect_reverted_to(system, before));
}

}  // namespace
}  // namespace bpfready
