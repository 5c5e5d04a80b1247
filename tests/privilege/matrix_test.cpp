// The permission matrix of DESIGN.md, proven on this kernel: for each set of
// file capabilities, crossed with tracefs at its default mode and with the
// group read access tracefs-setup grants, ebpf_diag's prediction for a test
// user equals the real probe run as that user, and both equal the table.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "support/system.h"

namespace bpfready {
namespace {

using testing::binary_path;
using testing::run_command;

struct Row {
  const char* caps;  // file capabilities on the copy ("" for none)
  bool raw_tp;       // expected readiness of raw-tracepoint tools
  bool perf_tp_default;     // tracefs tracepoint tools, tracefs at 0700 root
  bool perf_tp_group_read;  // after tracefs-setup --tracefs-read for the user's group
  const char* raw_tp_stage;   // failing stage when not ready
  const char* perf_tp_stage;  // failing stage at the default tracefs mode
};

// DESIGN.md, "Facts measured on the target kernel".
const Row kMatrix[] = {
    {"", false, false, false, "load", "load"},
    {"cap_bpf", false, false, false, "load", "load"},
    {"cap_bpf,cap_perfmon", true, false, true, nullptr, "tracefs_id"},
    {"cap_bpf,cap_perfmon,cap_dac_read_search", true, true, true, nullptr, nullptr},
    {"cap_sys_admin", true, false, true, nullptr, "tracefs_id"},
};

std::string row_name(const Row& row) { return *row.caps != 0 ? row.caps : "none"; }

class PermissionMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    BPFREADY_REQUIRE_ROOT();
    ASSERT_TRUE(user_.ok());
    copy_ = scratch_.path() + "/ebpf_diag";
    ASSERT_EQ(run_command("cp " + binary_path("tools/ebpf_diag/ebpf_diag") + " " + copy_ + " && chmod 0755 " + copy_)
                  .exit_code,
              0);
    ASSERT_EQ(run_command("stat -c %a /sys/kernel/tracing").output, "700\n")
        << "the matrix starts from tracefs at its default mode";
  }

  // Sets CAPS on the copy, runs ebpf_diag --user as root (prediction next to
  // the probe run as the user), and also runs the copy as the user directly.
  void check_row(const Row& row, bool group_read) {
    SCOPED_TRACE(row_name(row) + (group_read ? ", tracefs group read" : ", tracefs default"));
    run_command("setcap -r " + copy_ + " 2>/dev/null");
    if (*row.caps != 0) {
      ASSERT_EQ(run_command(std::string("setcap ") + row.caps + "=ep " + copy_).exit_code, 0);
    }

    const auto result =
        run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --json --user " + user_.name() + " --binary " + copy_);
    ASSERT_NE(result.exit_code, 2) << result.output;
    const auto doc = nlohmann::json::parse(result.output);
    const bool perf_expected = group_read ? row.perf_tp_group_read : row.perf_tp_default;
    // The measured row, for people reading the test log.
    std::string line = "matrix: caps=" + row_name(row) + " tracefs=" + (group_read ? "group-read" : "default");
    for (const auto& v : doc.at("verdicts")) {
      const auto outcome = [](const nlohmann::json& o) {
        return o.at("ok").get<bool>() ? std::string("works")
                                      : "fails@" + o.at("stage").get<std::string>() +
                                            (o.contains("errno_name") ? "/" + o.at("errno_name").get<std::string>() : "");
      };
      line += " | " + v.at("id").get<std::string>() + ": predicted " + outcome(v.at("prediction")) + ", proven " +
              outcome(v.at("proof"));
    }
    std::cout << line << "\n";
    for (const auto& v : doc.at("verdicts")) {
      const bool raw = v.at("id") == "raw_tp";
      const bool expected = raw ? row.raw_tp : perf_expected;
      EXPECT_FALSE(v.at("mismatch").get<bool>()) << v.dump(2);
      ASSERT_FALSE(v.at("proof").is_null()) << "the probe did not run as the user";
      EXPECT_EQ(v.at("proof").at("ok").get<bool>(), expected) << v.dump(2);
      EXPECT_EQ(v.at("prediction").at("ok").get<bool>(), expected) << v.dump(2);
      const char* stage = raw ? row.raw_tp_stage : (group_read && perf_expected ? nullptr : row.perf_tp_stage);
      if (!expected && stage != nullptr) {
        EXPECT_EQ(v.at("proof").at("stage"), stage) << v.dump(2);
        EXPECT_EQ(v.at("prediction").at("stage"), stage) << v.dump(2);
      }
      if (!expected) {
        const std::string remedy = v.at("remedy").is_null() ? "" : v.at("remedy").get<std::string>();
        EXPECT_EQ(remedy.find("unprivileged_bpf_disabled"), std::string::npos);
        EXPECT_EQ(remedy.find("kptr_restrict"), std::string::npos);
      }
    }

    // The same binary run by the user itself reaches the same verdicts.
    const auto direct = user_.run(copy_ + " --json");
    const auto direct_doc = nlohmann::json::parse(direct.output);
    for (const auto& v : direct_doc.at("verdicts")) {
      const bool expected = v.at("id") == "raw_tp" ? row.raw_tp : perf_expected;
      EXPECT_EQ(v.at("ready").get<bool>(), expected) << "run directly by the user: " << v.dump(2);
      EXPECT_FALSE(v.at("mismatch").get<bool>()) << v.dump(2);
    }
  }

  testing::TracefsMounted tracefs_;
  testing::TestUser user_;
  testing::ScratchDir scratch_;
  std::string copy_;
};

TEST_F(PermissionMatrix, TracefsDefaultMode) {
  for (const auto& row : kMatrix) check_row(row, false);
}

TEST_F(PermissionMatrix, TracefsGroupReadThroughTracefsSetup) {
  const std::string setup = binary_path("tools/tracefs-setup/tracefs-setup");
  const std::string group = testing::unique_name("bpfr_g");
  // The user's capabilities come from the copy's file capabilities, set per
  // row; tracefs-setup only grants the group read access to tracefs here.
  const auto applied = run_command(setup + " apply --group " + group + " --user " + user_.name() +
                                   " --tracefs-read 2>&1");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  for (const auto& row : kMatrix) check_row(row, true);
  const auto reverted = run_command(setup + " revert 2>&1");
  EXPECT_EQ(reverted.exit_code, 0) << reverted.output;
  EXPECT_EQ(run_command("stat -c %a /sys/kernel/tracing").output, "700\n");
  EXPECT_NE(run_command("getent group " + group).exit_code, 0) << "revert left the group behind";
}

}  // namespace
}  // namespace bpfready
