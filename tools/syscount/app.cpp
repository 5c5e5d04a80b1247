#include "tools/syscount/app.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/common/creds.h"
#include "libcheck/common/fd.h"
#include "libcheck/common/procfs.h"
#include "libcheck/common/text.h"
#include "libcheck/snapshot.h"
#include "tools/syscount/child.h"
#include "tools/syscount/preflight.h"
#include "tools/syscount/privs.h"
#include "tools/syscount/report.h"
#include "tools/syscount/stop.h"
#include "tools/syscount/tracer.h"

namespace bpfready {

namespace {

constexpr int kExitUsage = 2;

using Clock = std::chrono::steady_clock;

void error_line(const std::string& message) {
  (void)write_all(STDERR_FILENO, "syscount: " + message + "\n");
}

// Prints ERROR; CODE is the exit status of a run that stops there.
int fail(const SysError& error, int code) {
  error_line(error.message);
  return code;
}

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

Clock::duration seconds(double value) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(value));
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Longest single poll: a far -d or -i is reached in steps, never by a
// timeout that overflows poll's int.
constexpr auto kLongestWait = std::chrono::hours(1);

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

// Everything one run holds, from pre-flight to the report. Members are
// destroyed in reverse order: the output closes, the programs are detached
// and unloaded, and only then is a command never released abandoned.
struct RunState {
  explicit RunState(const SyscountOptions& run_options) : options(run_options) {}

  const SyscountOptions& options;
  RealUser user;
  std::vector<pid_t> tgids;  // -p, as processes, each once
  // One per TGID, opened at pre-flight: from then on the end of that very
  // process is seen, however early it comes (and a reused PID is not it).
  std::vector<Fd> pidfds;
  bool stdout_closed = false;   // syscount was started with stdout closed
  SyscountReport report;        // what every report document shares
  std::optional<Child> child;   // command mode
  Fd child_pidfd;
  ProbeFlavour flavour = ProbeFlavour::tp_btf;  // the programs' variant, from pre-flight
  // Kept permitted after the drop, raised only to read the counters, where
  // the kernel demands it (map_reads_need_capability).
  std::optional<cap_value_t> read_capability;
  std::unique_ptr<SyscountTracer> tracer;
  Fd output;                    // -o FILE
  int exit_code = 0;
  bool wait_failed = false;        // the end of the run may have been missed
  std::optional<SysError> read_error;  // the counters could not be read: no report
  std::optional<int> stop_signal;  // the SIGINT or SIGTERM that ended the run

  [[nodiscard]] int output_fd() const { return output.valid() ? output.get() : STDOUT_FILENO; }
};

// --- pre-flight: nothing is changed yet -----------------------------------

// Which programs to load, or why tracing cannot work here (pre-flight.h).
Expected<void> check_can_trace(RunState& run) {
  CollectOptions collect;
  collect.run_probes = false;
  collect.binary_path = self_exe();
  const Snapshot snapshot = collect_snapshot(SystemRoot("/"), collect);
  auto flavour = decide_flavour(snapshot, subject_from_snapshot(snapshot), collect.binary_path,
                                run.options.flavour);
  if (!flavour) return flavour.error();
  run.flavour = *flavour;
  run.report.programs = std::string(to_string(*flavour));
  if (map_reads_need_capability(snapshot)) run.read_capability = held_bpf_capability();
  return Ok{};
}

// A closed stdin, stdout or stderr would be taken by the next descriptor
// syscount opens, and the report written into it. /dev/null opened
// read-only holds the number and makes writes to it fail; close-on-exec,
// so the command starts with it closed, as it was invoked.
void reserve_standard_fds(RunState& run) {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    const int reserved = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free: FD
    if (reserved >= 0 && reserved != fd) ::close(reserved);
    if (fd == STDOUT_FILENO) run.stdout_closed = true;
  }
}

