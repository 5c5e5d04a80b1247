// tracefs-setup's pure parts: which tracefs nodes change, capability text,
// the shipped unit files, the journal format, file writes under a root, and
// what the whole tool refuses before it acts.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "tools/tracefs-setup/app.h"
#include "tools/tracefs-setup/apply.h"
#include "tools/tracefs-setup/journal.h"
#include "tools/tracefs-setup/plan.h"
#include "tools/tracefs-setup/root_files.h"
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
    // A file of the running host, outside the root: nothing may touch it.
    pattern = (fs::temp_directory_path() / "bpfr_ts_host.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    host_ = pattern;
    victim_ = host_ / "victim";
    std::ofstream(victim_) << "host\n";
    fs::permissions(victim_, fs::perms(0644));
    victim_before_ = victim_state();
  }
  void TearDown() override {
    fs::remove_all(root_);
    fs::remove_all(host_);
  }
  // Owner, mode, content and capabilities of the host file.
  [[nodiscard]] std::string victim_state() const {
    struct stat st {};
    if (::lstat(victim_.c_str(), &st) != 0) return "absent";
    const CapSet caps(cap_get_file(victim_.c_str()));
    const CapText text(caps ? cap_to_text(caps.get(), nullptr) : nullptr);
    return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " + mode_text(st.st_mode) + " " +
           slurp(victim_) + " caps " + (text ? text.get() : "none");
  }
  // The host file's path written so that it climbs out of the root with "..".
  [[nodiscard]] std::string escaping(const fs::path& host_path) const {
    return "/../../../../../../../.." + host_path.string();
  }
  void write_journal(const nlohmann::json& entries) const {
    fs::create_directories(root_ / "var/lib/bpfready");
    std::ofstream(root_ / "var/lib/bpfready/tracefs-setup.json")
        << nlohmann::json{{"schema", 1}, {"entries", entries}}.dump();
  }
  fs::path root_;
  fs::path host_;
  fs::path victim_;
  std::string victim_before_;
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

TEST(SetupPaths, NormalisedOrRefused) {
  EXPECT_EQ(*normalize_path("/usr//bin/./x/"), "/usr/bin/x");
  EXPECT_EQ(*normalize_path("/usr/lib/../bin/x"), "/usr/bin/x");
  EXPECT_EQ(*normalize_path("/"), "/");
  for (const std::string& bad : std::vector<std::string>{"", "usr/bin/x", "/..", "/../../../tmp/x", "/usr/../../x", "/a/b/../../.."}) {
    const auto normal = normalize_path(bad);
    EXPECT_FALSE(normal) << bad;
  }
  EXPECT_NE(normalize_path("/../x").error().message.find("'..' above /"), std::string::npos);
  EXPECT_FALSE(normalize_path(std::string("/usr/bin/a\0b", 12)));
  EXPECT_TRUE(is_normal_path("/usr/bin/x"));
  EXPECT_FALSE(is_normal_path("/usr/bin/../x"));
  EXPECT_FALSE(is_normal_path("/usr/bin/x/"));
}

