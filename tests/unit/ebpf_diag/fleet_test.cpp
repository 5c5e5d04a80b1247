// ebpf_diag's fleet outputs (issue 12): --format npd, one safe line of at
// most 80 bytes for a node-problem-detector custom plugin, and --format nfd,
// node-feature-discovery feature lines whose names and values are valid
// labels, on every fixture host and on hostile ones, with the exit status
// NPD reads (0 ready, 1 not ready, 2 unknown); --status-file beside
// --textfile and --quiet; and the --format option with its aliases.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "libcheck/common/subprocess.h"
#include "libcheck/common/text.h"
#include "libcheck/parse.h"
#include "libcheck/report.h"
#include "support/unit.h"
#include "unit/ebpf_diag/run_diag.h"
#include "tools/ebpf_diag/app.h"
#include "tools/ebpf_diag/cli.h"
#include "tools/ebpf_diag/fleet.h"

namespace bpfready {
namespace {

using unit::contains;
using unit::fixture_host;

using Run = unit::DiagRun;
using unit::diag_binary;
using unit::run_diag;

// The built binary, stdout through a pipe, stderr into a file.
Run exec_diag(const std::vector<std::string>& args) {
  const unit::ScratchTree scratch;
  const auto err_path = scratch.at("/stderr").string();
  std::vector<std::string> words = {diag_binary()};
  words.insert(words.end(), args.begin(), args.end());
  auto child = run_in_child(
      [&](int out_fd) {
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (err < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err, 2) < 0) return 126;
        std::vector<char*> argv;
        argv.reserve(words.size() + 1);
        for (auto& word : words) argv.push_back(word.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        return 127;
      },
      std::chrono::seconds(30));
  Run run;
  if (!child || child->timed_out || !WIFEXITED(child->wait_status)) return run;
  run.exit_code = WEXITSTATUS(child->wait_status);
  run.out = child->output;
  run.err = unit::read_file(err_path);
  return run;
}

// Every directory under tests/fixtures/hosts, not a list that could miss one.
std::vector<std::string> every_fixture_host() {
  std::vector<std::string> hosts;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_host(""))) {
    if (entry.is_directory()) hosts.push_back(entry.path().filename());
  }
  std::sort(hosts.begin(), hosts.end());
  return hosts;
}

// A C0 or C1 control character, DEL, or invalid UTF-8 anywhere in LINE.
bool has_unsafe_byte(std::string_view line) {
  if (valid_utf8(line) != line) return true;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto byte = static_cast<unsigned char>(line[i]);
    if (byte < 0x20 || byte == 0x7F) return true;
    if (byte == 0xC2 && i + 1 < line.size() && static_cast<unsigned char>(line[i + 1]) <= 0x9F) return true;
  }
  return false;
}

// OUT is exactly one line of at most 80 bytes, safe for NPD's message.
void expect_one_npd_line(const std::string& out) {
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n') << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  const std::string line = out.substr(0, out.size() - 1);
  EXPECT_LE(line.size(), kNpdMaxBytes) << line;
  EXPECT_FALSE(has_unsafe_byte(line)) << line;
  EXPECT_TRUE(line.starts_with("bpfready: ")) << line;
  EXPECT_NE(line.back(), ' ') << line;
}

const std::regex& label_line() {
  static const std::regex line(
      R"(bpfready\.io/([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?))"
      R"(=(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?))");
  return line;
}

// Each line of OUT is bpfready.io/NAME=VALUE with a valid label name and
// value, no name twice; returns NAME -> VALUE.
std::map<std::string, std::string> expect_nfd_lines(const std::string& out) {
  std::map<std::string, std::string> labels;
  EXPECT_TRUE(out.empty() || out.back() == '\n') << out;
  for (const auto& line : split(out, "\n")) {
    if (line.empty()) continue;
    std::smatch match;
    if (!std::regex_match(line, match, label_line())) {
      ADD_FAILURE() << "not a label line: " << line;
      continue;
    }
    EXPECT_TRUE(labels.emplace(match[1].str(), match[3].str()).second) << "twice: " << line;
  }
  return labels;
}

