#include "tools/syscount/stop.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace bpfready {

namespace {

volatile std::sig_atomic_t g_received = 0;
// The self-pipe that makes a caught signal visible to poll: {read, write}.
int g_wake[2] = {-1, -1};
bool g_catching = false;

extern "C" void on_stop_signal(int signo) {
  const int saved = errno;
  if (g_received == 0) g_received = signo;
  const char byte = 1;
  (void)!::write(g_wake[1], &byte, 1);  // non-blocking; one byte is enough
  errno = saved;
}

int set_action(void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  if (::sigaction(SIGINT, &action, nullptr) != 0) return errno;
  if (::sigaction(SIGTERM, &action, nullptr) != 0) return errno;
  return 0;
}

// Waits until FD takes data or a stop signal comes. False on a stop signal.
bool wait_writable(int fd) {
  pollfd fds[2] = {{g_wake[0], POLLIN, 0}, {fd, POLLOUT, 0}};
  for (;;) {
    if (g_received != 0) return false;
    const int ready = ::poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || (fds[1].revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL)) != 0) {
      return g_received == 0;  // the write reports the error, if any
    }
  }
}

}  // namespace

Expected<void> StopSignals::catch_them() {
  if (g_catching) return Ok{};
  if (g_wake[0] < 0 && ::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return SysError::from_errno(errno, "pipe");
  }
  if (const int error = set_action(on_stop_signal); error != 0) {
    return SysError::from_errno(error, "sigaction");
  }
  g_catching = true;
  return Ok{};
}

void StopSignals::restore() {
  if (!g_catching) return;
  (void)set_action(SIG_DFL);
  g_catching = false;
}

std::optional<int> StopSignals::received() {
  const int signo = g_received;
  if (signo == 0) return std::nullopt;
  return signo;
}

int StopSignals::wake_fd() { return g_catching ? g_wake[0] : -1; }

WriteOutcome write_unless_stopped(int fd, std::string_view text) {
  WriteOutcome outcome;
  while (outcome.written < text.size()) {
    std::size_t chunk = text.size() - outcome.written;
    if (g_catching) {
      if (!wait_writable(fd)) {
        outcome.interrupted = true;
        return outcome;
      }
      chunk = std::min<std::size_t>(chunk, PIPE_BUF);
    }
    const ssize_t n = ::write(fd, text.data() + outcome.written, chunk);
    if (n < 0 && errno == EINTR) continue;  // a stop signal is seen by wait_writable
    if (n <= 0) {
      outcome.error = n < 0 ? errno : EIO;
      return outcome;
    }
    outcome.written += static_cast<std::size_t>(n);
  }
  return outcome;
}

void die_by_signal(int signo) {
  const rlimit no_core{0, 0};
  (void)::setrlimit(RLIMIT_CORE, &no_core);
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // nor through a core_pattern pipe
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  (void)::sigaction(signo, &action, nullptr);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signo);
  (void)::sigprocmask(SIG_UNBLOCK, &only, nullptr);
  (void)::raise(signo);
}

}  // namespace bpfready
