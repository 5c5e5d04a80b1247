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
}

TEST(SyscountCli, VersionNeedsNoTarget) {
  auto version = fails({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.text, "syscount 0.1.0\n");
  EXPECT_EQ(fails({"-a", "--version"}).text, version.text);
  EXPECT_NE(fails({"--help"}).text.find("--version"), std::string::npos);
}

TEST(SyscountCli, ListNeedsNoTarget) {
  EXPECT_TRUE(ok({"--list"}).list);
  EXPECT_NE(syscall_table_text().find("257 openat file_io"), std::string::npos);
}

}  // namespace
}  // namespace bpfready