TEST(SetupAccounts, GroupAndPasswdRecordsParsePurely) {
  const std::string groups = "# comment\nroot:x:0:\nbad:x:zz:\nbpfready:x:990:alice,bob\nshort:x:7\n";
  auto group = parse_group_record(groups, "bpfready");
  ASSERT_TRUE(group && *group);
  EXPECT_EQ((*group)->gid, 990U);
  EXPECT_EQ((*group)->members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ((*parse_group_record(groups, "short"))->gid, 7U);
  EXPECT_FALSE(*parse_group_record(groups, "nogroup"));
  for (const auto& [text, line] : std::vector<std::pair<std::string, std::string>>{
           {"bpfready:x:abc:\n", "line 1"}, {"a:x:1:\nbpfready:x:99999999999999999999:\n", "line 2"},
           {"bpfready:x:-1:", "line 1"}, {"bpfready:x::", "line 1"}, {"bpfready:x:4294967295:", "line 1"},
           {"bpfready:x: 5:", "line 1"}, {"root:x:0:\nbpfready\n", "line 2"}}) {
    const auto parsed = parse_group_record(text, "bpfready");
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find(line), std::string::npos) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos) << parsed.error().message;
  }
  const std::string users = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1001::/home/alice:/bin/sh\n";
  auto user = parse_passwd_record(users, "alice");
  ASSERT_TRUE(user && *user);
  EXPECT_EQ((*user)->uid, 1000U);
  EXPECT_EQ((*user)->gid, 1001U);
  EXPECT_FALSE(*parse_passwd_record(users, "carol"));
  EXPECT_FALSE(parse_passwd_record("alice:x:x1:1000::/:/bin/sh\n", "alice"));
  EXPECT_FALSE(parse_passwd_record("root:x:0:0::/:/bin/sh\nalice:x:1000:1e9::/:/bin/sh\n", "alice"));
  EXPECT_FALSE(*parse_passwd_record(std::string("alice\0:x:1:1", 12), "alice"));
}

TEST(SetupTracefsOptions, ParsedWithoutThrowing) {
  auto state = parse_tracefs_options("/sys/kernel/tracing", "rw,nosuid,gid=995,mode=750");
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->gid, 995U);
  EXPECT_EQ(state->uid, 0U);
  EXPECT_EQ(state->mode, 0750U);
  EXPECT_EQ(parse_tracefs_options("/t", "rw")->mode, 0700U);
  for (const std::string& bad : std::vector<std::string>{"rw,mode=77777777777777777777777", "mode=8", "mode=17777", "uid=abc", "gid=",
                                "gid=99999999999"}) {
    EXPECT_FALSE(parse_tracefs_options("/t", bad)) << bad;
  }
}

// Whatever JSON a journal holds, journal_from_json answers with an error, never an exception.
TEST(SetupJournal, HostileValuesAreErrorsNotExceptions) {
  using nlohmann::json;
  const json binary = {{"kind", "binary"}, {"target", "/usr/bin/x"}, {"before", {{"mode", 0755}}}, {"after", json::object()}};
  auto with = [&](const std::string& pointer, const json& value) {
    json entry = binary;
    entry[json::json_pointer(pointer)] = value;
    return json{{"schema", 1}, {"entries", {entry}}};
  };
  json deep = json::array();
  for (int i = 0; i < 1000; ++i) deep = json::array({deep});
  const std::vector<json> hostile = {
      json(), json(5), json("text"), json::array(), json{{"schema", 1}}, json{{"schema", 1}, {"entries", 5}},
      json{{"schema", "1"}, {"entries", json::array()}}, json{{"schema", 1e300}, {"entries", json::array()}},
      json{{"schema", 1}, {"entries", {5}}}, json{{"schema", 1}, {"entries", {{{"kind", "binary"}}}}},
      json{{"schema", 1}, {"entries", json::array()}, {"created_dirs", {1}}},
      json{{"schema", 1}, {"entries", json::array()}, {"applies", deep}},
      with("/before/mode", "0755"), with("/before/mode", 1e30), with("/before/mode", 010000),
      with("/before/mode", -1), with("/before/uid", 1ULL << 32), with("/before/gid", 18446744073709551615ULL),
      with("/before/caps", 5), with("/before", json::array()), with("/target", "/usr/../../x"),
      with("/target", "usr/bin/x"), with("/kind", "tracefs_nodes"), with("/kind", "file"), with("/state", 1),
      with("/summary", json::object()), with("/after/group", "Bad Group"),
  };
  for (const auto& document : hostile) {
    EXPECT_NO_THROW({
      const auto journal = journal_from_json(document);
      EXPECT_FALSE(journal) << document.dump().substr(0, 200);
      if (!journal) {
        EXPECT_EQ(journal.error().message.find('\n'), std::string::npos) << journal.error().message;
      }
    });
  }
  EXPECT_TRUE(journal_from_json(with("/before/mode", 0755)));
}

