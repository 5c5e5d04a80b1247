#include "tools/syscount/app.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/common/creds.h"
#include "libcheck/common/fd.h"
#include "libcheck/common/procfs.h"
#include "libcheck/common/subprocess.h"
#include "libcheck/snapshot.h"
#include "tools/syscount/tracer.h"
#include "tools/syscount/cli.h"
#include "tools/syscount/privs.h"
#include "tools/syscount/report.h"

extern char** environ;

namespace bpfready {

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitNotExecuted = 127;

using Clock = std::chrono::steady_clock;

void error_line(const std::string& message) {
  std::string line = "syscount: " + message + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

// --- the command's side of the fork --------------------------------------

// Message to the parent on the status pipe: 'R' ready, or 'E' and a line.
[[noreturn]] void child_fail(int status_fd, const std::string& message) {
  std::string text = "E" + message;
  (void)!::write(status_fd, text.data(), text.size());
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
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir;
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

[[noreturn]] void run_child(const std::vector<std::string>& command, const RealUser& user,
                            pid_t parent, int status_fd, int go_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::signal(SIGPIPE, SIG_DFL);
  // If syscount dies before releasing us, do not run the command untraced.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) _exit(kExitNotExecuted);

  if (auto dropped = become_unprivileged_for_exec(user); !dropped) {
    child_fail(status_fd, "cannot drop privileges for the command: " + dropped.error().message);
  }
  // Resolved as the user, with the user's permissions.
  auto path = find_in_path(command.front());
  if (!path) child_fail(status_fd, command.front() + ": command not found");
  if (::write(status_fd, "R", 1) != 1) _exit(kExitNotExecuted);

  char go = 0;
  ssize_t n = 0;
  do {
    n = ::read(go_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1 || go != 'G') _exit(kExitNotExecuted);

  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);  // the command outlives syscount if it wants to
  ::execve(path->c_str(), argv.data(), environ);
  child_fail(status_fd, "cannot execute " + *path + ": " + std::strerror(errno));
}

// The started command, held before its exec until release().
class Child {
 public:
  static Expected<Child> spawn(const std::vector<std::string>& command, const RealUser& user) {
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
      run_child(command, user, parent, status->second.get(), go->first.get());
    }
    status->second.reset();  // only the child writes status and reads go
    go->first.reset();
    Child child;
    child.pid_ = pid;
    child.status_ = std::move(status->first);
    child.go_ = std::move(go->second);
    // Wait for "ready" (or the reason it cannot run) before loading anything.
    char first = 0;
    ssize_t n = 0;
    do {
      n = ::read(child.status_.get(), &first, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1 || first != 'R') {
      std::string why = n == 1 && first == 'E' ? read_all(child.status_.get())
                                               : "the command's process ended before exec";
      child.reap();
      return SysError::plain(why);
    }
    return child;
  }

  Child() = default;
  Child(Child&&) = default;
  Child& operator=(Child&&) = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { abandon(); }

  [[nodiscard]] pid_t pid() const { return pid_; }

  // Lets the command exec. Returns the reason when the exec failed.
  std::optional<std::string> release() {
    if (::write(go_.get(), "G", 1) != 1) return std::string("cannot release the command");
    go_.reset();
    std::string reply = read_all(status_.get());  // EOF: the exec succeeded
    status_.reset();
    if (!reply.empty() && reply.front() == 'E') return reply.substr(1);
    return std::nullopt;
  }

  // The wait status, once the process ended.
  int reap() {
    const auto status = pid_ > 0 ? wait_for_exit(pid_) : Expected<int>(0);
    pid_ = -1;
    return status.value_or(0);
  }
  void forget() { pid_ = -1; }

  // Never released: make sure it never runs the command.
  void abandon() {
    if (pid_ > 0 && go_.get() >= 0) {
      go_.reset();  // EOF on the go pipe: the child exits without exec
      reap();
    }
  }

 private:
  pid_t pid_ = -1;
  Fd status_;
  Fd go_;
};

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// --- the run --------------------------------------------------------------

struct Output {
  int fd = STDOUT_FILENO;
  Fd owned;
};

int exit_code_of(int wait_status, SyscountReport& report) {
  if (WIFEXITED(wait_status)) {
    report.exit_status = WEXITSTATUS(wait_status);
    return WEXITSTATUS(wait_status);
  }
  if (WIFSIGNALED(wait_status)) {
    report.signal = WTERMSIG(wait_status);
    report.exit_status = 128 + WTERMSIG(wait_status);
    return 128 + WTERMSIG(wait_status);
  }
  return 0;
}

std::optional<std::string> preflight() {
  CollectOptions collect;
  collect.run_probes = false;
  collect.binary_path = self_exe();
  const Snapshot snapshot = collect_snapshot(SystemRoot("/"), collect);
  const Prediction prediction =
      predict(snapshot, subject_from_snapshot(snapshot), ProbeFlavour::raw_tp, collect.binary_path);
  if (!prediction.ok && prediction.certain) {
    std::string text = "cannot trace: " + prediction.reason;
    if (!prediction.remedy.empty()) text += "\n  fix: " + prediction.remedy;
    return text;
  }
  // Every program is a typed (tp_btf) raw tracepoint.
  if (!snapshot.btf_vmlinux) {
    return std::string(
        "cannot trace: the kernel has no BTF (/sys/kernel/btf/vmlinux), which syscount's typed "
        "tracepoint programs need\n  fix: boot a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  }
  return std::nullopt;
}

int run(const SyscountOptions& options) {
  const TargetMode mode = options.mode();
  auto user = resolve_real_user();
  if (!user) {
    error_line(user.error().message);
    return kExitUsage;
  }

  std::vector<pid_t> tgids;
  for (pid_t pid : options.pids) {
    auto tgid = tgid_of(pid);
    if (!tgid) {
      error_line("no process with PID " + std::to_string(pid));
      return kExitUsage;
    }
    tgids.push_back(*tgid);
  }

  if (auto failure = preflight()) {
    error_line(*failure);
    return kExitUsage;
  }

  // Signals are read from a signalfd in the main loop; blocked from here on
  // (the child unblocks them before exec).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  SyscountReport report;
  report.mode = mode;
  report.command = options.command;
  report.pids = tgids;

  std::optional<Child> child;
  if (mode == TargetMode::command) {
    auto spawned = Child::spawn(options.command, *user);
    if (!spawned) {
      error_line(spawned.error().message);
      return kExitNotExecuted;
    }
    child.emplace(std::move(*spawned));
  }

  TracerConfig config;
  config.system_wide = mode == TargetMode::all;
  config.by_process = options.report.by_process;
  config.by_thread = options.report.by_thread;
  config.errors = options.report.errors;
  config.latency = options.report.latency;
  config.map_entries = options.map_entries;
  std::string libbpf_log;
  auto started = SyscountTracer::start(config, libbpf_log);
  if (options.verbose && !libbpf_log.empty()) {
    (void)!::write(STDERR_FILENO, libbpf_log.data(), libbpf_log.size());
  }
  if (!started) {
    std::string message = "cannot start tracing: " + started.error().message;
    if (!options.verbose) message += " (--verbose shows libbpf's messages)";
    error_line(message);
    return kExitUsage;
  }
  std::unique_ptr<SyscountTracer> tracer = std::move(*started);

  if (child) {
    if (auto error = tracer->track(child->pid(), /*armed=*/true)) {
      error_line(error->message);
      return kExitUsage;
    }
  }
  for (pid_t tgid : tgids) {
    if (auto error = tracer->track(tgid, /*armed=*/false)) {
      error_line(error->message);
      return kExitUsage;
    }
  }

  // Attached: from here on syscount needs no capability at all.
  if (auto dropped = become_real_user(*user); !dropped) {
    error_line(dropped.error().message);
    return kExitUsage;
  }
  if (!current_capabilities().empty()) {
    error_line("internal error: capabilities remain after dropping them");
    return kExitUsage;
  }

  // Only now, without privileges, touch a path the user named.
  Output output;
  if (!options.output.empty()) {
    const int fd = ::open(options.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
      error_line("cannot write " + options.output + ": " + std::strerror(errno));
      return kExitUsage;
    }
    output.owned = Fd(fd);
    output.fd = fd;
  }

  const auto start = Clock::now();
  std::vector<Fd> pidfds;
  if (child) {
    if (auto failure = child->release()) {
      error_line(*failure);
      child->reap();
      return kExitNotExecuted;
    }
    pidfds.emplace_back(pidfd_open(child->pid()));
  }
  for (pid_t tgid : tgids) pidfds.emplace_back(pidfd_open(tgid));
  Fd signals(signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  auto seconds_since = [&](Clock::time_point t) {
    return std::chrono::duration<double>(t - start).count();
  };
  const std::optional<Clock::time_point> deadline =
      options.duration ? std::optional(start + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(*options.duration)))
                       : std::nullopt;
  const auto interval = options.interval
                            ? std::optional(std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(*options.interval)))
                            : std::nullopt;
  Clock::time_point next_tick = interval ? start + *interval : Clock::time_point::max();
  Clock::time_point interval_start = start;
  SyscountSample previous;
  std::size_t interval_index = 0;
  bool write_failed = false;
  int exit_code = 0;
  std::optional<int> stop_signal;
  std::size_t targets_alive = pidfds.size();
  std::vector<bool> ended(pidfds.size(), false);

  auto emit = [&](const SyscountSample& now, Clock::time_point at, bool final) {
    SyscountReport piece = report;
    piece.final = final;
    if (interval) {
      piece.sample = now - previous;
      piece.interval_index = ++interval_index;
      piece.interval_start_sec = seconds_since(interval_start);
      piece.duration_sec = std::chrono::duration<double>(at - interval_start).count();
      previous = now;
      interval_start = at;
    } else {
      piece.sample = now;
      piece.duration_sec = seconds_since(at);
    }
    std::string text = options.json
                           ? (interval ? render_syscount_json(piece, options.report).dump()
                                       : render_syscount_json(piece, options.report).dump(2)) +
                                 "\n"
                           : render_syscount_text(piece, options.report) + (interval ? "\n" : "");
    if (!write_all(output.fd, text)) write_failed = true;
  };

  for (;;) {
    const auto now = Clock::now();
    if (deadline && now >= *deadline) break;
    if (now >= next_tick) {
      emit(tracer->read(), now, false);
      report.exit_status.reset();
      next_tick += *interval;
      continue;
    }
    auto wake = std::min(next_tick, deadline.value_or(Clock::time_point::max()));
    int timeout_ms = -1;
    if (wake != Clock::time_point::max()) {
      timeout_ms = static_cast<int>(
          std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
    }
    std::vector<pollfd> fds;
    fds.push_back(pollfd{signals.get(), POLLIN, 0});
    for (const auto& fd : pidfds) fds.push_back(pollfd{fd.get(), POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) {
      error_line(std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        stop_signal = static_cast<int>(info.ssi_signo);
      }
      break;
    }
    for (std::size_t i = 0; i < pidfds.size(); ++i) {
      if (ended[i] || !(fds[i + 1].revents & (POLLIN | POLLHUP))) continue;
      ended[i] = true;
      --targets_alive;
      if (child && i == 0) exit_code = exit_code_of(child->reap(), report);
    }
    if (child && ended[0]) break;
    if (!child && !tgids.empty() && targets_alive == 0) break;
  }

  const auto stopped = Clock::now();
  if (child && stop_signal) {
    // Ctrl-C reaches the command too; give it a moment to finish so that its
    // status is reported, but never wait on a command that ignores it.
    for (int i = 0; i < 20; ++i) {
      int status = 0;
      const pid_t done = waitpid(child->pid(), &status, WNOHANG);
      if (done == child->pid()) {
        child->forget();
        exit_code = exit_code_of(status, report);
        break;
      }
      ::usleep(5000);
    }
    if (!report.exit_status) {
      child->forget();
      exit_code = 128 + *stop_signal;
    }
  }
  const SyscountSample final_sample = tracer->read();
  tracer->stop();
  emit(final_sample, stopped, true);
  if (write_failed) {
    error_line("cannot write the report" +
               (options.output.empty() ? std::string() : " to " + options.output) + ": " +
               std::strerror(errno));
    return child ? exit_code : kExitUsage;
  }
  return exit_code;
}

}  // namespace

int syscount_main(const std::vector<std::string>& args) {
  auto parsed = parse_syscount_args(args);
  if (auto* done = std::get_if<CliExit>(&parsed)) {
    if (done->code == 0) {
      std::fputs(done->text.c_str(), stdout);
    } else {
      std::string line = done->text + "\n";
      (void)!::write(STDERR_FILENO, line.data(), line.size());
    }
    return done->code;
  }
  const auto& options = std::get<SyscountOptions>(parsed);
  if (options.list) {
    std::fputs(syscall_table_text().c_str(), stdout);
    return 0;
  }
  return run(options);
}

}  // namespace bpfready
