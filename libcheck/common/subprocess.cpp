#include "libcheck/common/subprocess.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "libcheck/common/fd.h"

namespace bpfready {

Expected<int> wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return SysError::from_errno(errno, "wait for process " + std::to_string(pid));
  }
  return status;
}

namespace {

using Clock = std::chrono::steady_clock;

// Reads FD until end of file or DEADLINE (time_point::max(): none). False
// when the deadline passed first.
bool read_until_eof(int fd, std::string& out, Clock::time_point deadline) {
  std::array<char, 4096> buffer{};
  for (;;) {
    int timeout_ms = -1;
    if (deadline != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      timeout_ms = static_cast<int>(left);
    }
    pollfd poll_fd{fd, POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return false;
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

}  // namespace

Expected<ChildResult> run_in_child(const std::function<int(int out_fd)>& body,
                                   std::optional<std::chrono::milliseconds> timeout) {
  auto pipe = make_pipe();
  if (!pipe) return pipe.error();
  auto& [read_end, write_end] = *pipe;
  const pid_t child = ::fork();
  if (child < 0) return SysError::from_errno(errno, "fork");
  if (child == 0) {
    read_end.reset();
    ::_exit(body(write_end.get()));
  }
  write_end.reset();
  ChildResult result;
  const auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  if (!read_until_eof(read_end.get(), result.output, deadline)) {
    ::kill(child, SIGKILL);
    result.timed_out = true;
  }
  auto status = wait_for_exit(child);
  if (!status) return status.error();
  result.wait_status = *status;
  return result;
}

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(wait_status)) + " (" + ::strsignal(WTERMSIG(wait_status)) +
           ")";
  }
  return "ended with wait status " + std::to_string(wait_status);
}

}  // namespace bpfready
