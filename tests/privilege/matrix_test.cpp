// The permission matrix of DESIGN.md, proven on this kernel: for each set of
// file capabilities, crossed with tracefs at its default mode and with the
// group read access tracefs-setup grants, ebpf_diag's prediction for a test
// user equals the real probe run as that user, and both equal the expectation.
//
// The expectation is derived from the facts of the running kernel (its
// perf_event_paranoid, whether it carries Debian's perf_event_open
// restriction, whether it has BTF), read here independently of libcheck, so
// the same test holds on this host (paranoid 2) and on a Debian kernel booted
// with its defaults (paranoid 3, see setup/test-kernels.sh). It assumes a
// kernel of 5.11 or newer (CAP_BPF, CAP_PERFMON, bpf_get_current_task_btf()).
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/system.h"

namespace bpfready {
namespace {

using testing::binary_path;
using testing::run_command;

// File capabilities on the copy ("" for none), DESIGN.md's rows.
const char* const kRows[] = {
    "",
    "cap_bpf",
    "cap_bpf,cap_perfmon",
    "cap_bpf,cap_perfmon,cap_dac_read_search",
    "cap_sys_admin",
};

std::string row_name(const std::string& caps) { return caps.empty() ? "none" : caps; }

bool has_cap(const std::string& caps, const std::string& cap) {
  std::stringstream list(caps);
  std::string item;
  while (std::getline(list, item, ',')) {
    if (item == cap) return true;
  }
  return false;
}

// What the kernel decides with, read the way an administrator would.
struct KernelFacts {
  std::optional<long> paranoid;  // kernel.perf_event_paranoid
  // Debian's CONFIG_SECURITY_PERF_EVENTS_RESTRICT: perf_event_open needs
  // CAP_SYS_ADMIN when paranoid > 2. Unknown without a kernel config, and
  // then assumed, as libcheck's model assumes it.
  std::optional<bool> perf_restrict;
  bool btf = false;  // /sys/kernel/btf/vmlinux

