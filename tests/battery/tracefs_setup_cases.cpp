// tracefs-setup: bad command lines, and --root images with hostile account
// files, binaries and journals. Every case that could change something
// works on an image in its scene (or is a plan, which changes nothing);
// cases that aim outside the image check that nothing there was touched.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "battery/battery.h"

namespace bpfready::battery {

namespace {

using Words = std::vector<std::string>;

constexpr const char* kJournal = "img/var/lib/bpfready/tracefs-setup.json";

BadCase plain(std::string name, Words words) {
  return {std::move(name), "tracefs-setup", [words](const Scene&) { return words; }};
}

// --root over a fresh image, changed by SPOIL, then WORDS.
BadCase on_image(std::string name, std::function<void(const Scene&)> spoil, Words words,
                 std::function<void(const Scene&)> verify = {}) {
  return {std::move(name), "tracefs-setup",
          [spoil, words](const Scene& scene) {
            Words argv{"--root", scene.make_image()};
            spoil(scene);
            argv.insert(argv.end(), words.begin(), words.end());
            return argv;
          },
          std::move(verify)};
}

BadCase journal_case(std::string name, std::string journal, std::string action) {
  return on_image(std::move(name), [journal](const Scene& s) { s.make_file(kJournal, journal, 0600); },
                  {std::move(action)});
}

// A journal with one done entry of KIND on TARGET, with BEFORE and AFTER.
std::string one_entry(const std::string& kind, const std::string& target, const std::string& before,
                      const std::string& after) {
  return R"({"schema":1,"tool":"tracefs-setup","created_dirs":[],"applies":[],"entries":[{"kind":")" + kind +
         R"(","target":")" + target + R"(","summary":"x","state":"done","before":)" + before +
         R"(,"after":)" + after + "}]}";
}

void victim_untouched(const Scene& s) {
  struct stat meta {};
  ASSERT_EQ(::lstat(s.path("outside/victim").c_str(), &meta), 0) << "a file outside --root was removed";
  EXPECT_EQ(meta.st_mode & 07777, 0644U) << "the mode of a file outside --root was changed";
  EXPECT_EQ(meta.st_gid, 0U) << "the group of a file outside --root was changed";
}

std::vector<BadCase> command_line_cases() {
  const Words change{"--binary", "/bin/true"};
  auto with = [&](Words words) {
    words.insert(words.end(), change.begin(), change.end());
    return words;
  };
  return {
      plain("TracefsSetup_NoSubcommand", {}),
      plain("TracefsSetup_UnknownSubcommand", {"frobnicate"}),
      plain("TracefsSetup_TwoSubcommands", {"plan", "status"}),
      plain("TracefsSetup_EmptyRoot", {"--root", "", "plan"}),
      plain("TracefsSetup_NonexistentRoot", {"--root", "/nonexistent/bpfr-image", "plan"}),
      plain("TracefsSetup_RootIsAFile", {"--root", "/etc/hostname", "plan"}),
      plain("TracefsSetup_RootWithoutValue", {"plan", "--root"}),
      plain("TracefsSetup_UnknownOption", {"plan", "--frobnicate"}),
      plain("TracefsSetup_UserWithoutValue", {"plan", "--user"}),
      plain("TracefsSetup_StrayArgument", {"plan", "stray"}),
      plain("TracefsSetup_StatusTakesNoUser", {"status", "--user", "root"}),
      plain("TracefsSetup_EmptyGroup", with({"plan", "--group", ""})),
      plain("TracefsSetup_GroupWithColon", with({"plan", "--group", "bad:name"})),
      plain("TracefsSetup_GroupWithNewline", with({"plan", "--group", "bad\nname"})),
      plain("TracefsSetup_NumericGroup", with({"plan", "--group", "12345"})),
      plain("TracefsSetup_BogusCaps", with({"plan", "--caps", "cap_bogus=ep"})),
      plain("TracefsSetup_EmptyCaps", with({"plan", "--caps", ""})),
      plain("TracefsSetup_EmptyBinary", {"plan", "--binary", ""}),
      plain("TracefsSetup_UnknownUserOnHost", with({"plan", "--user", "bpfr_nosuchuser"})),
      on_image("TracefsSetup_RelativeBinaryWithRoot", [](const Scene&) {},
               {"apply", "--binary", "usr/local/bin/tool"}),
      on_image("TracefsSetup_MissingBinaryInImage", [](const Scene&) {}, {"plan", "--binary", "/usr/bin/missing"}),
      on_image("TracefsSetup_UnknownUserInImage", [](const Scene&) {},
               {"plan", "--user", "bpfr_nosuchuser", "--binary", "/usr/local/bin/tool"}),
  };
}