TEST(SetupCommandLine, EmptyRootIsAUsageError) {
  SetupCommand command;
  command.action = SetupAction::status;
  command.root = "";
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_tracefs_setup(command, out, err), kExitFailure);
  EXPECT_TRUE(out.str().empty()) << out.str();
  const std::string error = err.str();
  EXPECT_NE(error.find("--root"), std::string::npos) << error;
  EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 1) << error;
}

TEST_F(SetupRootFiles, PathsThatLeaveTheRootAreRefused) {
  auto system = make_live_system(root_.string());
  const std::string out = escaping(victim_);
  const auto written = system->write_file(out, "owned\n", 0644);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("'..' above /"), std::string::npos) << written.error().message;
  EXPECT_FALSE(system->chmod(out, 06755));
  EXPECT_FALSE(system->chown(out, 0, 4242));
  EXPECT_FALSE(system->set_caps(out, std::string("cap_net_raw=ep")));
  EXPECT_FALSE(system->remove_file(out));
  EXPECT_FALSE(system->stat(out));
  EXPECT_FALSE(system->read_file(out));
  // Links inside the image that point out of it resolve inside it (or are refused).
  fs::create_directory_symlink(host_, root_ / "etc/out");
  fs::create_directory_symlink("../../../../../../../.." + host_.string(), root_ / "etc/up");
  for (const std::string& dir : {std::string("/etc/out"), std::string("/etc/up")}) {
    EXPECT_FALSE(system->write_file(dir + "/victim", "owned\n", 0644)) << dir;
    EXPECT_FALSE(system->chmod(dir + "/victim", 06755)) << dir;
    EXPECT_FALSE(system->set_caps(dir + "/victim", std::string("cap_net_raw=ep"))) << dir;
    EXPECT_FALSE(system->make_symlink(dir + "/new", "/x")) << dir;
    auto read = system->read_file(dir + "/victim");
    EXPECT_TRUE(!read || !*read) << dir;
  }
  EXPECT_EQ(victim_state(), victim_before_);
  EXPECT_FALSE(fs::exists(host_ / "new"));
  // Without openat2 a symbolic link anywhere on the way is refused.
  const RootFiles walk(root_.string(), Resolution::no_symlinks);
  const auto refused = walk.stat("/etc/out/victim");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("symbolic link"), std::string::npos) << refused.error().message;
  ASSERT_TRUE(walk.write_file("/etc/plain", "x\n", 0644));
  EXPECT_EQ(**walk.read_file("/etc/plain"), "x\n");
}

TEST_F(SetupRootFiles, LiveOnlyOperationsAreRefusedUnderARoot) {
  auto system = make_live_system(root_.string());
  EXPECT_FALSE(system->tracefs_chmod(victim_.string(), 0600));
  EXPECT_FALSE(system->tracefs_chown(victim_.string(), 4242));
  EXPECT_FALSE(system->walk_tracefs(host_.string()));
  EXPECT_FALSE(system->remount_tracefs("/nonexistent-bpfr-tracefs", 0, 0, 0700));
  EXPECT_FALSE(system->read_sysctl("kernel.perf_event_paranoid"));
  EXPECT_FALSE(system->write_sysctl("kernel.perf_event_paranoid", 2));
  EXPECT_FALSE(system->reload_systemd());
  EXPECT_FALSE(system->perf_event_blocked_by_paranoid(0).blocked);
  EXPECT_EQ(victim_state(), victim_before_);
}