  [[nodiscard]] bool perf_open_needs_sys_admin() const { return paranoid && *paranoid > 2 && perf_restrict != false; }
  [[nodiscard]] std::string describe() const {
    return "perf_event_paranoid=" + (paranoid ? std::to_string(*paranoid) : std::string("?")) +
           " perf_events_restrict=" + (perf_restrict ? (*perf_restrict ? "y" : "n") : std::string("unknown")) +
           " btf=" + (btf ? "yes" : "no");
  }
};

// The kernel config: /proc/config.gz, else the distribution's copies.
std::optional<std::string> kernel_config() {
  if (std::ifstream("/proc/config.gz").good()) {
    const auto unpacked = run_command("zcat /proc/config.gz 2>/dev/null");
    if (unpacked.exit_code == 0) return unpacked.output;
  }
  utsname uts{};
  if (::uname(&uts) != 0) return std::nullopt;
  const std::string release = uts.release;
  for (const auto& path : {"/boot/config-" + release, "/lib/modules/" + release + "/config"}) {
    std::ifstream file(path);
    if (file) return std::string(std::istreambuf_iterator<char>(file), {});
  }
  return std::nullopt;
}

KernelFacts read_kernel_facts() {
  KernelFacts facts;
  std::ifstream paranoid("/proc/sys/kernel/perf_event_paranoid");
  long value = 0;
  if (paranoid >> value) facts.paranoid = value;
  if (const auto config = kernel_config()) {
    facts.perf_restrict = config->find("\nCONFIG_SECURITY_PERF_EVENTS_RESTRICT=y\n") != std::string::npos;
  }
  facts.btf = std::ifstream("/sys/kernel/btf/vmlinux").good();
  return facts;
}

struct Expectation {
  bool ok = true;
  std::string stage;  // the failing stage when not ok
};

// The outcome for a user holding CAPS of the probe FLAVOUR ("tp_btf",
// "raw_tp", "perf_tp"), in the order the kernel checks.
Expectation expect(const std::string& caps, const std::string& flavour, bool group_read, const KernelFacts& kernel) {
  const bool sys_admin = has_cap(caps, "cap_sys_admin");
  if (flavour == "tp_btf" && !kernel.btf) return {false, "load"};
  const bool loads = (has_cap(caps, "cap_bpf") || sys_admin) && (has_cap(caps, "cap_perfmon") || sys_admin);
  if (!loads) return {false, "load"};
  if (flavour != "perf_tp") return {};
  // tracefs at 0700 root: only DAC-overriding capabilities read the event id,
  // unless tracefs-setup granted the user's group read access.
  const bool id_readable =
      group_read || has_cap(caps, "cap_dac_read_search") || has_cap(caps, "cap_dac_override");
  if (!id_readable) return {false, "tracefs_id"};
  if (kernel.perf_open_needs_sys_admin() && !sys_admin) return {false, "perf_event_open"};
  return {};
}

// The probe flavour a verdict rests on: its "flavour" field, or (before
// verdicts carried one) its id.
std::string verdict_flavour(const nlohmann::json& verdict) {
  if (verdict.contains("flavour") && verdict.at("flavour").is_string()) return verdict.at("flavour").get<std::string>();
  return verdict.at("id").get<std::string>();
}

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
  void check_row(const std::string& caps, bool group_read) {
    // Read again for every row: tracefs-setup --tracefs-read lowers
    // perf_event_paranoid to 2 where it was higher.
    const KernelFacts kernel = read_kernel_facts();
    SCOPED_TRACE(row_name(caps) + (group_read ? ", tracefs group read" : ", tracefs default") + ", " +
                 kernel.describe());
    run_command("setcap -r " + copy_ + " 2>/dev/null");
    if (!caps.empty()) {
      ASSERT_EQ(run_command("setcap " + caps + "=ep " + copy_).exit_code, 0);
    }

    const auto result =
        run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --json --user " + user_.name() + " --binary " + copy_);
    ASSERT_NE(result.exit_code, 2) << result.output;
    const auto doc = nlohmann::json::parse(result.output);
    // The measured row, for people reading the test log.
    std::string line = "matrix: caps=" + row_name(caps) + " tracefs=" + (group_read ? "group-read" : "default") +
                       " (" + kernel.describe() + ")";
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
    ASSERT_FALSE(doc.at("verdicts").empty());
    for (const auto& v : doc.at("verdicts")) {
      const Expectation expected = expect(caps, verdict_flavour(v), group_read, kernel);
      EXPECT_FALSE(v.at("mismatch").get<bool>()) << v.dump(2);
      ASSERT_FALSE(v.at("proof").is_null()) << "the probe did not run as the user";
      EXPECT_EQ(v.at("proof").at("ok").get<bool>(), expected.ok) << v.dump(2);
      EXPECT_EQ(v.at("prediction").at("ok").get<bool>(), expected.ok) << v.dump(2);
      if (!expected.ok) {
        EXPECT_EQ(v.at("proof").at("stage"), expected.stage) << v.dump(2);
        EXPECT_EQ(v.at("prediction").at("stage"), expected.stage) << v.dump(2);
        const std::string remedy = v.at("remedy").is_null() ? "" : v.at("remedy").get<std::string>();
        EXPECT_EQ(remedy.find("unprivileged_bpf_disabled"), std::string::npos);
        EXPECT_EQ(remedy.find("kptr_restrict"), std::string::npos);
      }
    }

    // The same binary run by the user itself reaches the same verdicts.
    const auto direct = user_.run(copy_ + " --json");
    const auto direct_doc = nlohmann::json::parse(direct.output);
    for (const auto& v : direct_doc.at("verdicts")) {
      const Expectation expected = expect(caps, verdict_flavour(v), group_read, kernel);
      EXPECT_EQ(v.at("ready").get<bool>(), expected.ok) << "run directly by the user: " << v.dump(2);
      EXPECT_FALSE(v.at("mismatch").get<bool>()) << v.dump(2);
    }
  }

