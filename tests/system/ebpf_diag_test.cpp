// ebpf_diag on the real host: as root, as an ordinary user without
// capabilities, and as that user through file capabilities.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/system.h"

namespace bpfready {
namespace {

using testing::binary_path;
using testing::run_command;

const nlohmann::json* verdict(const nlohmann::json& doc, const std::string& id) {
  for (const auto& v : doc.at("verdicts")) {
    if (v.at("id") == id) return &v;
  }
  return nullptr;
}

const nlohmann::json* check(const nlohmann::json& doc, const std::string& id) {
  for (const auto& c : doc.at("checks")) {
    if (c.at("id") == id) return &c;
  }
  return nullptr;
}

TEST(EbpfDiagSystem, ReadyAsRootWithBothProbesPassing) {
  BPFREADY_REQUIRE_ROOT();
  testing::TracefsMounted tracefs;
  const auto result = run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --json --require raw_tp,perf_tp");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto doc = nlohmann::json::parse(result.output);
  EXPECT_EQ(doc.at("schema_version"), 2);
  EXPECT_TRUE(doc.at("ready").get<bool>());
  for (const char* id : {"probe.tp_btf", "probe.raw_tp", "probe.perf_tp"}) {
    const auto* c = check(doc, id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_EQ(c->at("status"), "pass") << c->dump();
  }
  for (const char* id : {"tp_btf", "raw_tp", "perf_tp", "syscount"}) {
    const auto* v = verdict(doc, id);
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->at("ready").get<bool>());
    EXPECT_FALSE(v->at("mismatch").get<bool>());
  }
}

TEST(EbpfDiagSystem, TextReportQuietAndPrometheusAgree) {
  BPFREADY_REQUIRE_ROOT();
  const auto quiet = run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --quiet");
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_TRUE(quiet.output.empty());
  const auto text = run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --color never");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.output.find("READY"), std::string::npos);
  EXPECT_EQ(text.output.find('\033'), std::string::npos) << "colour escapes without a TTY";
  const auto prom = run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --prometheus");
  EXPECT_NE(prom.output.find("bpfready_verdict_ready{subject=\"root\",tool=\"raw_tp\"} 1"), std::string::npos)
      << prom.output;
}

class UnprivilegedUser : public ::testing::Test {
 protected:
  void SetUp() override {
    BPFREADY_REQUIRE_ROOT();
    ASSERT_TRUE(user_.ok()) << "useradd failed";
    ASSERT_FALSE(scratch_.path().empty());
    copy_ = scratch_.path() + "/ebpf_diag";
    ASSERT_EQ(run_command("cp " + binary_path("tools/ebpf_diag/ebpf_diag") + " " + copy_ + " && chmod 0755 " + copy_)
                  .exit_code,
              0);
  }
  testing::TracefsMounted tracefs_;
  testing::TestUser user_;
  testing::ScratchDir scratch_;
  std::string copy_;
};

TEST_F(UnprivilegedUser, WithoutCapabilitiesNotReadyAndNamesTheCapabilities) {
  const auto result = user_.run(copy_ + " --json");
  ASSERT_EQ(result.exit_code, 1) << result.output;
  const auto doc = nlohmann::json::parse(result.output);
  const auto* raw = verdict(doc, "raw_tp");
  ASSERT_NE(raw, nullptr);
  const auto* typed = verdict(doc, "syscount");
  ASSERT_NE(typed, nullptr);
  EXPECT_EQ(typed->at("flavour"), "tp_btf");
  EXPECT_FALSE(typed->at("ready").get<bool>());
  EXPECT_EQ(typed->at("proof").at("stage"), "load");
  EXPECT_EQ(typed->at("proof").at("errno_name"), "EPERM");
  EXPECT_FALSE(typed->at("mismatch").get<bool>()) << typed->dump(2);
  EXPECT_FALSE(raw->at("ready").get<bool>());
  EXPECT_FALSE(raw->at("mismatch").get<bool>()) << raw->dump(2);
  EXPECT_EQ(raw->at("proof").at("stage"), "load");
  EXPECT_EQ(raw->at("proof").at("errno_name"), "EPERM");
  const std::string remedy = raw->at("remedy").get<std::string>();
  // Capabilities go to the user's tool through tracefs-setup, never to ebpf_diag (the copy) itself.
  EXPECT_NE(remedy.find("sudo tracefs-setup apply --user \"$USER\" --binary "), std::string::npos) << remedy;
  EXPECT_EQ(remedy.find(copy_), std::string::npos) << remedy;
  EXPECT_EQ(remedy.find("setcap"), std::string::npos) << remedy;
  EXPECT_NE(typed->at("remedy").get<std::string>().find("syscount"), std::string::npos) << typed->dump(2);
  const std::string reason = raw->at("prediction").at("reason").get<std::string>();
  EXPECT_NE(reason.find("CAP_BPF"), std::string::npos);
  EXPECT_NE(reason.find("CAP_PERFMON"), std::string::npos);

  const auto text = user_.run(copy_ + " --color never");
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.output.find("CAP_BPF and CAP_PERFMON"), std::string::npos) << text.output;
}

TEST_F(UnprivilegedUser, FileCapabilitiesProveRawTracepointButNotTracefsAtDefaultMode) {
  const auto mode = run_command("stat -c %a /sys/kernel/tracing");
  ASSERT_EQ(mode.output, "700\n") << "this test needs tracefs at its default mode 0700";
  ASSERT_EQ(run_command("setcap cap_bpf,cap_perfmon=ep " + copy_).exit_code, 0);

  const auto result = user_.run(copy_ + " --json");
  ASSERT_EQ(result.exit_code, 0) << "syscount is ready, which decides the default exit status\n"
                                 << result.output;
  const auto doc = nlohmann::json::parse(result.output);
  for (const char* id : {"tp_btf", "syscount"}) {
    const auto* v = verdict(doc, id);
    ASSERT_NE(v, nullptr) << id;
    EXPECT_TRUE(v->at("ready").get<bool>()) << v->dump(2);
    EXPECT_EQ(v->at("proof").at("counted"), 1000) << id;
    EXPECT_FALSE(v->at("mismatch").get<bool>()) << id;
  }
  const auto* raw = verdict(doc, "raw_tp");
  const auto* perf = verdict(doc, "perf_tp");
  ASSERT_NE(raw, nullptr);
  ASSERT_NE(perf, nullptr);
  EXPECT_TRUE(raw->at("ready").get<bool>());
  EXPECT_TRUE(raw->at("prediction").at("ok").get<bool>());
  EXPECT_FALSE(perf->at("ready").get<bool>());
  EXPECT_EQ(perf->at("proof").at("stage"), "tracefs_id");
  EXPECT_EQ(perf->at("proof").at("errno_name"), "EACCES");
  EXPECT_FALSE(perf->at("prediction").at("ok").get<bool>());
  EXPECT_EQ(perf->at("prediction").at("stage"), "tracefs_id");
  EXPECT_FALSE(raw->at("mismatch").get<bool>());
  EXPECT_FALSE(perf->at("mismatch").get<bool>());

  const auto strict = user_.run(copy_ + " --quiet --require raw_tp,perf_tp");
  EXPECT_EQ(strict.exit_code, 1) << "perf_tp required but not ready";
}

TEST_F(UnprivilegedUser, FixLineQuotesAHostileBinaryPath) {
  const std::string dir = scratch_.path() + "/x;id>&2;#";
  const std::string evil = dir + "/ebpf_diag";
  std::filesystem::create_directory(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                        std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                        std::filesystem::perms::others_exec);
  std::filesystem::copy_file(copy_, evil);
  std::filesystem::permissions(evil, std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_exec | std::filesystem::perms::others_read |
                                         std::filesystem::perms::group_read);
  // runuser executes the path itself; only this outer shell needs the quotes.
  const auto result = run_command("runuser -u " + user_.name() + " -- '" + evil + "' --color never 2>&1");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("fix: sudo setcap cap_bpf,cap_perfmon=ep '" + evil + "'"), std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find("=ep " + evil), std::string::npos) << "an unquoted path in a fix line:\n"
                                                                   << result.output;
}

