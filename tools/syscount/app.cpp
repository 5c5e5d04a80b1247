#include "tools/syscount/app.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
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
#include "tools/syscount/cgroup.h"
#include "tools/syscount/child.h"
#include "tools/syscount/preflight.h"
#include "tools/syscount/privs.h"
#include "tools/syscount/report.h"
#include "tools/syscount/output.h"
#include "tools/syscount/stop.h"
#include "tools/syscount/tracer.h"
#include "tools/syscount/watched.h"

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

Clock::duration seconds(double value) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(value));
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Longest single poll: a far -d or -i is reached in steps, never by a
// timeout that overflows poll's int.
constexpr auto kLongestWait = std::chrono::hours(1);

// timeout(1)'s exit status when -d ends a command, and its grace between
// SIGTERM and SIGKILL (timeout's --kill-after).
constexpr int kExitTimedOut = 124;
constexpr auto kKillAfter = std::chrono::seconds(2);

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
  Invoker invoker;  // read first, before anything changes
  RunAs run_as;     // who the command runs as
  std::vector<pid_t> tgids;  // -p, as processes, each once
  // One per TGID, opened at pre-flight: from then on the end of that very
  // process is seen, however early it comes (and a reused PID is not it).
  std::vector<Fd> pidfds;
  SyscountReport report;        // what every report document shares
  std::optional<Child> child;   // command mode
  Fd child_pidfd;
  ProbeFlavour flavour = ProbeFlavour::tp_btf;  // the programs' variant, from pre-flight
  // Kept permitted after the drop, raised only to read the counters, where
  // the kernel demands it (map_reads_need_capability).
  std::optional<cap_value_t> read_capability;
  std::unique_ptr<SyscountTracer> tracer;
  ReportOutput output{options.output, options.mode() == TargetMode::command};
  Fd cgroup;                    // --cgroup/--unit: the directory, open
  int exit_code = 0;
  bool wait_failed = false;        // the end of the run may have been missed
  std::optional<SysError> read_error;  // the counters could not be read: no report
  std::optional<int> stop_signal;  // the SIGINT or SIGTERM that ended the run
  bool timed_out = false;          // -d ended a command that still ran
};

// --- pre-flight: nothing is changed yet -----------------------------------

// Which programs to load, or why tracing cannot work here (pre-flight.h).
Expected<void> check_can_trace(RunState& run) {
  CollectOptions collect;
  collect.run_probes = false;
  collect.binary_path = self_exe();
  // Without the kernel config first (decompressing it is most of the
  // pre-flight's time); read only to explain a refusal precisely.
  collect.read_kernel_config = false;
  collect.read_persisted_sysctls = false;  // they decide nothing here
  Snapshot snapshot = collect_snapshot(SystemRoot("/"), collect);
  auto flavour = decide_flavour(snapshot, subject_from_snapshot(snapshot), collect.binary_path,
                                run.options.flavour);
  if (!flavour) {
    collect.read_kernel_config = true;
    snapshot = collect_snapshot(SystemRoot("/"), collect);
    flavour = decide_flavour(snapshot, subject_from_snapshot(snapshot), collect.binary_path,
                             run.options.flavour);
  }
  if (!flavour) return flavour.error();
  run.flavour = *flavour;
  run.report.programs = std::string(to_string(*flavour));
  if (map_reads_need_capability(snapshot)) run.read_capability = held_bpf_capability();
  return Ok{};
}

// --cgroup PATH or --unit NAME: the cgroup v2 directory, opened (cgroup.h).
Expected<void> open_cgroup_target(RunState& run) {
  if (!run.options.by_cgroup()) return Ok{};
  std::string path = run.options.cgroup;
  if (path.empty()) {
    auto unit = unit_name(run.options.unit);
    if (!unit) return unit.error();
    auto root = cgroup2_root();
    if (!root) return root.error();
    auto found = unit_cgroup_path(*root, *unit);
    if (!found) return found.error();
    path = std::move(*found);
  }
  auto opened = open_cgroup(path);
  if (!opened) return opened.error();
  run.cgroup = std::move(*opened);
  if (run.options.verbose) error_line("counting the tasks of cgroup " + escape_for_terminal(path));
  return Ok{};
}

