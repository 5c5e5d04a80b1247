// The whole non-root path of DESIGN.md on the real host: tracefs-setup gives
// a test user a group-only copy of syscount with cap_bpf,cap_perfmon, the
// user counts a command without touching tracefs, and revert puts every
// piece back exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

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

// ebpf_diag's fix for a user, run as printed: afterwards the verdicts it
// was for are proven ready by probes run as that user.
TEST(SetupThenSyscount, PrintedFixStepsMakeTheVerdictsReady) {
  BPFREADY_REQUIRE_ROOT();
  testing::TracefsMounted tracefs;
  testing::TestUser user;
  testing::ScratchDir scratch;
  ASSERT_TRUE(user.ok());
  const std::string setup = binary_path("tools/tracefs-setup/tracefs-setup");
  const std::string diag = binary_path("tools/ebpf_diag/ebpf_diag");
  const std::string copy = scratch.path() + "/syscount";
  const std::string group = testing::unique_name("bpfr_g");
  ASSERT_EQ(run_command("cp " + binary_path("tools/syscount/syscount") + " " + copy + " && chmod 0755 " + copy).exit_code, 0);
  struct RevertOnExit {
    std::string command;
    ~RevertOnExit() { run_command(command); }
  } revert_on_exit{setup + " revert >/dev/null 2>&1"};

  const std::string audit = diag + " --json --user " + user.name() + " --binary " + copy + " 2>/dev/null";
  const auto before = run_command(audit);
  ASSERT_FALSE(before.output.empty());
  const auto verdicts = nlohmann::json::parse(before.output).at("verdicts");
  std::vector<std::string> steps;
  for (const auto& verdict : verdicts) {
    if (verdict.at("id") != "perf_tp" && verdict.at("id") != "syscount") continue;
    ASSERT_FALSE(verdict.at("ready").get<bool>()) << verdict.dump();
    ASSERT_TRUE(verdict.at("no_safe_fix").is_null()) << verdict.dump();
    for (const auto& step : verdict.at("fix_steps")) steps.push_back(step.get<std::string>());
  }
  ASSERT_FALSE(steps.empty());
  for (std::string step : steps) {
    // As printed, but with this test's own group and tracefs-setup.
    const std::string apply = "sudo tracefs-setup apply";
    ASSERT_EQ(step.rfind(apply, 0), 0U) << step;
    std::string command = setup;
    command.append(" apply --group ").append(group).append(step.substr(apply.size()));
    step = std::move(command);
    const auto ran = run_command(step + " 2>&1");
    ASSERT_EQ(ran.exit_code, 0) << step << "\n" << ran.output;
  }
  const auto after = nlohmann::json::parse(run_command(audit).output).at("verdicts");
  for (const auto& verdict : after) {
    if (verdict.at("id") != "perf_tp" && verdict.at("id") != "syscount") continue;
    EXPECT_TRUE(verdict.at("ready").get<bool>()) << verdict.dump();
    EXPECT_TRUE(verdict.at("proof").is_object()) << "ready must be proven by a probe run as the user";
  }
}

}  // namespace
}  // namespace bpfready