// Issue 11, item 1: as root, `--user U` must not report root's own
// capabilities or tracefs access as U's: those rows are read again for U,
// and the rows only this process can answer say whose they are.
TEST_F(UnprivilegedUser, UserModeRowsDescribeTheSubjectNotThisProcess) {
  const auto result = run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --json --no-probe --user " + user_.name());
  ASSERT_EQ(result.exit_code, 1) << result.output;
  const auto doc = nlohmann::json::parse(result.output);
  const auto* caps = check(doc, "caps.effective");
  ASSERT_NE(caps, nullptr);
  EXPECT_EQ(caps->at("status"), "fail") << caps->dump(2);
  const std::string caps_reason = caps->at("reason").get<std::string>();
  EXPECT_NE(caps_reason.find(user_.name()), std::string::npos) << caps_reason;
  EXPECT_EQ(caps_reason.find("this process"), std::string::npos) << caps_reason;
  const auto* id = check(doc, "tracefs.event_id");
  ASSERT_NE(id, nullptr);
  if (run_command("stat -c %a /sys/kernel/tracing").output == "700\n") {
    EXPECT_EQ(id->at("status"), "fail") << id->dump(2);
  }
  const std::string id_reason = id->at("reason").get<std::string>();
  EXPECT_EQ(id_reason.find("this process"), std::string::npos) << id_reason;
  if (id->at("status") == "fail") {
    const std::string id_remedy = id->at("remedy").get<std::string>();
    EXPECT_NE(id_remedy.find("--user " + user_.name()), std::string::npos) << id_remedy;
  }
  const auto* binary = check(doc, "caps.binary");
  ASSERT_NE(binary, nullptr);
  EXPECT_NE(binary->at("reason").get<std::string>().find("ebpf_diag's own binary"), std::string::npos)
      << binary->dump(2);
  const auto* bounding = check(doc, "caps.bounding");
  ASSERT_NE(bounding, nullptr);
  EXPECT_NE(bounding->at("reason").get<std::string>().find("read from this process, not from " + user_.name()),
            std::string::npos)
      << bounding->dump(2);
}

TEST(EbpfDiagSystem, NeverChangesTheSystem) {
  BPFREADY_REQUIRE_ROOT();
  const std::string state_cmd =
      "findmnt -rn -o TARGET,FSTYPE,OPTIONS; cat /proc/sys/kernel/perf_event_paranoid "
      "/proc/sys/kernel/unprivileged_bpf_disabled /proc/sys/kernel/kptr_restrict; "
      "stat -c '%a %u %g' /sys/kernel/tracing 2>/dev/null";
  const auto before = run_command(state_cmd);
  run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " --quiet");
  EXPECT_EQ(run_command(state_cmd).output, before.output);
}

TEST(EbpfDiagSystem, BadInputGetsOneLineAndExit2) {
  BPFREADY_REQUIRE_ROOT();
  for (const std::string args : {"--check no.such.check", "--frobnicate", "--require everything", "--root /nonexistent"}) {
    const auto result = run_command(binary_path("tools/ebpf_diag/ebpf_diag") + " " + args + " 2>&1");
    EXPECT_EQ(result.exit_code, 2) << args << ": " << result.output;
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << args << ": " << result.output;
  }
}

}  // namespace
}  // namespace bpfready
