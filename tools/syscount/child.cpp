#include "tools/syscount/child.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include "libcheck/common/subprocess.h"
#include "libcheck/common/text.h"

extern char** environ;

namespace bpfready {

namespace {

// One byte from FD, retrying when a signal interrupts the read; nullopt at
// end of file or on error.
std::optional<char> read_byte(int fd) {
  char byte = 0;
  ssize_t n = 0;
  do {
    n = ::read(fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return std::nullopt;
  return byte;
}

// --- the command's side of the fork --------------------------------------

// Message to the parent on the status pipe: 'R' ready, or 'E' and a line.
[[noreturn]] void child_fail(int status_fd, const std::string& message) {
  (void)write_all(status_fd, "E" + message);
  _exit(kExitNotExecuted);
}

std::optional<std::string> find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env_path = std::getenv("PATH");
  std::string path = env_path && *env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    // An empty entry is the current directory.
    std::string candidate(end > start ? std::string_view(path).substr(start, end - start) : ".");
    candidate += '/';
    candidate += name;
    struct stat meta {};
    if (::stat(candidate.c_str(), &meta) == 0 && S_ISREG(meta.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

[[noreturn]] void run_child(const std::vector<std::string>& command, const RunAs& as,
                            pid_t parent, int status_fd, int go_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::signal(SIGPIPE, SIG_DFL);
  // If syscount dies before releasing us, do not run the command untraced.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) _exit(kExitNotExecuted);

  if (auto became = become_command_identity(as); !became) {
    child_fail(status_fd, "cannot set up the command's credentials: " + became.error().message);
  }
  // Resolved with the command's own permissions.
  auto path = find_in_path(command.front());
  if (!path) child_fail(status_fd, escape_for_terminal(command.front()) + ": command not found");
  if (!write_all(status_fd, "R")) _exit(kExitNotExecuted);

  if (read_byte(go_fd) != 'G') _exit(kExitNotExecuted);

  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);  // the command outlives syscount if it wants to
  ::execve(path->c_str(), argv.data(), environ);
  child_fail(status_fd, "cannot execute " + escape_for_terminal(*path) + ": " + std::strerror(errno));
}

}  // namespace

// --- syscount's side -------------------------------------------------------

Expected<Child> Child::spawn(const std::vector<std::string>& command, const RunAs& as) {
  auto status = make_pipe();
  if (!status) return status.error();
  auto go = make_pipe();
  if (!go) return go.error();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return SysError::from_errno(errno, "fork");
  if (pid == 0) {
    status->first.reset();
    go->second.reset();
    run_child(command, as, parent, status->second.get(), go->first.get());
  }
  status->second.reset();  // only the child writes status and reads go
  go->first.reset();
  Child child;
  child.pid_ = pid;
  child.status_ = std::move(status->first);
  child.go_ = std::move(go->second);
  return child;
}

Expected<void> Child::ready() {
  const std::optional<char> first = read_byte(status_.get());
  if (first == 'R') return Ok{};
  std::string why = first == 'E' ? read_all(status_.get()) : "the command's process ended before exec";
  go_.reset();
  reap();
  return SysError::plain(why);
}

Expected<void> Child::release() {
  if (!write_all(go_.get(), "G")) return SysError::plain("cannot release the command");
  go_.reset();
  std::string reply = read_all(status_.get());  // EOF: the exec succeeded
  status_.reset();
  if (!reply.empty() && reply.front() == 'E') return SysError::plain(reply.substr(1));
  return Ok{};
}

int Child::reap() {
  const auto status = pid_ > 0 ? wait_for_exit(pid_) : Expected<int>(0);
  pid_ = -1;
  return status.value_or(0);
}

std::optional<int> Child::reap_within(std::chrono::milliseconds within) {
  constexpr auto kPoll = std::chrono::milliseconds(5);
  for (auto waited = std::chrono::milliseconds(0); waited < within; waited += kPoll) {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
      forget();
      return status;
    }
    std::this_thread::sleep_for(kPoll);
  }
  return std::nullopt;
}

std::optional<int> Child::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return std::nullopt;
  if (::kill(pid_, SIGTERM) != 0) return std::nullopt;
  (void)::kill(pid_, SIGCONT);
  if (auto status = reap_within(grace)) return status;
  if (::kill(pid_, SIGKILL) != 0) return std::nullopt;
  // SIGKILL ends it as soon as it leaves the kernel; an uninterruptible
  // sleep can hold it there, but syscount does not wait for it forever.
  if (auto status = reap_within(std::chrono::seconds(10))) return status;
  forget();
  return std::nullopt;
}

Child::~Child() {
  try {
    abandon();
  } catch (...) {
    // Out of memory while reaping: the child still exits without exec, on EOF.
  }
}

void Child::abandon() {
  if (pid_ > 0 && go_.valid()) {
    go_.reset();  // EOF on the go pipe: the child exits without exec
    reap();
  }
}

}  // namespace bpfready