TEST(EbpfDiagNpd, EveryFixtureHostGivesOneSafeLineAndQuietsVerdict) {
  const auto hosts = every_fixture_host();
  ASSERT_GE(hosts.size(), unit::fixture_hosts().size());
  for (const auto& host : hosts) {
    SCOPED_TRACE(host);
    const auto root = fixture_host(host).string();
    const auto quiet = exec_diag({"--quiet", "--root", root});
    ASSERT_TRUE(quiet.exit_code == 0 || quiet.exit_code == 1) << quiet.exit_code << " " << quiet.err;
    const auto npd = exec_diag({"--format", "npd", "--root", root});
    EXPECT_EQ(npd.exit_code, quiet.exit_code) << npd.out << npd.err;
    EXPECT_TRUE(npd.err.empty()) << npd.err;
    expect_one_npd_line(npd.out);
    EXPECT_TRUE(npd.out.starts_with(quiet.exit_code == 0 ? "bpfready: ready (" : "bpfready: not ready: ")) << npd.out;
  }
}

TEST(EbpfDiagNfd, EveryFixtureHostGivesValidLabelsAndQuietsVerdict) {
  for (const auto& host : every_fixture_host()) {
    SCOPED_TRACE(host);
    const auto root = fixture_host(host).string();
    const auto quiet = exec_diag({"--quiet", "--root", root});
    const auto nfd = exec_diag({"--format", "nfd", "--root", root});
    EXPECT_EQ(nfd.exit_code, quiet.exit_code) << nfd.err;
    EXPECT_TRUE(nfd.err.empty()) << nfd.err;
    const auto labels = expect_nfd_lines(nfd.out);
    EXPECT_EQ(labels.count("ready") == 1 ? labels.at("ready") : "", quiet.exit_code == 0 ? "true" : "false");
    for (const char* name : {"syscount", "tp-btf", "raw-tp", "perf-tp", "btf", "kernel", "kernel-release"}) {
      EXPECT_EQ(labels.count(name), 1U) << name << "\n" << nfd.out;
    }
  }
}

TEST(EbpfDiagFleet, WhatTheFixturesSay) {
  const auto vm = fixture_host("debian12-vm-6.18").string();
  EXPECT_EQ(run_diag({"--format", "npd", "--root", vm}).out, "bpfready: ready (syscount tp_btf)\n");
  EXPECT_EQ(run_diag({"--format", "npd", "--root", vm, "--require", "raw_tp,perf_tp"}).out,
            "bpfready: ready (raw_tp, perf_tp)\n");
  const auto labels = expect_nfd_lines(run_diag({"--format", "nfd", "--root", vm}).out);
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"ready", "true"},
                                                         {"syscount", "true"},
                                                         {"syscount-flavour", "tp_btf"},
                                                         {"tp-btf", "true"},
                                                         {"raw-tp", "true"},
                                                         {"perf-tp", "true"},
                                                         {"btf", "true"},
                                                         {"kernel", "6.18"},
                                                         {"kernel-release", "6.18.44-fc-v769"}}));
  const auto no_btf = expect_nfd_lines(run_diag({"--format", "nfd", "--root", fixture_host("custom-6.6-no-btf")}).out);
  EXPECT_EQ(no_btf.at("btf"), "false");
  EXPECT_EQ(no_btf.at("tp-btf"), "false");
  EXPECT_EQ(no_btf.at("syscount-flavour"), "raw_tp");
  const auto rhel = expect_nfd_lines(run_diag({"--format", "nfd", "--root", fixture_host("rhel8-4.18")}).out);
  EXPECT_EQ(rhel.at("kernel"), "4.18");
  EXPECT_EQ(rhel.at("kernel-release"), "4.18.0-553.el8_10.x86_64");
  const auto npd = run_diag({"--format", "npd", "--root", fixture_host("container-no-tracefs")});
  EXPECT_EQ(npd.exit_code, 1);
  EXPECT_TRUE(npd.out.starts_with("bpfready: not ready: syscount ")) << npd.out;
}

