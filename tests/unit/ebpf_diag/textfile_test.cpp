// ebpf_diag --textfile DIR (issue 11): the Prometheus report lands in
// DIR/bpfready-<subject>.prom through a temporary file and a rename, with a
// file name safe whatever the subject is, and one clear error when DIR is
// missing or cannot take the file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "support/unit.h"
#include "tools/ebpf_diag/app.h"
#include "tools/ebpf_diag/cli.h"
#include "tools/ebpf_diag/textfile.h"

namespace bpfready {
namespace {

using unit::contains;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// ebpf_diag in-process on the fixture HOST without probes.
Run run_on(const std::string& host, const std::vector<std::string>& more) {
  std::vector<std::string> argv = {"ebpf_diag", "--root", unit::fixture_host(host).string(), "--no-probe"};
  argv.insert(argv.end(), more.begin(), more.end());
  const auto parsed = parse_diag_args(argv);
  Run run;
  if (const auto* done = std::get_if<DiagExit>(&parsed)) {
    run.exit_code = done->code;
    run.err = done->err;
    return run;
  }
  std::ostringstream out;
  std::ostringstream err;
  run.exit_code = run_ebpf_diag(std::get<DiagOptions>(parsed), out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

TEST(Textfile, SubjectBecomesOneSafeFileNameComponent) {
  EXPECT_EQ(textfile_component("alice"), "alice");
  EXPECT_EQ(textfile_component("svc-prof.1_x"), "svc-prof.1_x");
  EXPECT_EQ(textfile_component("uid 1000"), "uid_1000");
  EXPECT_EQ(textfile_component("../../etc/cron.d/x"), "_._.._etc_cron.d_x");
  EXPECT_EQ(textfile_component(".."), "_.");
  EXPECT_EQ(textfile_component("eve\n\"}\xff"), "eve____");
  EXPECT_EQ(textfile_component(""), "unknown");
  EXPECT_EQ(textfile_path("/var/lib/t", "alice"), "/var/lib/t/bpfready-alice.prom");
  EXPECT_EQ(textfile_path("/var/lib/t/", "a/b"), "/var/lib/t/bpfready-a_b.prom");
}

TEST(Textfile, WritesThePrometheusReportAndNothingElse) {
  const unit::ScratchTree dir;
  const auto prom = run_on("container-no-tracefs", {"--prometheus"});
  const auto run = run_on("container-no-tracefs", {"--textfile", dir.path().string()});
  EXPECT_EQ(run.exit_code, prom.exit_code) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_TRUE(run.err.empty()) << run.err;
  // A fixture's process is named by its uid: there is no live passwd entry.
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"bpfready-uid_0.prom"});
  const auto file = dir.path() / "bpfready-uid_0.prom";
  EXPECT_EQ(unit::read_file(file), prom.out);
  EXPECT_TRUE(contains(prom.out, "bpfready_ready{subject=\"uid 0\"} 0\n")) << prom.out;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644U) << "node_exporter reads it as its own user";
}

// A scrape in the middle of a write must see the old file or the new one:
// the new file is renamed over the old, never written into it.
TEST(Textfile, ReplacesTheOldFileByRenameNotInPlace) {
  const unit::ScratchTree dir;
  dir.write("/bpfready-uid_0.prom", "# old\n");
  ASSERT_EQ(::link(dir.at("/bpfready-uid_0.prom").c_str(), dir.at("/old-link").c_str()), 0);
  const auto run = run_on("debian12-vm-6.18", {"--textfile", dir.path().string()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(unit::read_file(dir.at("/old-link")), "# old\n") << "the old file was overwritten in place";
  EXPECT_TRUE(contains(unit::read_file(dir.at("/bpfready-uid_0.prom")), "bpfready_ready{subject=\"uid 0\"} 1\n"));
  EXPECT_EQ(names_in(dir.path()).size(), 2U) << "a temporary file was left behind";
}

TEST(Textfile, MissingOrUnusableDirectoryIsOneClearError) {
  const unit::ScratchTree dir;
  dir.write("/plain-file", "x");
  struct Case {
    std::string dir;
    const char* says;
  };
  const Case cases[] = {
      {dir.at("/missing").string(), "No such file or directory"},
      {dir.at("/plain-file").string(), "Not a directory"},
      // No one, root included, may create a file in /proc.
      {"/proc/self", "cannot create a temporary file in /proc/self"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dir);
    const auto run = run_on("debian12-vm-6.18", {"--textfile", c.dir});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_TRUE(run.out.empty());
    EXPECT_TRUE(contains(run.err, "ebpf_diag: ")) << run.err;
    EXPECT_TRUE(contains(run.err, c.says)) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"plain-file"});
}

TEST(Textfile, ExcludesJson) {
  const unit::ScratchTree dir;
  const auto run = run_on("debian12-vm-6.18", {"--json", "--textfile", dir.path().string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(contains(run.err, "--textfile")) << run.err;
}

}  // namespace
}  // namespace bpfready
