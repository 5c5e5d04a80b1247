// The whole non-root path of DESIGN.md on the real host: tracefs-setup gives
// a test user a group-only copy of syscount with cap_bpf,cap_perfmon, the
// user counts a command without touching tracefs, and revert puts every
// piece back exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/system.h"

namespace bpfready {
namespace {

using testing::binary_path;
using testing::run_command;

std::string file_state(const std::string& path) {
  return run_command("stat -c '%U:%G %a' " + path + "; getcap " + path).output;
}

TEST(SetupThenSyscount, OrdinaryUserCountsWithOnlyRawTracepointCapabilities) {
  BPFREADY_REQUIRE_ROOT();
  testing::TracefsMounted tracefs;
  testing::TestUser user;
  testing::ScratchDir scratch;
  ASSERT_TRUE(user.ok());
  const std::string setup = binary_path("tools/tracefs-setup/tracefs-setup");
  const std::string copy = scratch.path() + "/syscount";
  const std::string group = testing::unique_name("bpfr_g");
  ASSERT_EQ(run_command("cp " + binary_path("tools/syscount/syscount") + " " + copy + " && chmod 0755 " + copy).exit_code, 0);
  ASSERT_EQ(run_command("stat -c %a /sys/kernel/tracing").output, "700\n");
  const std::string before = file_state(copy);

  const std::string apply = setup + " apply --group " + group + " --user " + user.name() + " --binary " + copy + " 2>&1";
  struct RevertOnExit {
    std::string command;
    ~RevertOnExit() { run_command(command); }
  } revert_on_exit{setup + " revert >/dev/null 2>&1"};
  const auto applied = run_command(apply);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_EQ(run_command("stat -c '%U:%G %a' " + copy).output, "root:" + group + " 750\n");
  const auto caps = run_command("getcap " + copy).output;  // getcap's order of names varies
  EXPECT_TRUE(caps == copy + " cap_bpf,cap_perfmon=ep\n" || caps == copy + " cap_perfmon,cap_bpf=ep\n") << caps;
  EXPECT_EQ(run_command("stat -c %a /sys/kernel/tracing").output, "700\n") << "tracefs must stay closed without --tracefs-read";

  const auto counted = user.run(copy + " --json -o - -- sh -c \"ls /usr/share >/dev/null\"");
  ASSERT_EQ(counted.exit_code, 0) << counted.output;
  ASSERT_NE(counted.output.find('{'), std::string::npos) << counted.output;
  const auto doc = nlohmann::json::parse(counted.output.substr(counted.output.find('{')));
  EXPECT_GT(doc.at("ebpf").at("syscalls").at("total").get<long>(), 20);
  EXPECT_EQ(doc.at("exit_status"), 0);

  const auto again = run_command(apply);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("no changes"), std::string::npos) << again.output;

  const auto reverted = run_command(setup + " revert 2>&1");
  ASSERT_EQ(reverted.exit_code, 0) << reverted.output;
  EXPECT_EQ(file_state(copy), before);
  EXPECT_NE(run_command("getent group " + group).exit_code, 0) << "revert left the group";
  EXPECT_EQ(run_command("stat -c %a /sys/kernel/tracing").output, "700\n");
}

}  // namespace
}  // namespace bpfready