// Host text full of control characters, escape sequences, invalid bytes and
// long multi-byte UTF-8, in the release, the hostname and a reason.
std::string hostile_text() {
  std::string text = "6.1.0-\x1b]0;owned\x07\r\n\t\x7f\xc2\x9b[2J\xff\xfe";
  for (int i = 0; i < 40; ++i) text += "\xc3\xbc\xe2\x82\xac\xf0\x9f\x90\x9d";  // ü € 🐝
  return text + "\xe2\x80\xae\xe2\x80\xa8" "end";
}

TEST(EbpfDiagFleet, HostileHostTextStaysSafe) {
  for (const char* base : {"debian12-vm-6.18", "container-no-tracefs"}) {
    SCOPED_TRACE(base);
    const unit::ScratchTree tree;
    tree.copy_host(base);
    tree.write("/proc/sys/kernel/osrelease", hostile_text() + "\n");
    tree.write("/proc/sys/kernel/hostname", hostile_text() + "\n");
    const auto npd = exec_diag({"--format", "npd", "--root", tree.path().string()});
    EXPECT_TRUE(npd.exit_code == 0 || npd.exit_code == 1) << npd.exit_code << npd.err;
    expect_one_npd_line(npd.out);
    const auto nfd = exec_diag({"--format", "nfd", "--root", tree.path().string()});
    EXPECT_EQ(nfd.exit_code, npd.exit_code) << nfd.err;
    const auto labels = expect_nfd_lines(nfd.out);
    EXPECT_EQ(labels.at("kernel"), "6.1");
    EXPECT_EQ(labels.at("kernel-release"), "6.1.0-_0_owned_2J_end");
  }
}

// The hostile text reaches the line itself, cut at every byte offset of a
// multi-byte character: never inside one.
TEST(EbpfDiagFleet, NpdLineCutsHostileReasonsSafely) {
  for (std::size_t shift = 0; shift < 4; ++shift) {
    SCOPED_TRACE(shift);
    Report report;
    Verdict verdict;
    verdict.id = kSyscountVerdict;
    verdict.flavour = ProbeFlavour::raw_tp;
    verdict.prediction.ok = true;  // no failure point: the reason starts right after the verdict
    verdict.reason = std::string(shift, 'x') + hostile_text();
    verdict.fix_steps = {"sudo mount -t tracefs nodev /sys/kernel/tracing"};
    report.verdicts = {verdict};
    report.required_verdicts = {kSyscountVerdict};
    EXPECT_EQ(fleet_exit_code(report), 1);
    const std::string line = render_npd(report);
    expect_one_npd_line(line + "\n");
    const std::string start = "bpfready: not ready: syscount raw_tp: " + std::string(shift, 'x') + "6.1.0-?]0;owned?";
    EXPECT_TRUE(line.starts_with(start))
        << line;
    EXPECT_TRUE(line.ends_with("...")) << line;
  }
  // Where it fails comes first: the probe's stage and errno, else the model's.
  Report report;
  Verdict verdict;
  verdict.id = "perf_tp";
  verdict.reason = "tracefs is not mounted";
  verdict.prediction.stage = ProbeStage::tracefs_id;
  verdict.prediction.errnum = ENOENT;
  verdict.fix_steps = {"sudo mount -t tracefs nodev /sys/kernel/tracing"};
  report.verdicts = {verdict};
  EXPECT_EQ(render_npd(report), "bpfready: not ready: perf_tp: fails at tracefs_id (ENOENT): tracefs is not mo...");
  ProbeOutcome proof;
  proof.stage = ProbeStage::load;
  proof.errnum = EPERM;
  report.verdicts.front().proof = proof;
  report.verdicts.front().fix_steps.clear();
  EXPECT_EQ(render_npd(report), "bpfready: not ready: perf_tp: fails at load (EPERM): tracefs is not mounted");
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("abcd", 3), "...");
  EXPECT_EQ(truncate_utf8("a\xc3\xbc\xc3\xbcz", 6), "a\xc3\xbc\xc3\xbcz");
  EXPECT_EQ(truncate_utf8("a\xc3\xbc\xc3\xbczz", 6), "a\xc3\xbc...");
  EXPECT_EQ(truncate_utf8("ab\xc3\xbc\xc3\xbcz", 6), "ab...");
  EXPECT_EQ(truncate_utf8("\xf0\x9f\x90\x9d\xf0\x9f\x90\x9d", 7), "\xf0\x9f\x90\x9d...");
  EXPECT_EQ(truncate_utf8("\xf0\x9f\x90\x9d\xf0\x9f\x90\x9d", 6), "...");
  EXPECT_EQ(one_line_text("a\tb\nc\x1b" "d\xc2\x85" "e\xe2\x80\xae" "f\xff"), "a b c?d?e?f\xef\xbf\xbd");
  EXPECT_EQ(label_value("..6.1.0-\x1b[31m_x.."), "6.1.0-_31m_x");
  EXPECT_EQ(label_value(std::string(70, 'a') + "-b"), std::string(63, 'a'));
  EXPECT_EQ(label_value("\xff\xfe"), "");
  EXPECT_EQ(kernel_major_minor("5.15.0-91-generic"), "5.15");
  EXPECT_EQ(kernel_major_minor("6"), "");
  EXPECT_EQ(kernel_major_minor("x6.1"), "");
}