// A journal under the root whose entries would act on the running host, or
// whose paths leave the root, is refused whole: nothing in the image or on
// the host changes, and the journal stays.
TEST_F(SetupRootFiles, HostileJournalIsRefusedWhole) {
  using nlohmann::json;
  fs::create_directories(root_ / "usr/bin");
  std::ofstream(root_ / "usr/bin/tool") << "ELF";
  fs::permissions(root_ / "usr/bin/tool", fs::perms(0755));
  const json undo_tool = {{"kind", "binary"}, {"target", "/usr/bin/tool"}, {"state", "done"},
                          {"before", {{"uid", ::geteuid()}, {"gid", ::getegid()}, {"mode", 0700}, {"caps", nullptr}}},
                          {"after", {{"uid", 0}, {"group", "bpfready"}, {"mode", 0750}, {"caps", "cap_bpf=ep"}}}};
  fs::create_directories(root_ / host_.relative_path());
  std::ofstream(root_ / victim_.relative_path()) << "image\n";
  const std::vector<std::pair<json, std::string>> journals = {
      {{{"kind", "tracefs_nodes"}, {"target", "/sys/kernel/tracing"},
        {"before", {{"nodes", {{{"path", victim_.string()}, {"mode", 0600}}}}}},
        {"after", {{"group", "bpfready"}, {"nodes", {{{"path", victim_.string()}, {"mode", 0644}}}}}}},
       "damaged"},
      {{{"kind", "tracefs_nodes"}, {"target", "/sys/kernel/tracing"},
        {"before", {{"nodes", {{{"path", "/sys/kernel/tracing/trace"}, {"mode", 0600}}}}}},
        {"after", {{"group", "bpfready"}, {"nodes", json::array()}}}},
       "acts on the running host"},
      {{{"kind", "sysctl"}, {"target", "kernel.perf_event_paranoid"}, {"before", {{"value", 2}}}, {"after", {{"value", 2}}}},
       "acts on the running host"},
      {{{"kind", "binary"}, {"target", escaping(victim_)},
        {"before", {{"uid", 0}, {"gid", 0}, {"mode", 06755}, {"caps", "cap_net_raw=ep"}}}, {"after", json::object()}},
       "damaged"},
      {{{"kind", "file"}, {"target", escaping(victim_)},
        {"before", {{"exists", true}, {"content", "owned\n"}, {"mode", 0644}, {"uid", 0}, {"gid", 0}}},
        {"after", {{"content", "x"}, {"mode", 0644}}}},
       "damaged"},
  };
  for (const auto& [entry, why] : journals) {
    write_journal({entry, undo_tool});
    auto system = make_live_system(root_.string());
    const auto outcome = run_revert(*system);
    EXPECT_EQ(outcome.exit_code, kExitFailure) << outcome.text;
    EXPECT_NE(outcome.text.find(why), std::string::npos) << outcome.text;
    EXPECT_EQ(fs::status(root_ / "usr/bin/tool").permissions(), fs::perms(0755)) << "half-reverted\n" << outcome.text;
    EXPECT_EQ(victim_state(), victim_before_) << outcome.text;
    EXPECT_TRUE(fs::exists(root_ / "var/lib/bpfready/tracefs-setup.json"));
  }
}

TEST_F(SetupRootFiles, ApplyRefusesABinaryOutsideTheRoot) {
  std::ofstream(root_ / "etc/group") << "root:x:0:\nbpfready:x:4242:\n";
  fs::create_directories(root_ / "usr");
  fs::create_directory_symlink(host_, root_ / "usr/bin");
  auto system = make_live_system(root_.string());
  SetupOptions options;
  for (const std::string& binary : {escaping(victim_), std::string("/usr/bin/victim")}) {
    options.binaries = {binary};
    const auto outcome = run_apply(*system, options);
    EXPECT_EQ(outcome.exit_code, kExitFailure) << outcome.text;
    EXPECT_NE(outcome.text.find("Nothing was changed"), std::string::npos) << outcome.text;
  }
  options.binaries = {escaping(victim_)};
  EXPECT_NE(run_plan(*system, options).text.find("'..' above /"), std::string::npos);
  EXPECT_EQ(victim_state(), victim_before_);
  EXPECT_FALSE(fs::exists(root_ / "var/lib/bpfready"));
}

