// How syscount runs a command, as its users expect from strace, time and
// timeout: the command's stdout is its own (the report goes to stderr),
// -o - is stdout, a failed exec still gives its JSON document, -d ends the
// command like timeout(1) with status 124, a command's death by a signal
// becomes syscount's, and -v shows libbpf's messages.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "support/syscount.h"

using namespace syscount_test;
namespace fs = std::filesystem;

namespace {

class SyscountRun : public ::testing::Test {
 protected:
  void SetUp() override {
    SYSCOUNT_REQUIRE_ROOT();
    flavour_under_test() = "auto";
    before_ = syscount_program_ids();
  }
  void TearDown() override {
    if (IsSkipped()) return;
    EXPECT_TRUE(leaked_since(before_).empty()) << "a syscount BPF program is still loaded";
  }
  std::set<std::uint64_t> before_;
};

// The one JSON document in TEXT, from its first line that opens an object
// (syscount's own error lines come before it); discarded if there is more.
nlohmann::json document_in(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size() && text[start] != '{') {
    start = text.find('\n', start);
    start = start == std::string::npos ? text.size() : start + 1;
  }
  return nlohmann::json::parse(text.substr(start), nullptr, false);
}

// Runs ARGV with stdout and stderr to files; the raw wait status.
int run_raw(const std::vector<std::string>& argv, std::string& err) {
  const std::string err_path = temp_path(".err");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(open("/dev/null", O_WRONLY), 1);
    dup2(open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    exec_or_exit(argv);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  err = slurp(err_path);
  std::remove(err_path.c_str());
  return status;
}

TEST_F(SyscountRun, TheCommandsStdoutIsItsOwnAndTheReportGoesToStderr) {
  auto echoed = run(syscount_argv({"--json", "--", "echo", "hi"}));
  EXPECT_EQ(echoed.status, 0) << echoed.err;
  EXPECT_EQ(echoed.out, "hi\n");
  auto doc = nlohmann::json::parse(echoed.err, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << "stderr is not one JSON document: " << echoed.err;
  EXPECT_EQ(doc["exit_status"], 0);

  auto by_process = run(syscount_argv({"-j", "-P", "--", "sh", "-c", "echo 8377"}));
  EXPECT_EQ(by_process.status, 0) << by_process.err;
  EXPECT_EQ(by_process.out, "8377\n");
  EXPECT_TRUE(nlohmann::json::parse(by_process.err, nullptr, false).is_object()) << by_process.err;

  auto text = run(syscount_argv({"--", "echo", "hi"}));
  EXPECT_EQ(text.out, "hi\n");
  EXPECT_EQ(text.err.rfind("syscount: ", 0), 0u) << text.err;
}

TEST_F(SyscountRun, DashOutputIsStdoutNotAFileNamedDash) {
  char pattern[] = "/tmp/bpfr_sc_XXXXXX";
  const std::string dir = mkdtemp(pattern);
  auto result = run(syscount_argv({"--json", "-o", "-", "--", "true"}), false,
                    [&] { if (chdir(dir.c_str()) != 0) _exit(125); });
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(nlohmann::json::parse(result.out, nullptr, false).is_object()) << result.out;
  EXPECT_FALSE(fs::exists(dir + "/-")) << "-o - created a file named -";
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

TEST_F(SyscountRun, ACommandNotFoundStillGivesItsJsonDocument) {
  auto result = run(syscount_argv({"--json", "--", "bpfr-sc-no-such-command"}));
  EXPECT_EQ(result.status, 127);
  EXPECT_EQ(result.out, "");
  auto doc = document_in(result.err);
  ASSERT_TRUE(doc.is_object()) << result.err;
  EXPECT_EQ(doc["exit_status"], 127);
  ASSERT_TRUE(doc.contains("error")) << result.err;
  EXPECT_NE(doc["error"].get<std::string>().find("command not found"), std::string::npos);

  // To a file, the error line alone on stderr.
  RunResult to_file;
  auto filed = json_report({}, {"bpfr-sc-no-such-command"}, &to_file);
  EXPECT_EQ(to_file.status, 127);
  EXPECT_EQ(line_count(to_file.err), 1u) << to_file.err;
  ASSERT_TRUE(filed.is_object());
  EXPECT_EQ(filed["exit_status"], 127);
  EXPECT_TRUE(filed.contains("error"));
}

TEST_F(SyscountRun, AnExecThatFailsAfterAttachingStillGivesItsJsonDocument) {
  // Found and executable, but no format the kernel runs: execve fails, ENOEXEC.
  const std::string junk = temp_path(".junk");
  { std::ofstream(junk) << "not a program\n"; }
  chmod(junk.c_str(), 0755);
  RunResult result;
  auto doc = json_report({"--errors"}, {junk}, &result);
  std::remove(junk.c_str());
  EXPECT_EQ(result.status, 127) << result.err;
  ASSERT_TRUE(doc.is_object()) << result.err;
  EXPECT_EQ(doc["exit_status"], 127);
  ASSERT_TRUE(doc.contains("error"));
  EXPECT_NE(doc["error"].get<std::string>().find("cannot execute"), std::string::npos);
  EXPECT_EQ(counts_from_json(doc)["execve"].errors, 1u) << "the failed exec is counted";
}

// timeout(1): after -d the command gets SIGTERM (SIGKILL 2 s later if it
// ignores it), and the exit status is 124.
TEST_F(SyscountRun, DurationEndsTheCommandLikeTimeout) {
  for (const std::string script : {"exec sleep 600", "trap '' TERM; exec sleep 600"}) {
    const std::string pid_file = temp_path(".pid");
    std::string shell = "echo $$ > " + pid_file;
    shell += "; " + script;
    auto result = run(syscount_argv({"-d", "0.5", "--", "sh", "-c", shell}));
    EXPECT_EQ(result.status, 124) << script << ": " << result.err;
    EXPECT_NE(result.err.find("syscount: "), std::string::npos) << "no report: " << result.err;
    const std::string pid_text = slurp(pid_file);
    std::remove(pid_file.c_str());
    ASSERT_FALSE(pid_text.empty()) << script;
    const pid_t pid = std::stoi(pid_text);
    // syscount reaped it: no such process any more (not even a zombie).
    EXPECT_TRUE(kill(pid, 0) != 0 && errno == ESRCH) << script << ": the command still runs";
    if (kill(pid, 0) == 0) kill(pid, SIGKILL);
  }
}

// strace's way: the report, then syscount dies by the command's signal,
// without a core of its own.
TEST_F(SyscountRun, ACommandKilledByASignalKillsSyscountWithIt) {
  std::string err;
  const int status = run_raw(syscount_argv({"--", "sh", "-c", "kill -SEGV $$"}), err);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exited " << WEXITSTATUS(status) << ": " << err;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  EXPECT_FALSE(WCOREDUMP(status)) << "syscount dumped core";
  EXPECT_NE(err.find("killed by signal 11"), std::string::npos) << "no report: " << err;

  RunResult result;
  auto doc = json_report({}, {"sh", "-c", "kill -USR1 $$"}, &result);
  EXPECT_EQ(result.status, 128 + SIGUSR1);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["signal"], SIGUSR1);
  EXPECT_EQ(doc["exit_status"], 128 + SIGUSR1);
}

TEST_F(SyscountRun, VerboseShowsLibbpfsMessages) {
  auto result = run(syscount_argv({"-v", "-o", "/dev/null", "--", "true"}));
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.err.find("libbpf: "), std::string::npos) << result.err;
}

}  // namespace