std::vector<BadCase> hostile_image_cases() {
  const Words plan{"plan", "--user", "alice", "--binary", "/usr/local/bin/tool"};
  const Words apply{"apply", "--user", "alice", "--binary", "/usr/local/bin/tool"};
  return {
      on_image("TracefsSetup_GroupGidNotANumber",
               [](const Scene& s) { s.make_file("img/etc/group", "root:x:0:\nbpfready:x:abc:alice\n"); }, plan),
      on_image("TracefsSetup_GroupGidOverflow",
               [](const Scene& s) { s.make_file("img/etc/group", "root:x:0:\nbpfready:x:99999999999:alice\n"); }, plan),
      on_image("TracefsSetup_GroupLineWithoutFields",
               [](const Scene& s) { s.make_file("img/etc/group", "root:x:0:\nbpfready\n"); }, plan),
      on_image("TracefsSetup_GroupFileIsAFifo", [](const Scene& s) { s.make_fifo("img/etc/group"); }, plan),
      on_image("TracefsSetup_GroupFileIsDevZero", [](const Scene& s) { s.make_symlink("img/etc/group", "/dev/zero"); },
               plan),
      on_image("TracefsSetup_PasswdUidNotANumber",
               [](const Scene& s) { s.make_file("img/etc/passwd", "alice:x:alice:1000::/home/alice:/bin/sh\n"); },
               plan),
      on_image("TracefsSetup_PasswdIsADirectory", [](const Scene& s) {
        s.remove("img/etc/passwd");
        s.make_dir("img/etc/passwd");
      }, plan),
      on_image("TracefsSetup_BinaryIsAFifo", [](const Scene& s) { s.make_fifo("img/usr/local/bin/fifo"); },
               {"apply", "--binary", "/usr/local/bin/fifo"}),
      on_image("TracefsSetup_BinaryIsADirectory", [](const Scene&) {}, {"apply", "--binary", "/usr/local/bin"}),
      on_image("TracefsSetup_BinaryLinksOutOfTheImage", [](const Scene& s) {
        s.make_file("outside/victim", "not a binary\n", 0644);
        s.make_symlink("img/usr/local/bin/tool", s.path("outside/victim"));
      }, apply, victim_untouched),
      on_image("TracefsSetup_BinaryPathClimbsOutOfTheImage",
               [](const Scene& s) { s.make_file("outside/victim", "not a binary\n", 0644); },
               {"apply", "--binary", "/../outside/victim"}, victim_untouched),
  };
}

std::vector<BadCase> journal_cases() {
  const std::string exists_false = R"({"exists":false})";
  const std::string file_after = R"({"content":"x","mode":420})";
  return {
      on_image("TracefsSetup_JournalTargetClimbsOut",
               [=](const Scene& s) {
                 s.make_file("outside/victim", "keep me\n", 0644);
                 s.make_file(kJournal, one_entry("file", "/../outside/victim", exists_false, file_after), 0600);
               },
               {"revert"}, victim_untouched),
      on_image("TracefsSetup_JournalCreatedDirClimbsOut",
               [](const Scene& s) {
                 s.make_dir("outside-empty");
                 s.make_file(kJournal, R"({"schema":1,"entries":[],"created_dirs":["/../outside-empty"]})", 0600);
               },
               {"revert"},
               [](const Scene& s) {
                 EXPECT_TRUE(std::filesystem::is_directory(s.path("outside-empty")))
                     << "a directory outside --root was removed";
               }),
      on_image("TracefsSetup_JournalIsAFifo", [](const Scene& s) { s.make_fifo(kJournal); }, {"revert"}),
      on_image("TracefsSetup_JournalIsDevZero", [](const Scene& s) { s.make_symlink(kJournal, "/dev/zero"); },
               {"status"}),
      on_image("TracefsSetup_JournalIsADirectory", [](const Scene& s) { s.make_dir(kJournal); }, {"status"}),
      journal_case("TracefsSetup_JournalNotJson", "{\"schema\":1,\"entries\":[", "revert"),
      journal_case("TracefsSetup_JournalEntriesNotAList", R"({"schema":1,"entries":{"a":1}})", "status"),
      journal_case("TracefsSetup_JournalSchemaIsAString", R"({"schema":"1","entries":[]})", "status"),
      journal_case("TracefsSetup_JournalSchemaTooNew", R"({"schema":999,"entries":[]})", "revert"),
      journal_case("TracefsSetup_JournalKindIsANumber",
                   R"({"schema":1,"entries":[{"kind":5,"target":"/etc/x","before":{},"after":{}}]})", "status"),
      journal_case("TracefsSetup_JournalUnknownKind", one_entry("format_disk", "/dev/sda", "{}", "{}"), "revert"),
      journal_case("TracefsSetup_JournalBinaryBeforeWrongTypes",
                   one_entry("binary", "/usr/local/bin/tool", R"({"uid":"root","gid":[],"mode":-1,"caps":5})",
                             R"({"uid":0,"group":"bpfready","mode":488,"caps":"cap_bpf=ep"})"),
                   "revert"),
      journal_case("TracefsSetup_JournalFileAfterWithoutContent",
                   one_entry("file", "/etc/x", exists_false, R"({"mode":"rw"})"), "status"),
      journal_case("TracefsSetup_JournalGroupMemberWithoutColon",
                   one_entry("group_member", "alice", R"({"member":false})", R"({"member":true})"), "revert"),
      journal_case("TracefsSetup_JournalRelativeTarget", one_entry("file", "etc/x", exists_false, file_after),
                   "revert"),
  };
}

}  // namespace

std::vector<BadCase> tracefs_setup_cases() {
  std::vector<BadCase> cases;
  for (auto&& group : {command_line_cases(), hostile_image_cases(), journal_cases()}) {
    cases.insert(cases.end(), group.begin(), group.end());
  }
  return cases;
}

}  // namespace bpfready::battery
