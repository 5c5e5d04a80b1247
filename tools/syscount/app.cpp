#include "tools/syscount/app.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
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
#include "libcheck/snapshot.h"
#include "tools/syscount/child.h"
#include "tools/syscount/privs.h"
#include "tools/syscount/report.h"
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
  std::vector<pid_t> tgids;  // -p, as processes
  sigset_t stop_signals{};
  SyscountReport report;        // what every report document shares
  std::optional<Child> child;   // command mode
  std::unique_ptr<SyscountTracer> tracer;
  Fd output;                    // -o FILE
  int exit_code = 0;
  std::optional<int> stop_signal;  // the SIGINT or SIGTERM that ended the run

  [[nodiscard]] int output_fd() const { return output.valid() ? output.get() : STDOUT_FILENO; }
};

// --- pre-flight: nothing is changed yet -----------------------------------

Expected<void> check_can_trace() {
  CollectOptions collect;
  collect.run_probes = false;
  collect.binary_path = self_exe();
  const Snapshot snapshot = collect_snapshot(SystemRoot("/"), collect);
  const Prediction prediction =
      predict(snapshot, subject_from_snapshot(snapshot), ProbeFlavour::raw_tp, collect.binary_path);
  if (!prediction.ok && prediction.certain) {
    std::string text = "cannot trace: " + prediction.reason;
    if (!prediction.remedy.empty()) text += "\n  fix: " + prediction.remedy;
    return SysError::plain(text);
  }
  // Every program is a typed (tp_btf) raw tracepoint.
  if (!snapshot.btf_vmlinux) {
    return SysError::plain(
        "cannot trace: the kernel has no BTF (/sys/kernel/btf/vmlinux), which syscount's typed "
        "tracepoint programs need\n  fix: boot a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  }
  return Ok{};
}

// Who the real user is, which processes -p names, and whether tracing can
// work here at all.
Expected<void> preflight(RunState& run) {
  auto user = resolve_real_user();
  if (!user) return user.error();
  run.user = std::move(*user);
  for (pid_t pid : run.options.pids) {
    auto tgid = tgid_of(pid);
    if (!tgid) return SysError::plain("no process with PID " + std::to_string(pid));
    run.tgids.push_back(*tgid);
  }
  if (auto can = check_can_trace(); !can) return can;

  run.report.mode = run.options.mode();
  run.report.command = run.options.command;
  run.report.pids = run.tgids;
  return Ok{};
}

// Signals are read from a signalfd in the wait loop; blocked from here on
// (the command unblocks them before its exec).
void block_stop_signals(RunState& run) {
  sigemptyset(&run.stop_signals);
  sigaddset(&run.stop_signals, SIGINT);
  sigaddset(&run.stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &run.stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
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

TracerConfig tracer_config(const SyscountOptions& options) {
  TracerConfig config;
  config.system_wide = options.mode() == TargetMode::all;
  config.by_process = options.report.by_process;
  config.by_thread = options.report.by_thread;
  config.errors = options.report.errors;
  config.latency = options.report.latency;
  config.map_entries = options.map_entries;
  return config;
}

// Loads and attaches the programs, then tracks the command and the -p processes.
Expected<void> attach(RunState& run) {
  std::string libbpf_log;
  auto started = SyscountTracer::start(tracer_config(run.options), libbpf_log);
  if (run.options.verbose && !libbpf_log.empty()) (void)write_all(STDERR_FILENO, libbpf_log);
  if (!started) {
    std::string message = "cannot start tracing: " + started.error().message;
    if (!run.options.verbose) message += " (--verbose shows libbpf's messages)";
    return SysError::plain(message);
  }
  run.tracer = std::move(*started);
  if (run.child) {
    // Armed: counted from its exec on, not during syscount's set-up.
    auto tracked = run.tracer->track(run.child->pid(), /*armed=*/true);
    if (!tracked) return tracked;
  }
  for (pid_t tgid : run.tgids) {
    if (auto tracked = run.tracer->track(tgid, /*armed=*/false); !tracked) return tracked;
  }
  return Ok{};
}

// Attached: from here on syscount needs no capability at all.
Expected<void> drop_privileges(const RunState& run) {
  if (auto dropped = become_real_user(run.user); !dropped) return dropped;
  if (!current_capabilities().empty()) {
    return SysError::plain("internal error: capabilities remain after dropping them");
  }
  return Ok{};
}

// Only without privileges, touch a path the user named.
Expected<void> open_output(RunState& run) {
  if (run.options.output.empty()) return Ok{};
  const int fd =
      ::open(run.options.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return SysError::from_errno(errno, "cannot write " + run.options.output);
  run.output = Fd(fd);
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
// the counts of that interval.
class ReportWriter {
 public:
  ReportWriter(const SyscountOptions& options, int fd, const Schedule& schedule)
      : options_(options), fd_(fd), start_(schedule.start), interval_start_(schedule.start) {}

  void emit(const SyscountReport& base, const SyscountSample& now, Clock::time_point at,
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
    std::string text = options_.json
                           ? (intervals ? render_syscount_json(piece, options_.report).dump()
                                        : render_syscount_json(piece, options_.report).dump(2)) +
                                 "\n"
                           : render_syscount_text(piece, options_.report) + (intervals ? "\n" : "");
    if (!write_all(fd_, text)) write_failed_ = true;
  }

  [[nodiscard]] bool failed() const { return write_failed_; }

 private:
  const SyscountOptions& options_;
  int fd_;
  Clock::time_point start_;
  Clock::time_point interval_start_;
  SyscountSample previous_;
  std::size_t interval_index_ = 0;
  bool write_failed_ = false;
};

// What the wait loop sleeps on: the stop signals, and one pidfd per target
// (the command's first).
struct Watch {
  Fd signals;
  std::vector<Fd> pidfds;
  std::vector<bool> ended;
  std::size_t alive = 0;
};

Watch watch_targets(const RunState& run) {
  Watch watch;
  if (run.child) watch.pidfds.emplace_back(pidfd_open(run.child->pid()));
  for (pid_t tgid : run.tgids) watch.pidfds.emplace_back(pidfd_open(tgid));
  watch.signals = Fd(signalfd(-1, &run.stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  watch.ended.assign(watch.pidfds.size(), false);
  watch.alive = watch.pidfds.size();
  return watch;
}

// Sleeps until WAKE (max: no limit), a stop signal or a target's end. True
// when the run is over.
bool wait_for_events(RunState& run, Watch& watch, Clock::time_point now, Clock::time_point wake) {
  int timeout_ms = -1;
  if (wake != Clock::time_point::max()) {
    timeout_ms =
        static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
  }
  std::vector<pollfd> fds;
  fds.push_back(pollfd{watch.signals.get(), POLLIN, 0});
  for (const auto& fd : watch.pidfds) fds.push_back(pollfd{fd.get(), POLLIN, 0});
  const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
  if (ready < 0 && errno != EINTR) {
    error_line(std::string("poll: ") + std::strerror(errno));
    return true;
  }
  if (fds[0].revents & POLLIN) {
    signalfd_siginfo info{};
    if (::read(watch.signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      run.stop_signal = static_cast<int>(info.ssi_signo);
    }
    return true;
  }
  for (std::size_t i = 0; i < watch.pidfds.size(); ++i) {
    if (watch.ended[i] || !(fds[i + 1].revents & (POLLIN | POLLHUP))) continue;
    watch.ended[i] = true;
    --watch.alive;
    if (run.child && i == 0) run.exit_code = exit_code_of(run.child->reap(), run.report);
  }
  if (run.child && watch.ended[0]) return true;
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
      writer.emit(run.report, run.tracer->read(), now, false);
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

// Reads the counters a last time, detaches, writes the final report. The
// exit status of the run.
int finish(RunState& run, ReportWriter& writer, Clock::time_point stopped) {
  const SyscountSample final_sample = run.tracer->read();
  run.tracer->stop();
  writer.emit(run.report, final_sample, stopped, true);
  if (!writer.failed()) return run.exit_code;
  error_line("cannot write the report" +
             (run.options.output.empty() ? std::string() : " to " + run.options.output) + ": " +
             std::strerror(errno));
  return run.child ? run.exit_code : kExitUsage;
}

}  // namespace

int run_syscount(const SyscountOptions& options) {
  RunState run(options);
  if (auto ready = preflight(run); !ready) return fail(ready.error(), kExitUsage);
  block_stop_signals(run);
  if (auto spawned = spawn_command(run); !spawned) return fail(spawned.error(), kExitNotExecuted);
  if (auto attached = attach(run); !attached) return fail(attached.error(), kExitUsage);
  if (auto dropped = drop_privileges(run); !dropped) return fail(dropped.error(), kExitUsage);
  if (auto opened = open_output(run); !opened) return fail(opened.error(), kExitUsage);

  Schedule schedule = schedule_from(options, Clock::now());
  if (run.child) {
    if (auto released = run.child->release(); !released) {
      error_line(released.error().message);
      run.child->reap();
      return kExitNotExecuted;
    }
  }
  ReportWriter writer(options, run.output_fd(), schedule);
  wait_for_end(run, writer, schedule);
  const auto stopped = Clock::now();
  collect_stopped_command(run);
  return finish(run, writer, stopped);
}

}  // namespace bpfready