SysError cannot_watch(int error, pid_t pid) {
  if (error == ESRCH) return SysError::plain("no process with PID " + std::to_string(pid));
  if (error == EMFILE || error == ENFILE) {
    return SysError::plain("cannot watch PID " + std::to_string(pid) +
                           ": too many open files (each -p process takes one; raise ulimit -n, "
                           "give fewer PIDs, or use -a)");
  }
  return SysError::from_errno(error, "cannot watch PID " + std::to_string(pid));
}

// Why the process of PID could not be found: it does not exist, or no file
// can be opened to look (the same limit the pidfds run into).
SysError cannot_resolve(pid_t pid) {
  const Fd probe(pidfd_open(pid));
  // EINVAL: PID is a thread that is not its process's leader, so it exists.
  if (!probe.valid() && errno != EINVAL) return cannot_watch(errno, pid);
  return SysError::plain("cannot read /proc/" + std::to_string(pid) + "/status");
}

// The -p processes, each once, each with its pidfd.
Expected<void> watch_pids(RunState& run) {
  for (pid_t pid : run.options.pids) {
    auto tgid = tgid_of(pid);
    if (!tgid) return cannot_resolve(pid);
    if (std::find(run.tgids.begin(), run.tgids.end(), *tgid) != run.tgids.end()) continue;
    Fd pidfd(pidfd_open(*tgid));
    if (!pidfd.valid()) return cannot_watch(errno, pid);
    run.tgids.push_back(*tgid);
    run.pidfds.push_back(std::move(pidfd));
  }
  return Ok{};
}

// Who the real user is, which processes -p names, and whether tracing can
// work here at all.
Expected<void> preflight(RunState& run) {
  auto user = resolve_real_user();
  if (!user) return user.error();
  run.user = std::move(*user);
  if (auto watched = watch_pids(run); !watched) return watched;
  if (auto can = check_can_trace(run); !can) return can;

  run.report.mode = run.options.mode();
  run.report.command = run.options.command;
  run.report.pids = run.tgids;
  return Ok{};
}

// --- spawn, attach, drop privileges ---------------------------------------

// Command mode: the command's process, held before its exec.
Expected<void> spawn_command(RunState& run) {
  if (run.options.mode() != TargetMode::command) return Ok{};
  auto spawned = Child::spawn(run.options.command, run.user);
  if (!spawned) return spawned.error();
  run.child.emplace(std::move(*spawned));
  return Ok{};
}

// The command's end, seen by the wait loop.
Expected<void> watch_command(RunState& run) {
  if (!run.child) return Ok{};
  run.child_pidfd = Fd(pidfd_open(run.child->pid()));
  if (!run.child_pidfd.valid()) return SysError::from_errno(errno, "cannot watch the command");
  return Ok{};
}

TracerConfig tracer_config(const RunState& run) {
  const SyscountOptions& options = run.options;
  TracerConfig config;
  config.flavour = run.flavour;
  config.system_wide = options.mode() == TargetMode::all;
  config.by_process = options.report.by_process;
  config.by_thread = options.report.by_thread;
  config.errors = options.report.errors;
  config.latency = options.report.latency;
  config.only_errno = static_cast<std::uint32_t>(options.report.only_errno.value_or(0));
  config.map_entries = options.map_entries;
  // Armed: the command is counted from its exec on, not during syscount's set-up.
  if (run.child) config.targets.push_back({run.child->pid(), /*armed=*/true});
  for (pid_t tgid : run.tgids) config.targets.push_back({tgid, /*armed=*/false});
  return config;
}

// Loads and attaches the programs, with the command and the -p processes tracked.
Expected<void> attach(RunState& run) {
  if (run.options.verbose) {
    error_line("loading the " + std::string(to_string(run.flavour)) + " programs" +
               (run.flavour == ProbeFlavour::raw_tp
                    ? " (the fallback for kernels without typed tracepoints)"
                    : ""));
  }
  std::string libbpf_log;
  auto started = SyscountTracer::start(tracer_config(run), libbpf_log);
  if (run.options.verbose && !libbpf_log.empty()) (void)write_all(STDERR_FILENO, libbpf_log);
  if (!started) {
    std::string message = "cannot start tracing: " + started.error().message;
    if (!run.options.verbose) message += " (--verbose shows libbpf's messages)";
    return SysError::plain(message);
  }
  run.tracer = std::move(*started);
  return Ok{};
}

