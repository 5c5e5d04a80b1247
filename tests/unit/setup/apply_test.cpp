// tracefs-setup's plan/apply/status/revert over an in-memory host: accounts,
// files, file capabilities, a tracefs that behaves as measured on 6.18
// (gid= reaches every node), sysctls, and a switch that makes the Nth
// change fail. No privileges needed.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "tools/tracefs-setup/apply.h"
#include "tools/tracefs-setup/journal.h"
#include "unit/setup/fake_system.h"

namespace bpfready {
namespace {

using nlohmann::json;
using testing_setup::FakeSystem;

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

// The enabling link is judged by what it points to: a link whose unit file
// was deleted enables nothing.
TEST(SetupStatus, LinkToADeletedUnitIsDrift) {
  FakeSystem system;
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  ASSERT_EQ(run_status(system).exit_code, 0);
  system.files.erase(std::string(kTracefsUnit));
  const auto outcome = run_status(system);
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_TRUE(contains(outcome.text, "DRIFTED  enable bpfready-tracefs.service")) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "points to " + std::string(kTracefsUnit) + ", which is gone")) << outcome.text;
}

// Capabilities beyond what raw-tracepoint tools need are near-root for the
// whole group: refused without --force, and named as such with it.
TEST(SetupPlan, CapsBeyondBpfAndPerfmonNeedForce) {
  FakeSystem system;
  SetupOptions options = basic_options();
  options.caps = "cap_bpf,cap_perfmon,cap_sys_admin";
  auto outcome = run_plan(system, options);
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_TRUE(contains(outcome.text, "cap_sys_admin")) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "--force")) << outcome.text;
  EXPECT_EQ(run_apply(system, options).exit_code, kExitFailure);
  EXPECT_EQ(system.mutations, 0);

  options.force = true;
  outcome = run_plan(system, options);
  EXPECT_EQ(outcome.exit_code, kExitDone) << outcome.text;
  EXPECT_FALSE(contains(outcome.text, "perf-security pattern")) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "near-root")) << outcome.text;

  // The default set, or a part of it, needs no --force.
  options = basic_options();
  options.caps = "cap_perfmon";
  EXPECT_EQ(run_plan(system, options).exit_code, kExitDone);
  EXPECT_TRUE(contains(run_plan(system, basic_options()).text, "perf-security pattern"));
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

// Every word of a printed command that comes from the host or the command
// line is one shell word, whatever it contains.
TEST(SetupPlan, CommandsQuoteEveryWordFromTheHost) {
  FakeSystem system;
  const std::string t = "/sys/kernel/my tracing";
  system.tracefs_state->target = t;
  std::map<std::string, FileMeta> nodes;
  for (const auto& [path, meta] : system.nodes) nodes[t + path.substr(std::string("/sys/kernel/tracing").size())] = meta;
  system.nodes = nodes;
  system.users["o'hara"] = {"o'hara", 1002, 1002};
  system.files["/usr/bin/my tool;id"] = {{S_IFREG | 0755, 0, 0}, "ELF", "", std::nullopt};
  SetupOptions options = basic_options();
  options.users = {"o'hara"};
  options.binaries = {"/usr/bin/my tool;id"};
  options.tracefs_read = true;
  const auto outcome = run_plan(system, options);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "gpasswd -a 'o'\\''hara' bpfready")) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "chown root:bpfready '/usr/bin/my tool;id' && chmod 0750 '/usr/bin/my tool;id' && "
                                     "setcap cap_perfmon,cap_bpf=ep '/usr/bin/my tool;id'"));
  EXPECT_TRUE(contains(outcome.text, "mount -o remount,gid=bpfready,mode=0750 '/sys/kernel/my tracing'"));
  EXPECT_TRUE(contains(outcome.text, "chmod 0200 '/sys/kernel/my tracing/trace_marker'"));
  // In the commands (the lines after "run:"), no such word is left bare.
  std::istringstream lines(outcome.text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("     ", 0) == 0) {
      EXPECT_FALSE(contains(line, " /sys/kernel/my tracing")) << line;
    }
  }
}

