// syscount's argument parsing and validation.
#include <gtest/gtest.h>

#include "tools/syscount/cli.h"

namespace bpfready {
namespace {

std::variant<SyscountOptions, CliExit> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "syscount");
  return parse_syscount_args(args);
}

SyscountOptions ok(std::vector<std::string> args) {
  auto parsed = parse(std::move(args));
  if (auto* exit = std::get_if<CliExit>(&parsed)) {
    ADD_FAILURE() << exit->text;
    return {};
  }
  return std::get<SyscountOptions>(parsed);
}

CliExit fails(std::vector<std::string> args) {
  auto parsed = parse(std::move(args));
  if (auto* exit = std::get_if<CliExit>(&parsed)) return *exit;
  ADD_FAILURE() << "parsed, but should not have";
  return {};
}

TEST(SyscountCli, CommandAfterDashes) {
  auto options = ok({"-e", "--", "ls", "-l", "--", "-x"});
  EXPECT_EQ(options.command, (std::vector<std::string>{"ls", "-l", "--", "-x"}));
  EXPECT_TRUE(options.report.errors);
  EXPECT_EQ(options.mode(), TargetMode::command);
}

TEST(SyscountCli, CommandWithoutDashes) {
  auto options = ok({"--latency", "ls", "-l"});
  EXPECT_EQ(options.command, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_TRUE(options.report.latency);
}

TEST(SyscountCli, PidsAllDurationInterval) {
  auto options = ok({"-p", "12,34", "-p", "56", "-d", "1.5", "-i", "0.5", "-T", "5"});
  EXPECT_EQ(options.pids, (std::vector<pid_t>{12, 34, 56}));
  EXPECT_EQ(options.mode(), TargetMode::pids);
  EXPECT_EQ(options.duration, 1.5);
  EXPECT_EQ(options.interval, 0.5);
  EXPECT_EQ(options.report.top, 5u);
  EXPECT_EQ(ok({"-a", "--json"}).mode(), TargetMode::all);
}

TEST(SyscountCli, FiltersAreValidated) {
  auto options = ok({"--syscall", "read,openat", "--category", "network", "--failed", "--", "x"});
  EXPECT_EQ(options.report.only_syscalls, (std::set<long>{0, 257}));
  EXPECT_EQ(options.report.only_categories, (std::set<SyscallCategory>{SyscallCategory::network}));
  EXPECT_TRUE(options.report.errors) << "--failed implies --errors";
  EXPECT_EQ(ok({"--syscall", "syscall_451", "--", "x"}).report.only_syscalls, (std::set<long>{451}));

  auto bad = fails({"--syscall", "reed", "--", "x"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.text.find("unknown syscall 'reed'"), std::string::npos);
  bad = fails({"--category", "disk", "--", "x"});
  EXPECT_NE(bad.text.find("unknown category 'disk'"), std::string::npos);
}

TEST(SyscountCli, TargetsAreExclusiveAndRequired) {
  EXPECT_EQ(fails({}).code, 2);
  EXPECT_EQ(fails({"-a", "--", "ls"}).code, 2);
  EXPECT_EQ(fails({"-a", "-p", "1"}).code, 2);
  EXPECT_EQ(fails({"-p", "0"}).code, 2);
  EXPECT_EQ(fails({"-p", "12x"}).code, 2);
  EXPECT_EQ(fails({"-d", "-1", "-a"}).code, 2);
  EXPECT_EQ(fails({"--no-such-option", "-a"}).code, 2);
}

// Every duration is a finite number of seconds in [0.001, 2678400] (31 days):
// NaN, infinities, huge and tiny values once hung syscount or ended it at once.
TEST(SyscountCli, DurationsAreFiniteAndInRange) {
  for (const char* option : {"-d", "-i"}) {
    for (const char* word : {"nan", "NaN", "-nan", "inf", "-inf", "infinity", "1e10", "1e308",
                             "-1", "0", "0.0", "0.0009", "1e-300", "2678400.5", "0x10", "", "1s",
                             " 1"}) {
      auto bad = fails({option, word, "-a"});
      EXPECT_EQ(bad.code, 2) << option << " '" << word << "'";
      EXPECT_NE(bad.text.find("0.001"), std::string::npos) << bad.text;
      EXPECT_NE(bad.text.find("2678400"), std::string::npos) << bad.text;
      EXPECT_EQ(bad.text.find('\n'), std::string::npos) << bad.text;
    }
  }
  EXPECT_EQ(ok({"-d", "0.001", "-a"}).duration, 0.001);
  EXPECT_EQ(ok({"-d", "2678400", "-a"}).duration, 2678400.0);
  EXPECT_EQ(ok({"-i", "1e-3", "-a"}).interval, 0.001);
  EXPECT_EQ(ok({"--interval=2", "-a"}).interval, 2.0);
}

// Counts are plain decimal integers in their documented ranges.
TEST(SyscountCli, CountsAreIntegersInRange) {
  for (const char* word : {"-1", "99999999999999999999999", "1025", "1.5", "x", "", "+3", "0x10"}) {
    auto bad = fails({"-T", word, "-a"});
    EXPECT_EQ(bad.code, 2) << "-T '" << word << "'";
    EXPECT_NE(bad.text.find("0 to 1024"), std::string::npos) << bad.text;
  }
  EXPECT_EQ(ok({"-T", "0", "-a"}).report.top, 0u);
  EXPECT_EQ(ok({"--top", "1024", "-a"}).report.top, 1024u);
  for (const char* word : {"0", "-1", "16777217", "1e3", "99999999999999999999", "", "nan"}) {
    auto bad = fails({"--map-entries", word, "-a"});
    EXPECT_EQ(bad.code, 2) << "--map-entries '" << word << "'";
    EXPECT_NE(bad.text.find("1 to 16777216"), std::string::npos) << bad.text;
  }
  EXPECT_EQ(ok({"--map-entries", "1", "-a"}).map_entries, 1u);
  EXPECT_EQ(ok({"--map-entries", "16777216", "-a"}).map_entries, 16777216u);
  EXPECT_EQ(ok({"-a"}).map_entries, 16384u);
}

TEST(SyscountCli, OutputNeedsAFileName) {
  auto bad = fails({"-o", "", "-a"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.text.find("-o"), std::string::npos) << bad.text;
  EXPECT_EQ(fails({"--output=", "-a"}).code, 2);
  EXPECT_EQ(ok({"-o", "-", "-a"}).output, "-") << "stdout (a file named - is ./-)";
  EXPECT_NE(fails({"--help"}).text.find("- is stdout"), std::string::npos);
}

// libbpf-tools' `syscount -e ENOENT` filters by errno; here -e is --errors
// and takes no value, so ENOENT was run as the command ("ENOENT: command
// not found", 127). Now the conflict is named, with what to use instead.
TEST(SyscountCli, AnErrnoNameWhereACommandGoesIsRefusedWithTheReason) {
  auto after_e = fails({"-e", "ENOENT", "-p", "1234"});
  EXPECT_EQ(after_e.code, 2);
  EXPECT_EQ(after_e.text.rfind("syscount: -e is --errors here", 0), 0u) << after_e.text;
  EXPECT_NE(after_e.text.find("--errno ENOENT"), std::string::npos) << after_e.text;
  EXPECT_EQ(after_e.text.find('\n'), std::string::npos);
  EXPECT_NE(fails({"-Pe", "EAGAIN", "-a"}).text.find("-e is --errors"), std::string::npos);
  EXPECT_NE(fails({"--errors", "EPERM"}).text.find("--errno EPERM"), std::string::npos);

  auto after_p = fails({"-a", "ENOENT"});
  EXPECT_NE(after_p.text.find("ENOENT is an errno name, not a command"), std::string::npos)
      << after_p.text;
  // After --, a command is a command, whatever its name; so are other words.
  EXPECT_EQ(ok({"-e", "--", "ENOENT"}).command, (std::vector<std::string>{"ENOENT"}));
  EXPECT_EQ(ok({"-e", "ENOTAREALERRNO"}).command, (std::vector<std::string>{"ENOTAREALERRNO"}));
  EXPECT_EQ(ok({"-e", "ls", "-a"}).command, (std::vector<std::string>{"ls", "-a"}));
}

TEST(SyscountCli, ACommandBesidePOrAIsNamedInTheError) {
  auto both = fails({"-p", "1", "--", "ls"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.text.find("-p traces running processes, so 'ls' cannot be a command"),
            std::string::npos)
      << both.text;
  EXPECT_NE(fails({"-a", "--", "ls"}).text.find("-a traces running processes"), std::string::npos);
}

TEST(SyscountCli, UserIsForACommand) {
  EXPECT_EQ(ok({"-u", "alice", "--", "ls"}).user, "alice");
  EXPECT_EQ(ok({"--user=1000", "--", "ls"}).user, "1000");
  EXPECT_FALSE(ok({"--", "ls"}).user.has_value());
  auto with_a = fails({"-u", "alice", "-a"});
  EXPECT_EQ(with_a.code, 2);
  EXPECT_NE(with_a.text.find("-u/--user runs a command"), std::string::npos) << with_a.text;
  EXPECT_EQ(fails({"-u", "", "--", "ls"}).code, 2);
  EXPECT_NE(fails({"--help"}).text.find("--user"), std::string::npos);
}

// syscall_N names a number the kernel counters can hold by name: below 1023.
TEST(SyscountCli, SyscallNumbersBeyondTheCountersAreRejected) {
  for (const char* word : {"syscall_99999999999", "syscall_1023", "syscall_-1", "syscall_",
                           "syscall_99999999999999999999999"}) {
    auto bad = fails({"--syscall", word, "-a"});
    EXPECT_EQ(bad.code, 2) << word;
    EXPECT_NE(bad.text.find("unknown syscall"), std::string::npos) << bad.text;
  }
  EXPECT_EQ(ok({"--syscall", "syscall_1022", "-a"}).report.only_syscalls, (std::set<long>{1022}));
}

// -p takes at most 512 distinct processes, each watched through a pidfd.
TEST(SyscountCli, PidCountIsLimited) {
  std::string many;
  for (int pid = 1; pid <= 513; ++pid) many += (pid > 1 ? "," : "") + std::to_string(pid);
  auto bad = fails({"-p", many});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.text.find("at most 512"), std::string::npos) << bad.text;
  EXPECT_EQ(bad.text.find('\n'), std::string::npos);
  many = many.substr(0, many.rfind(','));
  EXPECT_EQ(ok({"-p", many}).pids.size(), 512u);
  std::string repeated = "7";
  for (int i = 0; i < 600; ++i) repeated += ",7";
  EXPECT_EQ(ok({"-p", repeated, "-p", "8,7"}).pids, (std::vector<pid_t>{7, 8}))
      << "duplicates name one process";
}

// Words from the command line reach the terminal escaped.
TEST(SyscountCli, ErrorsEscapeControlCharacters) {
  const std::vector<std::vector<std::string>> cases = {
      {"--syscall", "x\x1b]0;owned\x07", "-a"}, {"-p", "1\x1b[2J"}, {"--bogus\x1b[2J", "-a"},
      {"--category", "\x9b" "31m", "-a"},         {"-d", "\x1b[31m", "-a"},
      {"-a", "x\x1b[2J"}};
  for (const auto& args : cases) {
    auto bad = fails(args);
    EXPECT_EQ(bad.code, 2);
    EXPECT_EQ(bad.text.find('\x1b'), std::string::npos) << bad.text;
    EXPECT_EQ(bad.text.find('\x07'), std::string::npos) << bad.text;
    EXPECT_EQ(bad.text.find('\x9b'), std::string::npos) << bad.text;
    EXPECT_EQ(bad.text.find('\n'), std::string::npos) << bad.text;
  }
}

TEST(SyscountCli, HelpDocumentsRangesAndExitStatuses) {
  auto help = fails({"--help"}).text;
  for (const char* needle : {"0.001", "2678400", "0 to 1024", "1 to 16777216", "at most 512",
                             "report could not be written"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle << "\n" << help;
  }
}

TEST(SyscountCli, ErrorsAreOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"-a", "-p", "1"}, {"--bogus"}, {"-d", "x", "-a"}, {"--syscall", "nope", "-a"}}) {
    auto exit = fails(args);
    EXPECT_EQ(exit.text.find('\n'), std::string::npos) << exit.text;
    EXPECT_EQ(exit.text.rfind("syscount: ", 0), 0u) << exit.text;
  }
}

TEST(SyscountCli, HelpTeachesWithExamples) {
  auto help = fails({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.text.find("Examples:"), std::string::npos);
  EXPECT_NE(help.text.find("cap_bpf,cap_perfmon"), std::string::npos);
  EXPECT_NE(help.text.find("--by-process"), std::string::npos);
  EXPECT_NE(help.text.find("the report goes to stderr"), std::string::npos);
  EXPECT_NE(help.text.find("124 when -d ended"), std::string::npos);
  EXPECT_NE(help.text.find("kills itself with N"), std::string::npos);
}

TEST(SyscountCli, VersionNeedsNoTarget) {
  auto version = fails({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.text, "syscount 0.1.0\n");
  EXPECT_EQ(fails({"-a", "--version"}).text, version.text);
  EXPECT_NE(fails({"--help"}).text.find("--version"), std::string::npos);
}

TEST(SyscountCli, FlavourPicksAVariantOrLeavesItToThePreflight) {
  EXPECT_FALSE(ok({"-a"}).flavour.has_value());
  EXPECT_FALSE(ok({"--flavour", "auto", "-a"}).flavour.has_value());
  EXPECT_EQ(ok({"--flavour", "raw_tp", "-a"}).flavour, ProbeFlavour::raw_tp);
  EXPECT_EQ(ok({"--flavour=tp_btf", "-a"}).flavour, ProbeFlavour::tp_btf);
  for (const char* bad : {"perf_tp", "RAW_TP", "", "raw_tp "}) {
    auto refused = fails({"--flavour", bad, "-a"});
    EXPECT_EQ(refused.code, 2) << bad;
    EXPECT_EQ(refused.text.rfind("syscount: --flavour takes auto, tp_btf or raw_tp, not '", 0), 0u)
        << refused.text;
  }
  const std::string help = fails({"--help"}).text;
  EXPECT_NE(help.find("--flavour"), std::string::npos);
  EXPECT_NE(help.find("troubleshooting and tests"), std::string::npos);
}

TEST(SyscountCli, ListNeedsNoTarget) {
  EXPECT_TRUE(ok({"--list"}).list);
  EXPECT_NE(syscall_table_text().find("257 openat file_io"), std::string::npos);
}

}  // namespace
}  // namespace bpfready
