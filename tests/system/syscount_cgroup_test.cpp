// --cgroup and --unit on the live kernel: a cgroup made for the test, a
// process moved into it, and syscount counting exactly that process's calls
// (its forked child's included) and none of a process outside it. The
// cgroup is removed at the end.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/syscount.h"
#include "tools/syscount/cgroup.h"
#include "support/system.h"

using namespace syscount_test;

namespace {

// A uniquely named cgroup v2 directory in the host's cgroup v2 hierarchy
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host), removed
// (after its processes ended) when the object goes.
class TestCgroup {
 public:
  explicit TestCgroup(const std::string& root)
      : path_(root + "/" + bpfready::testing::unique_name("bpfready_cg")) {
    made_ = ::mkdir(path_.c_str(), 0755) == 0;
  }
  ~TestCgroup() {
    if (made_) ::rmdir(path_.c_str());
  }
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;
  [[nodiscard]] bool made() const { return made_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool enter(pid_t pid) const {
    std::ofstream procs(path_ + "/cgroup.procs");
    procs << pid << '\n';
    procs.flush();
    return procs.good();
  }

 private:
  std::string path_;
  bool made_ = false;
};

// A shell that waits for a line on its stdin, then runs the maker in place.
struct WaitingMaker {
  pid_t pid = -1;
  int go = -1;  // write a line to start it
};

WaitingMaker start_waiting_maker() {
  const std::string script = "read line; exec " + maker_path();
  WaitingMaker maker;
  int to_target[2];
  if (pipe(to_target) != 0) return maker;
  maker.pid = fork();
  if (maker.pid == 0) {
    dup2(to_target[0], 0);
    close(to_target[1]);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    _exit(126);
  }
  close(to_target[0]);
  maker.go = to_target[1];
  return maker;
}

// Starts MAKER and waits for its end.
void run_to_end(WaitingMaker& maker) {
  (void)!write(maker.go, "go\n", 3);
  close(maker.go);
  int status = 0;
  waitpid(maker.pid, &status, 0);
}

class SyscountCgroup : public SyscountVariantTest {};
SYSCOUNT_FOR_EACH_VARIANT(SyscountCgroup);

TEST_P(SyscountCgroup, CountsExactlyTheTasksInTheCgroup) {
  const auto root = bpfready::cgroup2_root();
  if (!root) GTEST_SKIP() << root.error().message;
  TestCgroup cgroup(*root);
  ASSERT_TRUE(cgroup.made()) << cgroup.path();
  WaitingMaker inside = start_waiting_maker();
  WaitingMaker outside = start_waiting_maker();
  ASSERT_GT(inside.pid, 0);
  ASSERT_GT(outside.pid, 0);
  ASSERT_TRUE(cgroup.enter(inside.pid));

  const std::string report = temp_path(".json");
  auto result = run(syscount_argv({"--json", "--errors", "-o", report, "--cgroup", cgroup.path()}),
                    true, {}, [&](pid_t syscount) {
                      EXPECT_TRUE(wait_for_tracking(syscount));
                      run_to_end(outside);  // the same calls, outside the cgroup
                      run_to_end(inside);
                      kill(syscount, SIGTERM);
                    });
  EXPECT_EQ(result.status, 0) << result.err;
  auto doc = nlohmann::json::parse(slurp(report), nullptr, false);
  std::remove(report.c_str());
  ASSERT_TRUE(doc.is_object()) << result.err;
  EXPECT_EQ(doc["mode"], "cgroup");
  auto counts = counts_from_json(doc);
  EXPECT_EQ(counts["getppid"].count, 1000u) << "the process outside the cgroup is not counted";
  EXPECT_EQ(counts["getpgrp"].count, 500u) << "its thread is";
  EXPECT_EQ(counts["getsid"].count, 323u) << "its forked child is";
  EXPECT_EQ(counts["getsid"].errors, 23u);
  EXPECT_EQ(counts["fchdir"].errors, 37u);
}

TEST_P(SyscountCgroup, WhatIsNotACgroupIsOneLine) {
  const std::vector<std::vector<std::string>> bad = {
      {"--cgroup", "/nonexistent/bpfready"},
      {"--cgroup", "/etc/passwd"},
      {"--cgroup", "/tmp"},
      {"--cgroup", "/proc"},
      {"--unit", "bpfready-no-such-unit-4711"},
      {"--unit", "../etc"},
      {"--unit", "multi-user.target"},
  };
  for (const auto& args : bad) {
    auto result = run(syscount_argv(args));
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(result.status, 2) << shown << result.err;
    EXPECT_EQ(line_count(result.err), 1u) << shown << ": " << result.err;
    EXPECT_EQ(result.err.rfind("syscount: ", 0), 0u) << result.err;
  }
}

}  // namespace