// Under --root every shown command acts on the image, as apply does: none
// of them would change the running host if pasted.
TEST_F(SetupRootFiles, PlanCommandsActOnTheRoot) {
  std::ofstream(root_ / "etc/group") << "root:x:0:\n";
  std::ofstream(root_ / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  fs::create_directories(root_ / "usr/bin");
  std::ofstream(root_ / "usr/bin/syscount") << "ELF";
  auto system = make_live_system(root_.string());
  SetupOptions options;
  options.users = {"alice"};
  options.binaries = {"/usr/bin/syscount"};
  options.tracefs_read = true;
  const auto outcome = run_plan(*system, options);
  ASSERT_EQ(outcome.exit_code, kExitDone) << outcome.text;
  const std::string root = root_.string();
  for (const std::string& wanted :
       {"groupadd --root " + root + " --system bpfready", "gpasswd --root " + root + " -a alice bpfready",
        "chown root:bpfready " + root + "/usr/bin/syscount", "setcap cap_perfmon,cap_bpf=ep " + root + "/usr/bin/syscount",
        "install -D -m 0644 /dev/stdin " + root + "/etc/systemd/system/bpfready-tracefs.service",
        "ln -sfn /etc/systemd/system/bpfready-tracefs.service " + root +
            "/etc/systemd/system/sysinit.target.wants/bpfready-tracefs.service"}) {
    EXPECT_NE(outcome.text.find(wanted), std::string::npos) << wanted << "\n" << outcome.text;
  }
  EXPECT_EQ(outcome.text.find("groupadd --system"), std::string::npos) << outcome.text;

  // A binary missing from the image is named where it was looked for.
  options.binaries = {"/usr/bin/missing"};
  const auto missing = run_plan(*system, options);
  EXPECT_EQ(missing.exit_code, kExitFailure);
  EXPECT_NE(missing.text.find(root + "/usr/bin/missing"), std::string::npos) << missing.text;
}

// A FIFO, a directory or a huge file as the journal: an error, never a hang.
TEST_F(SetupRootFiles, JournalMustBeASmallRegularFile) {
  const fs::path journal = root_ / "var/lib/bpfready/tracefs-setup.json";
  fs::create_directories(journal.parent_path());
  ASSERT_EQ(::mkfifo(journal.c_str(), 0600), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(10);
    auto system = make_live_system(root_.string());
    const auto outcome = run_status(*system);
    ::_exit(outcome.exit_code == kExitFailure && outcome.text.find("not a regular file") != std::string::npos ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << " (14: hung on the FIFO)";
  fs::remove(journal);
  fs::create_directory(journal);
  auto system = make_live_system(root_.string());
  EXPECT_NE(run_revert(*system).text.find("not a regular file"), std::string::npos);
  fs::remove(journal);
  std::ofstream(journal).close();
  fs::resize_file(journal, (16U << 20U) + 1);
  const auto outcome = run_revert(*system);
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.text.find("larger than"), std::string::npos) << outcome.text;
}

TEST_F(SetupRootFiles, MalformedAccountFilesNameTheFileAndLine) {
  std::ofstream(root_ / "etc/group") << "root:x:0:\nbpfready:x:99999999999999999999:\n";
  std::ofstream(root_ / "etc/passwd") << "alice:x:abc:1000::/home/alice:/bin/sh\n";
  auto system = make_live_system(root_.string());
  const auto group = system->find_group("bpfready");
  ASSERT_FALSE(group);
  EXPECT_NE(group.error().message.find(root_.string() + "/etc/group line 2"), std::string::npos)
      << group.error().message;
  const auto user = system->find_user("alice");
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().message.find(root_.string() + "/etc/passwd line 1"), std::string::npos)
      << user.error().message;
}

}  // namespace
}  // namespace bpfready