// Who the command runs as, which processes -p names, and whether tracing
// can work here at all.
Expected<void> preflight(RunState& run) {
  auto run_as = command_identity(run.invoker, run.options.user);
  if (!run_as) return run_as.error();
  run.run_as = std::move(*run_as);
  auto watched = watch_processes(run.options.pids);
  if (!watched) return watched.error();
  run.tgids = std::move(watched->tgids);
  run.pidfds = std::move(watched->pidfds);
  if (auto cgroup = open_cgroup_target(run); !cgroup) return cgroup;
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
  auto spawned = Child::spawn(run.options.command, run.run_as);
  if (!spawned) return spawned.error();
  run.child.emplace(std::move(*spawned));
  return Ok{};
}

// The command's end, seen by the wait loop.
Expected<void> watch_command(RunState& run) {
  if (!run.child) return Ok{};
  run.child_pidfd = Fd(open_pidfd(run.child->pid()));
  if (!run.child_pidfd.valid()) return SysError::from_errno(errno, "cannot watch the command");
  return Ok{};
}

TracerConfig tracer_config(const RunState& run) {
  const SyscountOptions& options = run.options;
  TracerConfig config;
  config.flavour = run.flavour;
  config.system_wide = options.mode() == TargetMode::all || options.mode() == TargetMode::cgroup;
  config.cgroup_fd = run.cgroup.get();
  config.by_process = options.report.by_process;
  config.by_thread = options.report.by_thread;
  config.errors = options.report.errors;
  config.latency = options.report.latency;
  config.only_errno = static_cast<std::uint32_t>(options.report.only_errno.value_or(0));
  config.map_entries = options.map_entries;
  config.libbpf_debug = options.verbose;
  // Armed: the command is counted from its exec on, not during syscount's set-up.
  if (run.child) config.targets.push_back({run.child->pid(), /*armed=*/true});
  for (pid_t tgid : run.tgids) config.targets.push_back({tgid, /*armed=*/false});
  return config;
}

// libbpf's messages (-v), each line made safe for a terminal.
void print_libbpf_log(const std::string& log) {
  std::string text;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    text += escape_for_terminal(log.substr(start, end - start)) + "\n";
    start = end + 1;
  }
  (void)write_all(STDERR_FILENO, text);
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
  if (run.options.verbose) print_libbpf_log(libbpf_log);
  if (!started) {
    std::string message = "cannot start tracing: " + started.error().message;
    if (!run.options.verbose) message += " (--verbose shows libbpf's messages)";
    return SysError::plain(message);
  }
  run.tracer = std::move(*started);
  return Ok{};
}

// Whether ending the command (-d) needs CAP_KILL: it runs as another user (-u).
bool needs_kill_capability(const RunState& run) {
  return run.child && run.options.user && run.options.duration;
}

