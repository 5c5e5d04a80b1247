// --cgroup/--unit: how the options combine, and how a unit name becomes a
// cgroup directory, on a tree of plain directories shaped like systemd's.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "tools/syscount/cgroup.h"
#include "tools/syscount/cli.h"

namespace bpfready {
namespace {

namespace fs = std::filesystem;

std::variant<SyscountOptions, CliExit> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "syscount");
  return parse_syscount_args(args);
}

TEST(SyscountCgroupCli, CgroupIsATargetOfItsOwn) {
  auto parsed = parse({"--cgroup", "/sys/fs/cgroup/system.slice", "-d", "1"});
  ASSERT_TRUE(std::holds_alternative<SyscountOptions>(parsed));
  const auto& options = std::get<SyscountOptions>(parsed);
  EXPECT_EQ(options.mode(), TargetMode::cgroup);
  EXPECT_EQ(options.cgroup, "/sys/fs/cgroup/system.slice");

  parsed = parse({"--unit", "cron"});
  ASSERT_TRUE(std::holds_alternative<SyscountOptions>(parsed));
  EXPECT_EQ(std::get<SyscountOptions>(parsed).mode(), TargetMode::cgroup);
}

TEST(SyscountCgroupCli, NonsenseCombinationsAreRefused) {
  const std::vector<std::vector<std::string>> refused = {
      {"--cgroup", "/sys/fs/cgroup", "-a"},
      {"--cgroup", "/sys/fs/cgroup", "-p", "1"},
      {"--cgroup", "/sys/fs/cgroup", "--", "ls"},
      {"--unit", "cron", "-a"},
      {"--cgroup", "/sys/fs/cgroup", "--unit", "cron"},
      {"--cgroup", ""},
      {"--unit", ""},
  };
  for (const auto& args : refused) {
    auto parsed = parse(args);
    ASSERT_TRUE(std::holds_alternative<CliExit>(parsed)) << args.front() << " " << args.back();
    const auto& exit = std::get<CliExit>(parsed);
    EXPECT_EQ(exit.code, 2);
    EXPECT_EQ(exit.text.find('\n'), std::string::npos) << exit.text;
  }
}

TEST(SyscountCgroupUnit, NamesAreCompletedOrRefused) {
  EXPECT_EQ(unit_name("cron").value(), "cron.service");
  EXPECT_EQ(unit_name("cron.service").value(), "cron.service");
  EXPECT_EQ(unit_name("session-3.scope").value(), "session-3.scope");
  EXPECT_EQ(unit_name("user-1000.slice").value(), "user-1000.slice");
  for (const char* bad : {"", "../x", "a/b", ".service", "multi-user.target", "x.timer"}) {
    EXPECT_FALSE(unit_name(bad)) << bad;
  }
}

class SyscountCgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device device;
    root_ = fs::temp_directory_path() / ("bpfready_cgtree_" + std::to_string(device()));
    for (const char* dir : {"system.slice/cron.service", "system.slice/dup.service",
                            "user.slice/user-1000.slice/user@1000.service/app.slice/foo.service",
                            "user.slice/user-1000.slice/user@1000.service/app.slice/dup.service",
                            "machine.slice/machine-test.scope"}) {
      fs::create_directories(root_ / dir);
    }
  }
  void TearDown() override { fs::remove_all(root_); }
  [[nodiscard]] std::string root() const { return root_.string(); }
  fs::path root_;
};

TEST_F(SyscountCgroupTree, FindsSystemServicesSlicesAndUserServices) {
  EXPECT_EQ(unit_cgroup_path(root(), "cron.service").value(), root() + "/system.slice/cron.service");
  EXPECT_EQ(unit_cgroup_path(root(), "user-1000.slice").value(),
            root() + "/user.slice/user-1000.slice");
  EXPECT_EQ(unit_cgroup_path(root(), "-.slice").value(), root());
  EXPECT_EQ(unit_cgroup_path(root(), "foo.service").value(),
            root() + "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service");
  EXPECT_EQ(unit_cgroup_path(root(), "machine-test.scope").value(),
            root() + "/machine.slice/machine-test.scope");
}

TEST_F(SyscountCgroupTree, SystemServiceWinsOverAUserServiceOfTheSameName) {
  EXPECT_EQ(unit_cgroup_path(root(), "dup.service").value(), root() + "/system.slice/dup.service");
}

TEST_F(SyscountCgroupTree, MissingOrAmbiguousIsAnError) {
  auto missing = unit_cgroup_path(root(), "nope.service");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("is it running"), std::string::npos);
  fs::create_directories(root_ / "machine.slice/x/foo.service");
  auto ambiguous = unit_cgroup_path(root(), "foo.service");
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message.find("--cgroup"), std::string::npos);
}

TEST(SyscountCgroupOpen, APlainDirectoryIsNotACgroup) {
  auto opened = open_cgroup(fs::temp_directory_path().string());
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("not a cgroup v2 directory"), std::string::npos);
  EXPECT_FALSE(open_cgroup("/nonexistent/bpfready"));
}

}  // namespace
}  // namespace bpfready