// A journal under --root that records sysctl or tracefs changes would act on
// the running host: refused whole, before anything is undone.
TEST(SetupRevert, JournalUnderARootNeverActsOnTheRunningHost) {
  FakeSystem system;
  system.paranoid = {true, 3, "EACCES at 3"};
  system.sysctls["kernel.perf_event_paranoid"] = 3;
  ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
  system.is_live = false;  // the same journal, found under an image root
  const json before = system.state();
  const int mutations = system.mutations;
  SetupOptions more = basic_options();
  more.users = {"root"};  // not yet a member: apply has a change to make
  for (const auto& outcome : {run_revert(system), run_status(system), run_apply(system, more)}) {
    EXPECT_EQ(outcome.exit_code, 2) << outcome.text;
    EXPECT_TRUE(contains(outcome.text, "acts on the running host")) << outcome.text;
  }
  EXPECT_EQ(system.mutations, mutations);
  EXPECT_EQ(system.state(), before);
}

// Wrong types, out-of-range numbers and unknown targets in a journal: one
// line saying it is damaged, exit 2, nothing changed, never an exception.
TEST(SetupRevert, DamagedJournalIsRefusedWithOneLine) {
  FakeSystem probe;
  ASSERT_EQ(run_apply(probe, tracefs_options()).exit_code, 0);
  const json good = json::parse(probe.files[std::string(kJournalPath)].content);
  const auto binary = [&](const json& entries) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i]["kind"] == "binary") return i;
    }
    return entries.size();
  }(good["entries"]);
  ASSERT_LT(binary, good["entries"].size());
  const std::vector<std::pair<std::string, json>> damages = {
      {"/entries/" + std::to_string(binary) + "/before/mode", "0755"},
      {"/entries/" + std::to_string(binary) + "/before/mode", 1e30},
      {"/entries/" + std::to_string(binary) + "/before/mode", 0777777},
      {"/entries/" + std::to_string(binary) + "/before/uid", -1},
      {"/entries/" + std::to_string(binary) + "/before/gid", 1ULL << 40},
      {"/entries/" + std::to_string(binary) + "/before/caps", 7},
      {"/entries/" + std::to_string(binary) + "/before", "text"},
      {"/entries/" + std::to_string(binary) + "/target", "/../../etc/shadow"},
      {"/entries/0/kind", 3},
      {"/entries/0/target", json::array()},
      {"/entries", json::object()},
      {"/created_dirs", "/var"},
      {"/created_dirs", json::array({"/etc"})},
      {"/schema", "1"},
  };
  for (const auto& [pointer, value] : damages) {
    FakeSystem system;
    ASSERT_EQ(run_apply(system, tracefs_options()).exit_code, 0);
    json journal = good;
    journal[json::json_pointer(pointer)] = value;
    system.files[std::string(kJournalPath)].content = journal.dump();
    const json before = system.state();
    const int mutations = system.mutations;
    for (const auto& outcome : {run_revert(system), run_status(system)}) {
      EXPECT_EQ(outcome.exit_code, 2) << pointer << " = " << value.dump() << "\n" << outcome.text;
      EXPECT_TRUE(contains(outcome.text, "journal /var/lib/bpfready/tracefs-setup.json is damaged: "))
          << pointer << " = " << value.dump() << "\n" << outcome.text;
    }
    EXPECT_EQ(system.mutations, mutations) << pointer;
    EXPECT_EQ(system.state(), before) << pointer;
  }
}

// The journal is JSON: a binary path or user name it cannot hold is refused
// before anything changes, never an exception half-way.
TEST(SetupApply, NamesThatAreNotUtf8AreRefusedBeforeActing) {
  FakeSystem system;
  system.files["/usr/bin/\xff"] = {{S_IFREG | 0755, 0, 0}, "ELF", "", std::nullopt};
  system.users["\xfe"] = {"\xfe", 1003, 1003};
  const json before = system.state();
  SetupOptions options = basic_options();
  options.binaries = {"/usr/bin/\xff"};
  auto outcome = run_apply(system, options);
  EXPECT_EQ(outcome.exit_code, 2) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "is not UTF-8")) << outcome.text;
  options = basic_options();
  options.users = {"\xfe"};
  outcome = run_apply(system, options);
  EXPECT_EQ(outcome.exit_code, 2) << outcome.text;
  EXPECT_TRUE(contains(outcome.text, "invalid user name")) << outcome.text;
  EXPECT_EQ(system.state(), before);
  EXPECT_EQ(system.mutations, 0);
}

}  // namespace
}  // namespace bpfready