// Attached: from here on syscount needs no capability at all, except, on
// kernels that gate map reads, one kept permitted to read the counters,
// and CAP_KILL to end a command of another user at -d's end.
Expected<void> drop_privileges(const RunState& run) {
  std::vector<cap_value_t> keep;
  if (run.read_capability) keep.push_back(*run.read_capability);
  if (needs_kill_capability(run)) keep.push_back(CAP_KILL);
  if (auto dropped = drop_own_capabilities(keep); !dropped) return dropped;
  const CapabilitySets left = current_capabilities();
  std::uint64_t kept = 0;
  for (cap_value_t cap : keep) kept |= std::uint64_t{1} << cap;
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
    if (schedule.deadline && now >= *schedule.deadline) {
      run.timed_out = run.child.has_value();  // reaped, it would have ended the loop
      return;
    }
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

// -d passed with the command still running: it is ended as by timeout(1),
// with the programs already detached, and syscount exits as timeout does.
void end_timed_out_command(RunState& run) {
  std::optional<RaisedCapability> raised;
  if (needs_kill_capability(run)) raised.emplace(CAP_KILL);
  if (!run.child->terminate(kKillAfter)) {
    error_line(std::string("cannot end the command after -d: ") + std::strerror(errno));
  }
  run.exit_code = kExitTimedOut;
}

// The command could not be executed: said on stderr, and in the report.
void not_executed(RunState& run, const std::string& why) {
  error_line(why);
  run.report.error = why;
  run.report.exit_status = kExitNotExecuted;
  run.exit_code = kExitNotExecuted;
}

// Reads the counters a last time, detaches, writes the final report. The
// exit status of the run: 2 when the counters could not be read or the
// report could not be written, even with a command.
int finish(RunState& run, ReportWriter& writer, Clock::time_point stopped) {
  auto final_sample = run.read_error ? Expected<SyscountSample>(*run.read_error) : read_counters(run);
  run.tracer->stop();
  // Nothing attached any more: a second Ctrl-C may end a blocked write.
  StopSignals::restore();
  if (run.timed_out) end_timed_out_command(run);
  if (!final_sample) {
    error_line("no report: " + final_sample.error().message);
    return kExitUsage;
  }
  if (!writer.emit(run.report, *final_sample, stopped, true)) {
    error_line(run.output.write_error(writer.error()));
    return kExitUsage;
  }
  return run.wait_failed ? kExitUsage : run.exit_code;
}

// Releases the command (unless a stop signal came first), counts until the
// end, reports.
int trace(RunState& run) {
  Schedule schedule = schedule_from(run.options, Clock::now());
  ReportWriter writer(run.options, run.output.fd(), schedule);
  if (run.child) {
    if (auto signo = StopSignals::received()) {
      error_line("stopped by signal " + std::to_string(*signo) + " before the command started");
      return 128 + *signo;
    }
    if (auto released = run.child->release(); !released) {
      // The error line says it all; with --json the document says it too.
      not_executed(run, released.error().message);
      run.child->reap();
      if (!run.options.json) return run.exit_code;
      return finish(run, writer, Clock::now());
    }
  }
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

// With the invoker's privileges, then none: root opens -o as root, anyone
// else after dropping what syscount's file granted, so that a path the
// user named is touched only with the user's own rights.
Expected<void> drop_and_open_output(RunState& run) {
  if (run.invoker.root) {
    if (auto opened = run.output.open(); !opened) return opened;
  }
  if (auto dropped = drop_privileges(run); !dropped) return dropped;
  return run.output.open();
}

// The command could not be started (not found, not executable): nothing
// was traced. With --json the run still has its one document, which says so.
int report_not_started(RunState& run, const SysError& error) {
  not_executed(run, error.message);
  if (!run.options.json) return run.exit_code;
  if (auto opened = drop_and_open_output(run); !opened) return fail(opened.error(), kExitUsage);
  run.report.mode = run.options.mode();
  run.report.command = run.options.command;
  const auto now = Clock::now();
  ReportWriter writer(run.options, run.output.fd(), schedule_from(run.options, now));
  if (!writer.emit(run.report, SyscountSample{}, now, true)) {
    error_line(run.output.write_error(writer.error()));
    return kExitUsage;
  }
  return run.exit_code;
}

int run_once(RunState& run) {
  run.output.reserve_standard_fds();
  std::signal(SIGPIPE, SIG_IGN);  // a reader gone is a write error (EPIPE)
  if (auto ready = preflight(run); !ready) return fail(ready.error(), kExitUsage);
  if (auto spawned = spawn_command(run); !spawned) return report_not_started(run, spawned.error());
  if (auto watched = watch_command(run); !watched) return fail(watched.error(), kExitUsage);
  // Before the first program is loaded: from then on Ctrl-C and SIGTERM
  // end the run with everything detached, whatever it is blocked in.
  if (auto caught = StopSignals::catch_them(); !caught) return fail(caught.error(), kExitUsage);
  const StopSignalsCaught caught_until_return;
  if (auto attached = attach(run); !attached) return fail(attached.error(), kExitUsage);
  if (run.child) {
    if (auto ready = run.child->ready(); !ready) {
      run.tracer.reset();  // it never ran: nothing to count
      return report_not_started(run, ready.error());
    }
  }
  if (auto opened = drop_and_open_output(run); !opened) return fail(opened.error(), kExitUsage);
  return trace(run);
}

}  // namespace

int run_syscount(const SyscountOptions& options) {
  std::optional<int> killed_by;
  int code = 0;
  {
    RunState run(options);
    run.invoker = read_invoker();
    code = run_once(run);
    if (run.report.signal && code == 128 + *run.report.signal) killed_by = run.report.signal;
  }  // everything released: programs unloaded, report closed
  if (killed_by) die_by_signal(*killed_by);
  return code;
}

}  // namespace bpfready
