// ebpf_diag in-process over the fixture hosts (--root, --no-probe): exit
// codes, JSON and Prometheus output, and usage errors, through the same parse
// and app calls as its main; a few runs of the built binary prove main's
// wiring. It reads only the fixture tree, so no privileges are needed and the
// live host is not touched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "libcheck/checks.h"
#include "libcheck/common/text.h"
#include "support/unit.h"
#include "unit/ebpf_diag/run_diag.h"
#include "tools/ebpf_diag/app.h"
#include "tools/ebpf_diag/cli.h"
#include "unit/check/hostile.h"

namespace bpfready {
namespace {

using unit::contains;
using unit::fixture_host;

using Run = unit::DiagRun;
using unit::diag_binary;
using unit::run_diag;

// The built binary: fork/exec without a shell; stdout and stderr go to files
// so neither pipe can fill.
Run exec_diag(const std::vector<std::string>& args) {
  const unit::ScratchTree scratch;
  const auto out_path = scratch.at("/stdout").string();
  const auto err_path = scratch.at("/stderr").string();
  std::vector<std::string> argv_storage = {diag_binary()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || err < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) _exit(126);
    ::setenv("NO_COLOR", "1", 1);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  Run run;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = unit::read_file(out_path);
  run.err = unit::read_file(err_path);
  return run;
}

class EbpfDiagCli : public ::testing::Test {
 protected:
  static std::vector<std::string> on(const std::string& host, std::vector<std::string> more) {
    std::vector<std::string> args = {"--root", fixture_host(host).string(), "--no-probe"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
};

const nlohmann::json& by_id(const nlohmann::json& list, const std::string& id) {
  for (const auto& item : list) {
    if (item.at("id") == id) return item;
  }
  throw std::runtime_error("no entry " + id);
}

TEST_F(EbpfDiagCli, JsonOverEveryFixture) {
  struct Want {
    const char* host;
    int exit_code;
    bool raw_ready;
    bool perf_ready;
  };
  const Want wants[] = {
      {"debian12-vm-6.18", 0, true, true},       {"ubuntu2204-paranoid4", 0, true, false},
      {"container-no-tracefs", 1, false, false}, {"kernel-5.4", 1, false, false},
      {"lockdown-confidentiality", 0, true, false}, {"unpriv-bpf-enabled", 0, true, true},
      {"tracefs-group-read", 0, true, true},     {"custom-6.6-no-btf", 0, true, true},
      {"debian11-5.10", 0, true, false},         {"rhel8-4.18", 1, false, false},
  };
  for (const auto& want : wants) {
    SCOPED_TRACE(want.host);
    const auto run = run_diag(on(want.host, {"--json"}));
    EXPECT_EQ(run.exit_code, want.exit_code) << run.err;
    EXPECT_TRUE(run.err.empty()) << run.err;
    const auto doc = nlohmann::json::parse(run.out);
    EXPECT_EQ(doc.at("schema_version"), 2);
    EXPECT_EQ(doc.at("live"), false);
    EXPECT_EQ(doc.at("exit_code"), want.exit_code);
    EXPECT_EQ(doc.at("ready"), want.exit_code == 0);
    EXPECT_EQ(doc.at("checks").size(), check_table().size());
    EXPECT_EQ(by_id(doc.at("verdicts"), "raw_tp").at("ready"), want.raw_ready);
    EXPECT_EQ(by_id(doc.at("verdicts"), "perf_tp").at("ready"), want.perf_ready);
    EXPECT_EQ(by_id(doc.at("verdicts"), "syscount").at("ready"), want.exit_code == 0);
    EXPECT_EQ(by_id(doc.at("checks"), "probe.raw_tp").at("status"), "skip");
    EXPECT_EQ(by_id(doc.at("checks"), "caps.binary").at("status"), "skip");
    EXPECT_EQ(doc.at("kernel_release"), unit::read_file(fixture_host(want.host) / "proc/sys/kernel/osrelease").substr(
                                            0, doc.at("kernel_release").get<std::string>().size()));
  }
}

TEST_F(EbpfDiagCli, HostnameAndKeyFindings) {
  const auto doc = nlohmann::json::parse(run_diag(on("unpriv-bpf-enabled", {"--json"})).out);
  EXPECT_EQ(doc.at("hostname"), "seeded");
  EXPECT_EQ(doc.at("summary").at("security_findings"), 5);
  EXPECT_EQ(by_id(doc.at("checks"), "sysctl.persisted").at("status"), "warn");
  const auto container = nlohmann::json::parse(run_diag(on("container-no-tracefs", {"--json"})).out);
  const auto& caps = by_id(container.at("checks"), "caps.effective");
  EXPECT_EQ(caps.at("status"), "fail");
  EXPECT_FALSE(contains(caps.at("remedy").get<std::string>(), "setcap")) << "never capabilities on ebpf_diag";
  EXPECT_EQ(by_id(container.at("checks"), "config.source").at("status"), "warn");
}

TEST_F(EbpfDiagCli, RequireDecidesTheExitCode) {
  EXPECT_EQ(run_diag(on("ubuntu2204-paranoid4", {"--quiet"})).exit_code, 0);
  EXPECT_EQ(run_diag(on("ubuntu2204-paranoid4", {"--quiet", "--require", "perf_tp"})).exit_code, 1);
  EXPECT_EQ(run_diag(on("ubuntu2204-paranoid4", {"--quiet", "--require", "raw_tp,perf_tp"})).exit_code, 1);
  EXPECT_EQ(run_diag(on("tracefs-group-read", {"--quiet", "--require", "raw_tp,perf_tp"})).exit_code, 0);
  // Without BTF syscount works through its fallback, typed programs do not.
  EXPECT_EQ(run_diag(on("custom-6.6-no-btf", {"--quiet"})).exit_code, 0);
  EXPECT_EQ(run_diag(on("custom-6.6-no-btf", {"--quiet", "--require", "tp_btf"})).exit_code, 1);
  EXPECT_EQ(run_diag(on("custom-6.6-no-btf", {"--quiet", "--require", "raw_tp,syscount"})).exit_code, 0);
  const auto json = run_diag(on("ubuntu2204-paranoid4", {"--json", "--require", "perf_tp"}));
  EXPECT_EQ(nlohmann::json::parse(json.out).at("exit_code"), 1);
}

TEST_F(EbpfDiagCli, QuietPrintsNothing) {
  const auto run = run_diag(on("kernel-5.4", {"--quiet"}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.out.empty());
  EXPECT_TRUE(run.err.empty());
}

TEST_F(EbpfDiagCli, TextHasNoEscapesWhenNotATerminal) {
  const auto run = run_diag(on("debian12-vm-6.18", {}));
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_TRUE(contains(run.out, "(fixture)"));
  EXPECT_TRUE(contains(run.out, "ready (exit 0)"));
  EXPECT_FALSE(contains(run.out, "\033"));
  EXPECT_FALSE(contains(run_diag(on("debian12-vm-6.18", {"--color", "never"})).out, "\033"));
  EXPECT_TRUE(contains(run_diag(on("debian12-vm-6.18", {"--color", "always"})).out, "\033["));
}

TEST_F(EbpfDiagCli, PrometheusLines) {
  const auto run = run_diag(on("container-no-tracefs", {"--prometheus"}));
  EXPECT_EQ(run.exit_code, 1);
  const std::regex line(R"((# (HELP|TYPE) [a-z_]+ .+)|([a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+))");
  std::istringstream lines(run.out);
  std::string l;
  int samples = 0;
  while (std::getline(lines, l)) {
    EXPECT_TRUE(std::regex_match(l, line)) << l;
    samples += l.starts_with("#") ? 0 : 1;
  }
  EXPECT_GT(samples, static_cast<int>(check_table().size() * 5));
  EXPECT_TRUE(contains(run.out, "bpfready_ready{subject=\"uid 0\"} 0\n")) << run.out;
}

TEST_F(EbpfDiagCli, SelectedChecksOnly) {
  auto run = run_diag(on("container-no-tracefs", {"--json", "--check", "caps.effective"}));
  EXPECT_EQ(run.exit_code, 1);
  auto doc = nlohmann::json::parse(run.out);
  ASSERT_EQ(doc.at("checks").size(), 1U);
  EXPECT_EQ(doc.at("checks")[0].at("id"), "caps.effective");
  EXPECT_TRUE(doc.at("verdicts").empty());
  run = run_diag(on("debian12-vm-6.18", {"--json", "--check", "caps.effective", "--check", "tracefs.mode"}));
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(run.out).at("checks").size(), 2U);
}

TEST_F(EbpfDiagCli, ListChecksNamesEveryId) {
  const auto run = run_diag({"--list-checks"});
  EXPECT_EQ(run.exit_code, 0);
  std::istringstream lines(run.out);
  std::string l;
  std::vector<std::string> ids;
  while (std::getline(lines, l)) {
    std::istringstream words(l);
    std::string id;
    words >> id;
    ids.push_back(id);
  }
  std::vector<std::string> table;
  for (const auto& def : check_table()) table.emplace_back(def.id);
  table.emplace_back("user.subject");
  EXPECT_EQ(ids, table);
}


void expect_usage_error(const Run& run, const std::string& words) {
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(run.out.empty()) << run.out;
  ASSERT_FALSE(run.err.empty());
  EXPECT_EQ(run.err.back(), '\n');
  EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "one line: " << run.err;
  EXPECT_TRUE(run.err.starts_with("ebpf_diag: ")) << run.err;
  EXPECT_TRUE(contains(run.err, words)) << run.err;
}

// Every id a report can show is listed and accepted by --check.
TEST_F(EbpfDiagCli, TheUserRowIsACheckLikeAnyOther) {
  const auto parsed = parse_diag_args({"ebpf_diag", "--user", "root", "--check", "user.subject"});
  ASSERT_TRUE(std::holds_alternative<DiagOptions>(parsed));
  expect_usage_error(run_diag({"--check", "user.subject"}), "only with --user");
  // Selected, the row is all there is; not selected, it is left out.
  const auto only = run_diag({"--json", "--no-probe", "--user", "root", "--check", "user.subject"});
  ASSERT_EQ(only.exit_code, 0) << only.err;
  const auto doc = nlohmann::json::parse(only.out);
  ASSERT_EQ(doc.at("checks").size(), 1U);
  EXPECT_EQ(doc.at("checks")[0].at("id"), "user.subject");
  const auto other = nlohmann::json::parse(
      run_diag({"--json", "--no-probe", "--user", "root", "--check", "kernel.release"}).out);
  ASSERT_EQ(other.at("checks").size(), 1U);
  EXPECT_EQ(other.at("checks")[0].at("id"), "kernel.release");
}

TEST_F(EbpfDiagCli, UsageErrorsExitTwoWithOneLine) {
  expect_usage_error(run_diag(on("debian12-vm-6.18", {"--check", "no.such.check"})), "unknown check 'no.such.check'");
  expect_usage_error(run_diag(on("debian12-vm-6.18", {"--frobnicate"})), "frobnicate");
  expect_usage_error(run_diag(on("debian12-vm-6.18", {"--require", "kprobe"})), "kprobe");
  expect_usage_error(run_diag(on("debian12-vm-6.18", {"--json", "--prometheus"})), "--");
  expect_usage_error(run_diag(on("debian12-vm-6.18", {"--color", "purple"})), "purple");
  expect_usage_error(run_diag({"--root", "/nonexistent/bpfready-fixture", "--no-probe"}), "/nonexistent/bpfready-fixture");
  expect_usage_error(run_diag(on("debian12-vm-6.18", {"stray-argument"})), "stray-argument");
}

TEST_F(EbpfDiagCli, HelpAndVersionExitZero) {
  const auto help = run_diag({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "--root"));
  EXPECT_TRUE(contains(help.out, "Exit status"));
  const auto version = run_diag({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(contains(version.out, "ebpf_diag "));
}

// --- beyond the original binary runs ---------------------------------------

std::vector<std::string> statuses(const std::string& json_text) {
  std::vector<std::string> out;
  const auto doc = nlohmann::json::parse(json_text);  // alive for the whole loop (a temporary would not be)
  for (const auto& c : doc.at("checks")) {
    out.push_back(c.at("id").get<std::string>() + "=" + c.at("status").get<std::string>());
  }
  return out;
}

TEST_F(EbpfDiagCli, BinaryWiresParseAndApp) {
  ASSERT_EQ(::access(diag_binary().c_str(), X_OK), 0)
      << diag_binary() << " is missing: build the ebpf_diag target before unit_tests";
  const auto version = exec_diag({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.out.starts_with("ebpf_diag ")) << version.out;
  EXPECT_EQ(version.out, run_diag({"--version"}).out);
  expect_usage_error(exec_diag(on("debian12-vm-6.18", {"--frobnicate"})), "frobnicate");
  expect_usage_error(exec_diag(on("debian12-vm-6.18", {"--check", "no.such.check"})), "unknown check");
  for (const char* host : {"debian12-vm-6.18", "kernel-5.4"}) {
    SCOPED_TRACE(host);
    const auto binary = exec_diag(on(host, {"--json"}));
    const auto in_process = run_diag(on(host, {"--json"}));
    EXPECT_EQ(binary.exit_code, in_process.exit_code) << binary.err;
    EXPECT_EQ(statuses(binary.out), statuses(in_process.out));
  }
  EXPECT_EQ(exec_diag({"--list-checks"}).out, run_diag({"--list-checks"}).out);
}

TEST_F(EbpfDiagCli, ParseCollectsEveryOption) {
  const auto root = fixture_host("kernel-5.4").string();
  auto parsed = parse_diag_args(std::vector<std::string>{
      "ebpf_diag", "--prometheus", "-q", "-v", "--no-probe", "--check", "caps.effective", "--check", "tracefs.mode",
      "--require", "raw_tp,perf_tp", "--root", root, "--color", "never"});
  ASSERT_TRUE(std::holds_alternative<DiagOptions>(parsed));
  const auto options = std::get<DiagOptions>(parsed);
  EXPECT_EQ(options.format, OutputFormat::prometheus);
  EXPECT_TRUE(options.quiet);
  EXPECT_TRUE(options.verbose);
  EXPECT_TRUE(options.no_probe);
  EXPECT_FALSE(options.list_checks);
  EXPECT_EQ(options.check_ids, (std::vector<std::string>{"caps.effective", "tracefs.mode"}));
  EXPECT_EQ(options.required, (std::vector<std::string>{"raw_tp", "perf_tp"}));
  EXPECT_EQ(options.root_dir, root);
  EXPECT_EQ(options.color, "never");

  for (const auto& argv : {std::vector<std::string>{"ebpf_diag"}, std::vector<std::string>{}}) {
    parsed = parse_diag_args(argv);
    ASSERT_TRUE(std::holds_alternative<DiagOptions>(parsed));
    const auto defaults = std::get<DiagOptions>(parsed);
    EXPECT_EQ(defaults.required, (std::vector<std::string>{"syscount"}));
    EXPECT_EQ(defaults.root_dir, "/");
    EXPECT_EQ(defaults.color, "auto");
    EXPECT_TRUE(defaults.user.empty());
    EXPECT_FALSE(defaults.no_probe || defaults.quiet);
    EXPECT_EQ(defaults.format, OutputFormat::text);
    EXPECT_TRUE(defaults.status_file.empty());
  }
  EXPECT_EQ(std::get<DiagOptions>(parse_diag_args({"ebpf_diag", "--require", "perf_tp"})).required,
            (std::vector<std::string>{"perf_tp"}));
  parsed = parse_diag_args({"ebpf_diag", "--user", "alice", "--binary", "/bin/sh"});
  ASSERT_TRUE(std::holds_alternative<DiagOptions>(parsed));
  EXPECT_EQ(std::get<DiagOptions>(parsed).user, "alice");
  EXPECT_EQ(std::get<DiagOptions>(parsed).binary, "/bin/sh");
  expect_usage_error(run_diag({"--binary", "/bin/sh"}), "--user");
}

TEST_F(EbpfDiagCli, ListChecksWinsOverUnknownCheck) {
  const auto run = run_diag({"--list-checks", "--check", "no.such.check"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_TRUE(run.err.empty()) << run.err;
  EXPECT_EQ(run.out, run_diag({"--list-checks"}).out);
}

TEST_F(EbpfDiagCli, UserNeedsTheLiveHost) {
  expect_usage_error(run_diag(on("debian12-vm-6.18", {"--user", "root"})), "--user works on the live host only");
}

TEST_F(EbpfDiagCli, SelectedChecksDecideJsonAndQuiet) {
  auto doc = nlohmann::json::parse(run_diag(on("container-no-tracefs", {"--json", "--check", "caps.effective"})).out);
  EXPECT_EQ(doc.at("exit_code"), 1);
  EXPECT_EQ(doc.at("ready"), false);
  doc = nlohmann::json::parse(run_diag(on("debian12-vm-6.18", {"--json", "--check", "caps.effective"})).out);
  EXPECT_EQ(doc.at("exit_code"), 0);
  EXPECT_EQ(doc.at("ready"), true);
  const auto quiet = run_diag(on("container-no-tracefs", {"--quiet", "--check", "caps.effective"}));
  EXPECT_EQ(quiet.exit_code, 1);
  EXPECT_TRUE(quiet.out.empty());
  EXPECT_EQ(run_diag(on("container-no-tracefs", {"--quiet", "--check", "sysctl.persisted"})).exit_code, 0);
}

TEST_F(EbpfDiagCli, ColourFollowsTheTerminal) {
  const auto text_on_terminal = [](const std::string& color) {
    std::vector<std::string> argv = {"ebpf_diag"};
    for (auto& arg : on("debian12-vm-6.18", {"--color", color})) argv.push_back(arg);
    std::ostringstream out;
    std::ostringstream err;
    EXPECT_EQ(run_ebpf_diag(std::get<DiagOptions>(parse_diag_args(argv)), out, err, /*out_is_terminal=*/true), 0);
    return out.str();
  };
  EXPECT_FALSE(contains(text_on_terminal("never"), "\033"));
  EXPECT_EQ(contains(text_on_terminal("auto"), "\033["), std::getenv("NO_COLOR") == nullptr);
}

Subject alice() {
  Subject subject;
  subject.name = "alice";
  subject.uid = 4242;
  subject.gid = 4242;
  subject.groups = {4242};
  return subject;
}

TEST(EbpfDiagUserRow, WithoutBinaryPasses) {
  const auto row = user_subject_row(alice(), "", unit::load_host("debian12-vm-6.18"));
  EXPECT_EQ(row.id, "user.subject");
  EXPECT_EQ(row.group, "user");
  EXPECT_EQ(row.status, Status::pass);
  EXPECT_TRUE(row.reason.starts_with("alice (uid 4242) with ")) << row.reason;
  EXPECT_EQ(unit::evidence(row, "binary"), "none");
  EXPECT_EQ(unit::evidence(row, "binary_caps"), "none");
  EXPECT_EQ(unit::evidence(row, "groups"), "4242");
}

TEST(EbpfDiagUserRow, BinaryModeDecides) {
  if (::geteuid() == 4242) GTEST_SKIP() << "alice's uid is this process's";
  const unit::ScratchTree scratch;
  scratch.write("/tool", "#!/bin/sh\n");
  const auto tool = scratch.at("/tool");
  const auto snapshot = unit::load_host("debian12-vm-6.18");
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  auto row = user_subject_row(alice(), tool.string(), snapshot);
  EXPECT_EQ(row.status, Status::fail);
  EXPECT_TRUE(contains(row.reason, "alice may not execute " + tool.string() + " (mode ")) << row.reason;
  EXPECT_EQ(row.remedy, "sudo tracefs-setup apply --user alice --binary " + tool.string());
  EXPECT_EQ(unit::evidence(row, "binary"), tool.string());

  std::filesystem::permissions(tool, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                         std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                         std::filesystem::perms::others_exec);
  row = user_subject_row(alice(), tool.string(), snapshot);
  EXPECT_EQ(row.status, Status::pass);
  EXPECT_TRUE(row.reason.ends_with(" running " + tool.string())) << row.reason;
  EXPECT_TRUE(row.remedy.empty());

  row = user_subject_row(alice(), scratch.at("/missing").string(), snapshot);
  EXPECT_EQ(row.status, Status::error);
  EXPECT_FALSE(row.reason.empty());
}

TEST(EbpfDiagUserRow, BlockedVerdictsFailAtExec) {
  const auto snapshot = unit::load_host("debian12-vm-6.18");
  const auto verdicts = derive_verdicts(snapshot, alice(), "/usr/bin/syscount");
  ASSERT_FALSE(verdicts.empty());
  CheckResult row;
  row.status = Status::pass;
  auto same = verdicts;
  block_verdicts_on_exec(same, row);
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    EXPECT_EQ(same[i].ready, verdicts[i].ready);
    EXPECT_EQ(same[i].reason, verdicts[i].reason);
  }
  row.status = Status::fail;
  row.reason = "alice may not execute /usr/bin/syscount";
  row.remedy = "sudo tracefs-setup apply --user alice --binary /usr/bin/syscount";
  auto blocked = verdicts;
  block_verdicts_on_exec(blocked, row);
  for (const auto& v : blocked) {
    SCOPED_TRACE(v.id);
    EXPECT_FALSE(v.ready);
    EXPECT_FALSE(v.prediction.ok);
    EXPECT_EQ(v.prediction.stage, ProbeStage::exec);
    EXPECT_EQ(v.prediction.errnum, EACCES);
    EXPECT_EQ(v.reason, row.reason);
    EXPECT_EQ(v.remedy, row.remedy);
  }
}

TEST(EbpfDiagUserRow, RemedyQuotesAHostileBinaryPath) {
  if (::geteuid() == 4242) GTEST_SKIP() << "alice's uid is this process's";
  const unit::ScratchTree scratch;
  scratch.write("/x;id>&2;#/ebpf_diag", "#!/bin/sh\n");
  const auto tool = scratch.at("/x;id>&2;#/ebpf_diag").string();
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  const auto row = user_subject_row(alice(), tool, unit::load_host("debian12-vm-6.18"));
  ASSERT_EQ(row.status, Status::fail);
  EXPECT_EQ(row.remedy, "sudo tracefs-setup apply --user alice --binary '" + tool + "'");
  auto eve = alice();
  eve.name = "eve$(reboot)";
  EXPECT_EQ(user_subject_row(eve, tool, unit::load_host("debian12-vm-6.18")).remedy,
            "sudo tracefs-setup apply --user 'eve$(reboot)' --binary '" + tool + "'");
}

// A --root tree where every file the snapshot reads is hostile in its own way.
void make_hostile_host(const unit::ScratchTree& tree) {
  tree.copy_host("debian12-vm-6.18");
  tree.write("/proc/sys/kernel/osrelease", hostile::garbage() + "\n");
  tree.write("/proc/sys/kernel/hostname", "vm\x1b]0;owned\x07\xff\n");
  tree.write("/proc/config.gz", hostile::gzip_bomb(std::size_t{64} << 20));
  hostile::make_fifo(tree, "/sys/kernel/security/lockdown");
  hostile::make_fifo(tree, "/etc/sysctl.d/99-fifo.conf");
  hostile::make_link(tree, "/proc/sys/kernel/kptr_restrict", "/dev/zero");
  const auto meta = unit::read_file(tree.at("/.bpfready-meta"));
  tree.write("/.bpfready-meta", meta + "/sys/kernel/tracing 7777777777777777777777777 0 0\n");
}

TEST_F(EbpfDiagCli, HostileTreeGivesAReportNotACrashOrAHang) {
  const unit::ScratchTree tree;
  make_hostile_host(tree);
  for (const char* format : {"--json", "--prometheus", "--verbose"}) {
    SCOPED_TRACE(format);
    const auto run = hostile::run_bounded([&] {
      const auto diag = run_diag({"--root", tree.path().string(), format});
      return std::to_string(diag.exit_code) + "\n" + diag.err + "\n" + diag.out;
    });
    ASSERT_TRUE(run.finished) << run.how << "\n" << run.output;
    ASSERT_TRUE(run.output.starts_with("0\n\n") || run.output.starts_with("1\n\n")) << run.output;
    const std::string out = run.output.substr(3);
    EXPECT_EQ(valid_utf8(out), out);
    if (std::string_view(format) == "--json") {
      const auto doc = nlohmann::json::parse(out);
      EXPECT_EQ(doc.at("hostname"), valid_utf8("vm\x1b]0;owned\x07\xff"));
      EXPECT_EQ(doc.at("kernel_release"), valid_utf8(hostile::garbage()));
      for (const char* id : {"config.source", "lockdown.mode", "sysctl.persisted", "sysctl.kptr_restrict"}) {
        EXPECT_EQ(by_id(doc.at("checks"), id).at("status"), "error") << by_id(doc.at("checks"), id).dump();
      }
    }
    if (std::string_view(format) == "--verbose") {
      EXPECT_FALSE(contains(out, "\x1b")) << out;
      EXPECT_FALSE(contains(out, "\x07")) << out;
      EXPECT_TRUE(contains(out, "on vm\\e]0;owned\\x07\xEF\xBF\xBD, kernel")) << out;
    }
  }
  // main itself: no "internal error", a JSON document.
  const auto binary = exec_diag({"--root", tree.path().string(), "--json"});
  EXPECT_NE(binary.exit_code, 2) << binary.err;
  EXPECT_TRUE(nlohmann::json::accept(binary.out)) << binary.out;
}

TEST(EbpfDiagParse, EmptyUserAndHostileCheckIdsAreOneLineUsageErrors) {
  for (const auto& args : {std::vector<std::string>{"ebpf_diag", "--user", ""},
                           std::vector<std::string>{"ebpf_diag", "--user="}}) {
    auto parsed = parse_diag_args(args);
    const auto* done = std::get_if<DiagExit>(&parsed);
    ASSERT_NE(done, nullptr) << args.back();
    EXPECT_EQ(done->code, 2);
    EXPECT_TRUE(contains(done->err, "--user")) << done->err;
  }
  auto empty = parse_diag_args(std::vector<std::string>{"ebpf_diag", "--user", ""});
  ASSERT_TRUE(std::holds_alternative<DiagExit>(empty));
  EXPECT_TRUE(contains(std::get<DiagExit>(empty).err, "--user needs a user name")) << std::get<DiagExit>(empty).err;
  auto parsed = parse_diag_args(std::vector<std::string>{"ebpf_diag", "--check", "x\x1b]0;owned\x07"});
  const auto* done = std::get_if<DiagExit>(&parsed);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->code, 2);
  EXPECT_EQ(done->err.find('\x1b'), std::string::npos) << done->err;
  EXPECT_TRUE(contains(done->err, "x\\e]0;owned\\x07")) << done->err;
  EXPECT_EQ(std::count(done->err.begin(), done->err.end(), '\n'), 1);
}

}  // namespace
}  // namespace bpfready