// Attached: from here on syscount needs no capability at all, except, on
// kernels that gate map reads, one kept permitted to read the counters.
Expected<void> drop_privileges(const RunState& run) {
  if (auto dropped = become_real_user(run.user, run.read_capability); !dropped) return dropped;
  const CapabilitySets left = current_capabilities();
  const std::uint64_t kept =
      run.read_capability ? std::uint64_t{1} << *run.read_capability : std::uint64_t{0};
  if (left.effective != 0 || left.permitted != kept || left.inheritable != 0 || left.ambient != 0) {
    return SysError::plain("internal error: capabilities remain after dropping them");
  }
  return Ok{};
}

// The counters now. On kernels that gate map reads the kept capability is
// raised for the reads only; a read that fails is an error, never zeros.
Expected<SyscountSample> read_counters(const RunState& run) {
  std::optional<RaisedCapability> raised;
  if (run.read_capability) {
    raised.emplace(*run.read_capability);
    if (!raised->raised()) return raised->raised().error();
  }
  auto sample = run.tracer->read();
  if (!sample && sample.error().errnum == EPERM) {
    return SysError::plain(sample.error().message +
                           " (kernels before 5.19 refuse map reads without CAP_BPF while "
                           "kernel.unprivileged_bpf_disabled is set)");
  }
  return sample;
}

// Only without privileges, touch a path the user named. Opened without
// blocking: a FIFO nobody reads is refused at once rather than waited on
// (with the programs attached); writes block again after.
Expected<void> open_output(RunState& run) {
  if (run.options.output.empty()) return Ok{};
  const std::string& path = run.options.output;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);
  if (fd < 0) {
    const int error = errno;
    struct stat meta {};
    if (error == ENXIO && ::stat(path.c_str(), &meta) == 0 && S_ISFIFO(meta.st_mode)) {
      return SysError::plain("cannot write " + escape_for_terminal(path) +
                             ": no process is reading it (start the FIFO's reader first)");
    }
    return SysError::from_errno(error, "cannot write " + escape_for_terminal(path));
  }
  run.output = Fd(fd);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return SysError::from_errno(errno, "cannot write " + escape_for_terminal(path));
  }
  return Ok{};
}

// --- the wait loop --------------------------------------------------------

// When the loop wakes by itself: the end of -d, and every -i.
struct Schedule {
  Clock::time_point start;
  std::optional<Clock::time_point> deadline;
  std::optional<Clock::duration> interval;
  Clock::time_point next_tick = Clock::time_point::max();
};

Schedule schedule_from(const SyscountOptions& options, Clock::time_point start) {
  Schedule schedule;
  schedule.start = start;
  if (options.duration) schedule.deadline = start + seconds(*options.duration);
  if (options.interval) {
    schedule.interval = seconds(*options.interval);
    schedule.next_tick = start + *schedule.interval;
  }
  return schedule;
}

// Writes the report documents: one at the end, or one per interval with
// the counts of that interval. A document a stop signal interrupted is
// completed before the next one, so the output stays whole.
class ReportWriter {
 public:
  ReportWriter(const SyscountOptions& options, int fd, const Schedule& schedule)
      : options_(options), fd_(fd), start_(schedule.start), interval_start_(schedule.start) {}

  // False when the run should end here: a stop signal interrupted the write
  // (interrupted()), or writing failed (error()).
  bool emit(const SyscountReport& base, const SyscountSample& now, Clock::time_point at,
            bool final) {
    if (error_ != 0) return false;
    const std::string text = unwritten_ + render(base, now, at, final);
    unwritten_.clear();
    const WriteOutcome outcome = write_unless_stopped(fd_, text);
    if (outcome.interrupted) unwritten_ = text.substr(outcome.written);
    error_ = outcome.error;
    return outcome.complete();
  }