  testing::TracefsMounted tracefs_;
  testing::TestUser user_;
  testing::ScratchDir scratch_;
  std::string copy_;
};

TEST_F(PermissionMatrix, TracefsDefaultMode) {
  for (const char* caps : kRows) check_row(caps, false);
}

TEST_F(PermissionMatrix, TracefsGroupReadThroughTracefsSetup) {
  const std::string setup = binary_path("tools/tracefs-setup/tracefs-setup");
  const std::string group = testing::unique_name("bpfr_g");
  // The user's capabilities come from the copy's file capabilities, set per
  // row; tracefs-setup only grants the group read access to tracefs here.
  const auto applied = run_command(setup + " apply --group " + group + " --user " + user_.name() +
                                   " --tracefs-read 2>&1");
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  for (const char* caps : kRows) check_row(caps, true);
  const auto reverted = run_command(setup + " revert 2>&1");
  EXPECT_EQ(reverted.exit_code, 0) << reverted.output;
  EXPECT_EQ(run_command("stat -c %a /sys/kernel/tracing").output, "700\n");
  EXPECT_NE(run_command("getent group " + group).exit_code, 0) << "revert left the group behind";
}

// Every row that is not ready, fixed by following the printed steps: after
// them each verdict is ready, proven by probes run as the user, or the
// report said there is no safe fix and why. Each row starts from a fresh
// copy and ends reverted.
TEST_F(PermissionMatrix, PrintedStepsMakeEveryRowReady) {
  const std::string setup = binary_path("tools/tracefs-setup/tracefs-setup");
  const std::string diag = binary_path("tools/ebpf_diag/ebpf_diag");
  for (const std::string caps : kRows) {
    SCOPED_TRACE("row " + row_name(caps));
    const std::string group = testing::unique_name("bpfr_g");
    struct RevertOnExit {
      std::string command;
      ~RevertOnExit() { run_command(command); }
    } revert_on_exit{setup + " revert >/dev/null 2>&1"};
    ASSERT_EQ(run_command("setcap -r " + copy_ + " 2>/dev/null; chown root:root " + copy_ + " && chmod 0755 " + copy_)
                  .exit_code,
              0);
    if (!caps.empty()) {
      ASSERT_EQ(run_command("setcap " + caps + "=ep " + copy_).exit_code, 0);
    }
    const std::string audit = diag + " --json --user " + user_.name() + " --binary " + copy_ + " 2>/dev/null";
    const auto before = nlohmann::json::parse(run_command(audit).output).at("verdicts");
    std::vector<std::string> fixed;
    for (const auto& v : before) {
      if (v.at("ready").get<bool>()) continue;
      if (v.at("fix_steps").empty()) {
        EXPECT_TRUE(v.at("no_safe_fix").is_string()) << "neither steps nor a reason: " << v.dump(2);
        continue;
      }
      fixed.push_back(v.at("id").get<std::string>());
      for (const auto& printed : v.at("fix_steps")) {
        std::string step = printed.get<std::string>();
        // As printed, with this test's own group and tracefs-setup.
        const std::string apply = "sudo tracefs-setup apply";
        ASSERT_EQ(step.rfind(apply, 0), 0U) << step;
        std::string command = setup;
        command.append(" apply --group ").append(group).append(step.substr(apply.size()));
        step = std::move(command);
        const auto ran = run_command(step + " 2>&1");
        ASSERT_EQ(ran.exit_code, 0) << step << "\n" << ran.output;
      }
    }
    std::string line = "fix: caps=" + row_name(caps) + ", steps followed for:";
    for (const auto& id : fixed) line += " " + id;
    std::cout << line << "\n";
    const auto after = nlohmann::json::parse(run_command(audit).output).at("verdicts");
    for (const auto& v : after) {
      if (std::find(fixed.begin(), fixed.end(), v.at("id").get<std::string>()) == fixed.end()) continue;
      EXPECT_TRUE(v.at("ready").get<bool>()) << v.dump(2);
      EXPECT_FALSE(v.at("proof").is_null()) << "ready must be proven by a probe run as the user";
    }
    const auto reverted = run_command(setup + " revert 2>&1");
    EXPECT_EQ(reverted.exit_code, 0) << reverted.output;
  }
  EXPECT_EQ(run_command("stat -c %a /sys/kernel/tracing").output, "700\n");
}

}  // namespace
}  // namespace bpfready