// Nothing decided: exit 2, "unknown", for npd and nfd alike.
TEST(EbpfDiagFleet, UndecidedHostsExitTwo) {
  const unit::ScratchTree tree;
  tree.copy_host("debian12-vm-6.18");
  std::filesystem::remove(tree.at("/proc/sys/kernel/osrelease"));
  const auto root = tree.path().string();
  // The other formats give the model's verdict, which a missing release
  // does not change here.
  EXPECT_EQ(exec_diag({"--quiet", "--root", root}).exit_code, 0);
  const auto npd = exec_diag({"--format", "npd", "--root", root});
  EXPECT_EQ(npd.exit_code, 2) << npd.out << npd.err;
  expect_one_npd_line(npd.out);
  EXPECT_EQ(npd.out, "bpfready: unknown: cannot read /proc/sys/kernel/osrelease\n");
  const auto nfd = exec_diag({"--format", "nfd", "--root", root});
  EXPECT_EQ(nfd.exit_code, 2);
  const auto labels = expect_nfd_lines(nfd.out);
  EXPECT_EQ(labels.at("ready"), "unknown");
  EXPECT_EQ(labels.at("syscount"), "unknown");
  EXPECT_EQ(labels.count("kernel"), 0U);

  // A probe that contradicts its prediction.
  Report report;
  Verdict verdict;
  verdict.id = "raw_tp";
  verdict.mismatch = true;
  verdict.reason = "predicted to fail at load, but the probe worked";
  report.verdicts = {verdict};
  EXPECT_EQ(fleet_exit_code(report), 2);
  EXPECT_TRUE(render_npd(report).starts_with("bpfready: unknown: model mismatch on raw_tp: ")) << render_npd(report);
  EXPECT_TRUE(contains(render_nfd(report), "bpfready.io/raw-tp=unknown\n")) << render_nfd(report);

  // A failure that leaves nothing decided says so on the line NPD shows.
  const auto unwritable = exec_diag({"--format", "npd", "--root", fixture_host("debian12-vm-6.18").string(),
                                     "--status-file", tree.at("/missing/status.json").string()});
  EXPECT_EQ(unwritable.exit_code, 2);
  expect_one_npd_line(unwritable.out);
  EXPECT_TRUE(unwritable.out.starts_with("bpfready: unknown: --status-file ")) << unwritable.out;
  EXPECT_EQ(std::count(unwritable.err.begin(), unwritable.err.end(), '\n'), 1) << unwritable.err;
}