  [[nodiscard]] bool interrupted() const { return !unwritten_.empty(); }
  [[nodiscard]] int error() const { return error_; }

 private:
  std::string render(const SyscountReport& base, const SyscountSample& now, Clock::time_point at,
                     bool final) {
    const bool intervals = options_.interval.has_value();
    SyscountReport piece = base;
    piece.final = final;
    if (intervals) {
      piece.sample = now - previous_;
      piece.interval_index = ++interval_index_;
      piece.interval_start_sec = seconds_between(start_, interval_start_);
      piece.duration_sec = seconds_between(interval_start_, at);
      previous_ = now;
      interval_start_ = at;
    } else {
      piece.sample = now;
      piece.duration_sec = seconds_between(start_, at);
    }
    if (!options_.json) return render_syscount_text(piece, options_.report) + (intervals ? "\n" : "");
    return render_syscount_json(piece, options_.report).dump(intervals ? -1 : 2) + "\n";
  }

  const SyscountOptions& options_;
  int fd_;
  Clock::time_point start_;
  Clock::time_point interval_start_;
  SyscountSample previous_;
  std::size_t interval_index_ = 0;
  std::string unwritten_;
  int error_ = 0;
};

// What the wait loop sleeps on: the stop signals, and one pidfd per target
// (the command's first). An ended target's entry is set to -1, which poll
// skips.
struct Watch {
  std::vector<pollfd> fds;
  std::size_t alive = 0;
};

Watch watch_targets(const RunState& run) {
  Watch watch;
  watch.fds.push_back(pollfd{StopSignals::wake_fd(), POLLIN, 0});
  if (run.child) watch.fds.push_back(pollfd{run.child_pidfd.get(), POLLIN, 0});
  for (const auto& pidfd : run.pidfds) watch.fds.push_back(pollfd{pidfd.get(), POLLIN, 0});
  watch.alive = watch.fds.size() - 1;
  return watch;
}

int timeout_ms(Clock::time_point now, Clock::time_point wake) {
  if (wake == Clock::time_point::max()) return -1;
  const auto wait = std::min<Clock::duration>(wake - now, kLongestWait);
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

// Sleeps until WAKE (max: no limit), a stop signal or a target's end. True
// when the run is over.
bool wait_for_events(RunState& run, Watch& watch, Clock::time_point now, Clock::time_point wake) {
  for (auto& fd : watch.fds) fd.revents = 0;
  const int ready = ::poll(watch.fds.data(), watch.fds.size(), timeout_ms(now, wake));
  if (ready < 0 && errno != EINTR) {
    error_line(std::string("cannot wait for the traced processes: ") + std::strerror(errno));
    run.wait_failed = true;
    return true;
  }
  if (auto signo = StopSignals::received()) {
    run.stop_signal = signo;
    return true;
  }
  for (std::size_t i = 1; i < watch.fds.size(); ++i) {
    if (watch.fds[i].fd < 0 || !(watch.fds[i].revents & (POLLIN | POLLHUP))) continue;
    watch.fds[i].fd = -1;
    --watch.alive;
    if (run.child && i == 1) {
      run.exit_code = exit_code_of(run.child->reap(), run.report);
      return true;
    }
  }
  return !run.child && !run.tgids.empty() && watch.alive == 0;
}

// Until the command or every -p process ended, -d passed, or a stop signal
// came; with -i, a report document every interval.
void wait_for_end(RunState& run, ReportWriter& writer, Schedule& schedule) {
  Watch watch = watch_targets(run);
  for (;;) {
    const auto now = Clock::now();
    if (schedule.deadline && now >= *schedule.deadline) return;
    if (now >= schedule.next_tick) {
      auto sample = read_counters(run);
      if (!sample) {
        run.read_error = sample.error();
        return;
      }
      if (!writer.emit(run.report, *sample, now, false)) {
        if (writer.interrupted()) run.stop_signal = StopSignals::received();
        return;
      }
      run.report.exit_status.reset();
      schedule.next_tick += *schedule.interval;
      continue;
    }
    const auto wake =
        std::min(schedule.next_tick, schedule.deadline.value_or(Clock::time_point::max()));
    if (wait_for_events(run, watch, now, wake)) return;
  }
}

// Ctrl-C reaches the command too; give it a moment to finish so that its
// status is reported, but never wait on a command that ignores it.
void collect_stopped_command(RunState& run) {
  if (!run.child || !run.stop_signal) return;
  if (auto status = run.child->reap_within(std::chrono::milliseconds(100))) {
    run.exit_code = exit_code_of(*status, run.report);
  }
  if (!run.report.exit_status) {
    run.child->forget();
    run.exit_code = 128 + *run.stop_signal;
  }
}

// --- the report -----------------------------------------------------------

std::string write_error(const RunState& run, int error) {
  if (run.options.output.empty() && run.stdout_closed) {
    return "cannot write the report: stdout is closed";
  }
  const std::string where =
      run.options.output.empty() ? "stdout" : escape_for_terminal(run.options.output);
  return "cannot write the report to " + where + ": " + std::strerror(error);
}

// Reads the counters a last time, detaches, writes the final report. The
// exit status of the run: 2 when the counters could not be read or the
// report could not be written, even with a command.
int finish(RunState& run, ReportWriter& writer, Clock::time_point stopped) {
  auto final_sample = run.read_error ? Expected<SyscountSample>(*run.read_error) : read_counters(run);
  run.tracer->stop();
  // Nothing attached any more: a second Ctrl-C may end a blocked write.
  StopSignals::restore();
  if (!final_sample) {
    error_line("no report: " + final_sample.error().message);
    return kExitUsage;
  }
  if (!writer.emit(run.report, *final_sample, stopped, true)) {
    error_line(write_error(run, writer.error()));
    return kExitUsage;
  }
  return run.wait_failed ? kExitUsage : run.exit_code;
}

// Releases the command (unless a stop signal came first), counts until the
// end, reports.
int trace(RunState& run) {
  Schedule schedule = schedule_from(run.options, Clock::now());
  if (run.child) {
    if (auto signo = StopSignals::received()) {
      error_line("stopped by signal " + std::to_string(*signo) + " before the command started");
      return 128 + *signo;
    }
    if (auto released = run.child->release(); !released) {
      error_line(released.error().message);
      run.child->reap();
      return kExitNotExecuted;
    }
  }
  ReportWriter writer(run.options, run.output_fd(), schedule);
  wait_for_end(run, writer, schedule);
  const auto stopped = Clock::now();
  collect_stopped_command(run);
  return finish(run, writer, stopped);
}

// Restores the stop signals' default action on every way out of a run.
struct StopSignalsCaught {
  StopSignalsCaught() = default;
  ~StopSignalsCaught() { StopSignals::restore(); }
  StopSignalsCaught(const StopSignalsCaught&) = delete;
  StopSignalsCaught& operator=(const StopSignalsCaught&) = delete;
};

}  // namespace

int run_syscount(const SyscountOptions& options) {
  RunState run(options);
  reserve_standard_fds(run);
  std::signal(SIGPIPE, SIG_IGN);  // a reader gone is a write error (EPIPE)
  if (auto ready = preflight(run); !ready) return fail(ready.error(), kExitUsage);
  if (auto spawned = spawn_command(run); !spawned) return fail(spawned.error(), kExitNotExecuted);
  if (auto watched = watch_command(run); !watched) return fail(watched.error(), kExitUsage);
  // Before the first program is loaded: from then on Ctrl-C and SIGTERM
  // end the run with everything detached, whatever it is blocked in.
  if (auto caught = StopSignals::catch_them(); !caught) return fail(caught.error(), kExitUsage);
  const StopSignalsCaught caught_until_return;
  if (auto attached = attach(run); !attached) return fail(attached.error(), kExitUsage);
  if (auto dropped = drop_privileges(run); !dropped) return fail(dropped.error(), kExitUsage);
  if (auto opened = open_output(run); !opened) return fail(opened.error(), kExitUsage);
  return trace(run);
}

}  // namespace bpfready