TEST(EbpfDiagStatusFile, CombinesWithTextfileAndQuiet) {
  const unit::ScratchTree dir;
  dir.mkdir("/textfile");
  dir.mkdir("/run");
  dir.write("/run/status.json", "old\n");
  ASSERT_EQ(::link(dir.at("/run/status.json").c_str(), dir.at("/old-link").c_str()), 0);
  const auto root = fixture_host("kernel-5.4").string();
  const auto run = exec_diag({"--root", root, "--textfile", dir.at("/textfile").string(), "--status-file",
                              dir.at("/run/status.json").string(), "--quiet"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_TRUE(run.err.empty()) << run.err;
  EXPECT_EQ(unit::read_file(dir.at("/old-link")), "old\n") << "the old file was written in place";
  EXPECT_EQ(unit::read_file(dir.at("/run/status.json")), run_diag({"--root", root, "--json"}).out);
  EXPECT_TRUE(std::filesystem::exists(dir.at("/textfile/bpfready-uid_1000.prom")));
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.at("/run"))) {
    names.push_back(entry.path().filename());
  }
  EXPECT_EQ(names, std::vector<std::string>{"status.json"}) << "a temporary file was left behind";
  struct stat st {};
  ASSERT_EQ(::stat(dir.at("/run/status.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  // Beside a printed format, the file still holds the JSON document.
  const auto npd = run_diag({"--root", root, "--format", "npd", "--status-file", dir.at("/run/status.json").string()});
  EXPECT_EQ(npd.exit_code, 1);
  EXPECT_TRUE(npd.out.starts_with("bpfready: not ready: ")) << npd.out;
  EXPECT_EQ(nlohmann::json::parse(unit::read_file(dir.at("/run/status.json"))).at("exit_code"), 1);
}

TEST(EbpfDiagStatusFile, UnwritablePathIsOneLineAndExitTwo) {
  const unit::ScratchTree dir;
  dir.mkdir("/a-directory");
  dir.write("/plain-file", "x");
  struct Case {
    std::string file;
    const char* says;
  };
  const Case cases[] = {
      {dir.at("/missing/status.json").string(), "No such file or directory"},
      {dir.at("/plain-file/status.json").string(), "Not a directory"},
      {dir.at("/a-directory").string(), "Is a directory"},
      {"/proc/self/status.json", "cannot create a temporary file in /proc/self"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto run =
        run_diag({"--root", fixture_host("debian12-vm-6.18").string(), "--quiet", "--status-file", c.file});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_TRUE(run.out.empty()) << run.out;
    EXPECT_TRUE(run.err.starts_with("ebpf_diag: ")) << run.err;
    EXPECT_TRUE(contains(run.err, c.says)) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  const auto empty = run_diag({"--status-file", ""});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_TRUE(contains(empty.err, "--status-file needs a file name")) << empty.err;
}

TEST(EbpfDiagFormat, AliasesAndConflicts) {
  const auto root = fixture_host("ubuntu2204-paranoid4").string();
  EXPECT_EQ(run_diag({"--root", root, "--json"}).out, run_diag({"--root", root, "--format", "json"}).out);
  EXPECT_EQ(run_diag({"--root", root, "--prometheus"}).out, run_diag({"--root", root, "--format", "prometheus"}).out);
  EXPECT_EQ(run_diag({"--root", root, "--json", "--format", "json"}).out, run_diag({"--root", root, "--json"}).out);
  EXPECT_EQ(run_diag({"--root", root, "--format", "text"}).out, run_diag({"--root", root}).out);
  const std::vector<std::vector<std::string>> conflicts = {
      {"--json", "--format", "prometheus"}, {"--format", "npd", "--prometheus"}, {"--json", "--prometheus"},
      {"--format", "nfd", "--textfile", "/tmp"}, {"--format", "bogus"}, {"--format"}};
  for (const auto& args : conflicts) {
    SCOPED_TRACE(args.front() + " " + args.back());
    const auto run = run_diag(args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_TRUE(run.out.empty()) << run.out;
    EXPECT_TRUE(run.err.starts_with("ebpf_diag: ")) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  EXPECT_TRUE(contains(run_diag({"--json", "--format", "npd"}).err, "--json conflicts with --format npd"));
}

}  // namespace
}  // namespace bpfready
