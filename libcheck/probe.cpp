#include "libcheck/probe.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>
#include <variant>

#include "bpf/probe.h"
#include "libcheck/common/fd.h"
#include "libcheck/common/libbpf_log.h"
#include "libcheck/parse.h"
#include "libcheck/typed_load.h"
#include "probe.skel.h"
#include "probe_typed.skel.h"

namespace bpfready {

std::string_view to_string(ProbeFlavour flavour) {
  switch (flavour) {
    case ProbeFlavour::tp_btf: return "tp_btf";
    case ProbeFlavour::raw_tp: return "raw_tp";
    case ProbeFlavour::perf_tp: return "perf_tp";
  }
  return "unknown";
}

std::optional<ProbeFlavour> probe_flavour_from_string(std::string_view text) {
  for (const auto flavour : kAllProbeFlavours) {
    if (to_string(flavour) == text) return flavour;
  }
  return std::nullopt;
}

std::string_view to_string(ProbeStage stage) {
  switch (stage) {
    case ProbeStage::open: return "open";
    case ProbeStage::load: return "load";
    case ProbeStage::tracefs_id: return "tracefs_id";
    case ProbeStage::perf_event_open: return "perf_event_open";
    case ProbeStage::attach: return "attach";
    case ProbeStage::trigger: return "trigger";
    case ProbeStage::readback: return "readback";
    case ProbeStage::exec: return "exec";
  }
  return "unknown";
}

namespace {

struct SkeletonDestroy {
  void operator()(probe_bpf* skel) const { probe_bpf::destroy(skel); }
  void operator()(probe_typed_bpf* skel) const { probe_typed_bpf::destroy(skel); }
};
struct LinkDestroy {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};

ProbeOutcome failed(ProbeOutcome outcome, ProbeStage stage, int errnum, std::string detail) {
  outcome.ok = false;
  outcome.stage = stage;
  outcome.errnum = errnum;
  outcome.detail = std::move(detail);
  return outcome;
}

// A step of the probe that failed: its stage, errno and one line.
struct StepFailure {
  ProbeStage stage;
  int errnum;
  std::string detail;
};
template <class T>
using Step = std::variant<T, StepFailure>;

using Link = std::unique_ptr<bpf_link, LinkDestroy>;

Step<Link> attach_raw_tp(probe_bpf& skel) {
  Link link(bpf_program__attach_raw_tracepoint(skel.progs.probe_raw_tp, "sys_enter"));
  if (!link) {
    const int err = errno;
    return StepFailure{ProbeStage::attach, err,
                       std::string("attaching to raw tracepoint sys_enter failed: ") + std::strerror(err)};
  }
  return link;
}

// The tracefs event the tool classes of this flavour read first, and the one
// the probe attaches to (bpf/probe.bpf.c says why not the syscall event).
constexpr const char* kSyscallEvent = "raw_syscalls/sys_enter";
constexpr const char* kRenameEvent = "task/task_rename";

// How the probing thread fires the event it attached to.
enum class Trigger { getppid, rename };

// EVENT's perf event id, read from tracefs.
Step<long> read_event_id(const std::string& tracefs_dir, const std::string& event) {
  if (tracefs_dir.empty()) {
    return StepFailure{ProbeStage::tracefs_id, ENOENT,
                       "tracefs is not mounted, so the tracepoint's event id cannot be read"};
  }
  const std::string id_path = tracefs_dir + "/events/" + event + "/id";
  const Fd id_file(::open(id_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!id_file.valid()) {
    const int err = errno;
    return StepFailure{ProbeStage::tracefs_id, err, "cannot read " + id_path + ": " + std::strerror(err)};
  }
  const auto id = parse_sysctl_int(read_all(id_file.get()));
  if (!id) return StepFailure{ProbeStage::tracefs_id, EINVAL, id_path + " does not hold a number"};
  return *id;
}

struct PerfLink {
  Link link;
  Trigger trigger = Trigger::rename;
};

// Reads the id of the syscall event (the file tracefs tools read), then
// attaches to task_rename, or to the syscall event where the kernel has no
// task_rename. Done by hand rather than by bpf_program__attach_tracepoint so
// that a failure names its exact step: reading an id, or perf_event_open.
Step<PerfLink> attach_perf_tp(probe_bpf& skel, const std::string& tracefs_dir) {
  auto sys_id = read_event_id(tracefs_dir, kSyscallEvent);
  if (auto* failure = std::get_if<StepFailure>(&sys_id)) return std::move(*failure);
  auto rename_id = read_event_id(tracefs_dir, kRenameEvent);
  const auto* rename_failure = std::get_if<StepFailure>(&rename_id);
  if (rename_failure != nullptr && rename_failure->errnum != ENOENT) return *rename_failure;
  const bool rename = rename_failure == nullptr;
  const std::string event = rename ? kRenameEvent : kSyscallEvent;

  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof attr;
  attr.config = static_cast<__u64>(std::get<long>(rename ? rename_id : sys_id));
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  // pid -1, cpu 0: the program runs on every CPU; the event only anchors it.
  Fd perf_fd(static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)));
  if (!perf_fd.valid()) {
    const int err = errno;
    return StepFailure{ProbeStage::perf_event_open, err,
                       "perf_event_open for " + event + " failed: " + std::strerror(err)};
  }
  Link link(bpf_program__attach_perf_event(rename ? skel.progs.probe_perf_tp : skel.progs.probe_perf_sys,
                                           perf_fd.get()));
  if (!link) {
    const int err = errno;
    return StepFailure{ProbeStage::attach, err,
                       std::string("attaching the program to the perf event failed: ") + std::strerror(err)};
  }
  perf_fd.release();  // the link owns the perf event now and closes it
  return PerfLink{std::move(link), rename ? Trigger::rename : Trigger::getppid};
}

// CALLS events of this thread: getppid calls, or renames of the thread to
// its own name (prctl PR_SET_NAME), which leave it as it was.
std::string fire(Trigger trigger, unsigned calls) {
  if (trigger == Trigger::getppid) {
    for (unsigned i = 0; i < calls; ++i) ::syscall(SYS_getppid);
    return "getppid calls";
  }
  char name[17] = {};
  ::prctl(PR_GET_NAME, name, 0, 0, 0);
  for (unsigned i = 0; i < calls; ++i) ::prctl(PR_SET_NAME, name, 0, 0, 0);
  return "renames of its thread (prctl PR_SET_NAME, task/task_rename)";
}

// Makes the calls and compares the program's count, in SLOT of HITS, with them.
ProbeOutcome trigger_and_read(const bpf_map* hits, __u32 slot, ProbeOutcome outcome, unsigned calls,
                              Trigger trigger = Trigger::getppid) {
  outcome.expected = calls;
  const std::string what = fire(trigger, calls);

  __u64 value = 0;
  if (bpf_map__lookup_elem(hits, &slot, sizeof slot, &value, sizeof value, 0) != 0) {
    const int err = errno;
    return failed(std::move(outcome), ProbeStage::readback, err,
                  std::string("reading the counter back failed: ") + std::strerror(err));
  }
  outcome.counted = value;
  if (value != outcome.expected) {
    std::string detail = "made " + std::to_string(outcome.expected) + " " + what + " but the program counted " +
                         std::to_string(value);
    return failed(std::move(outcome), ProbeStage::readback, 0, std::move(detail));
  }
  outcome.ok = true;
  outcome.stage = ProbeStage::readback;
  outcome.detail = "loaded, attached, and counted " + std::to_string(value) + " of " +
                   std::to_string(outcome.expected) + " " + what;
  return outcome;
}

// The typed flavour: its own object (see bpf/probe_typed.bpf.c), attached
// the way libbpf attaches tp_btf programs.
ProbeOutcome run_typed_probe(ProbeOutcome outcome, const ProbeOptions& options) {
  // As syscount loads its typed object: from a scan of the kernel BTF, or,
  // where that cannot be used, through libbpf's own parse (typed_load.h).
  const auto kernel_facts = TypedBtf::prepare({"sys_enter"});
  const bpf_object_open_opts* open_opts = kernel_facts ? kernel_facts->open_opts() : nullptr;
  std::unique_ptr<probe_typed_bpf, SkeletonDestroy> skel(probe_typed_bpf::open(open_opts));
  if (!skel) return failed(std::move(outcome), ProbeStage::open, errno, "cannot open the typed probe object");
  skel->rodata->target_tid = static_cast<__u32>(::gettid());
  skel->rodata->target_syscall = SYS_getppid;

  if (probe_typed_bpf::load(skel.get()) != 0) {
    const int err = errno;
    return failed(std::move(outcome), ProbeStage::load, err,
                  std::string("loading the typed tracepoint program failed: ") + std::strerror(err));
  }
  const Link link(bpf_program__attach(skel->progs.probe_tp_btf));
  if (!link) {
    const int err = errno;
    return failed(std::move(outcome), ProbeStage::attach, err,
                  std::string("attaching to typed tracepoint sys_enter failed: ") + std::strerror(err));
  }
  return trigger_and_read(skel->maps.hits, 0, std::move(outcome), options.trigger_calls);
}

}  // namespace

ProbeParking::~ProbeParking() {
  for (const int fd : fds_) ::close(fd);
}

void ProbeParking::park(int fd) {
  if (fd < 0) return;
  const std::lock_guard lock(mutex_);
  fds_.push_back(fd);
}

std::vector<int> ProbeParking::take() {
  const std::lock_guard lock(mutex_);
  return std::exchange(fds_, {});
}

pid_t release_parked_in_background(ProbeParking& parking) {
  const auto fds = parking.take();
  if (fds.empty()) return -1;
  auto pipe = make_pipe();
  const pid_t child = pipe ? ::fork() : -1;
  if (child == 0) {
    for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::close(fd);
    pipe->second.reset();
    char byte = 0;
    // End of file: the parent has closed its copies, so ours are the last.
    while (::read(pipe->first.get(), &byte, 1) != 0 && errno == EINTR) {
    }
    ::_exit(0);  // exiting closes every descriptor: the release happens here
  }
  for (const int fd : fds) ::close(fd);  // with a child holding them, nothing waits
  // The write end closes when this returns: the child goes on.
  return child;
}

std::vector<ProbeOutcome> run_all_probes(const ProbeOptions& options) {
  // Each probe spends most of its time waiting for the kernel (perf event
  // setup, an RCU grace period when the tracepoint is released), so they
  // run side by side, each in its own thread.
  std::vector<ProbeOutcome> outcomes(std::size(kAllProbeFlavours));
  // Before any thread opens an object: libbpf's handler list is not locked.
  (void)install_typed_loader();
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < outcomes.size(); ++i) {
    threads.emplace_back([&outcomes, &options, i] { outcomes[i] = run_probe(kAllProbeFlavours[i], options); });
  }
  outcomes[0] = run_probe(kAllProbeFlavours[0], options);
  for (auto& thread : threads) thread.join();
  return outcomes;
}

ProbeOutcome run_probe(ProbeFlavour flavour, const ProbeOptions& options) {
  ProbeOutcome outcome;
  outcome.flavour = flavour;
  const LibbpfLogCapture capture(outcome.libbpf_log);
  if (flavour == ProbeFlavour::tp_btf) {
    if (auto installed = install_typed_loader(); !installed) {
      return failed(std::move(outcome), ProbeStage::open, installed.error().errnum, installed.error().message);
    }
    return run_typed_probe(std::move(outcome), options);
  }

  std::unique_ptr<probe_bpf, SkeletonDestroy> skel(probe_bpf::open());
  if (!skel) return failed(std::move(outcome), ProbeStage::open, errno, "cannot open the probe object");

  skel->rodata->target_tid = static_cast<__u32>(::gettid());
  skel->rodata->target_syscall = SYS_getppid;
  const bool raw = flavour == ProbeFlavour::raw_tp;
  bpf_program__set_autoload(skel->progs.probe_raw_tp, raw);
  bpf_program__set_autoload(skel->progs.probe_perf_tp, !raw);
  bpf_program__set_autoload(skel->progs.probe_perf_sys, !raw);

  if (probe_bpf::load(skel.get()) != 0) {
    const int err = errno;
    return failed(std::move(outcome), ProbeStage::load, err,
                  std::string("loading the ") + (raw ? "raw tracepoint" : "tracepoint") + " program failed: " +
                      std::strerror(err));
  }

  if (raw) {
    auto link = attach_raw_tp(*skel);
    if (auto* failure = std::get_if<StepFailure>(&link)) {
      return failed(std::move(outcome), failure->stage, failure->errnum, std::move(failure->detail));
    }
    return trigger_and_read(skel->maps.hits, PROBE_SLOT_RAW_TP, std::move(outcome), options.trigger_calls);
  }
  auto perf = attach_perf_tp(*skel, options.tracefs_dir);
  if (auto* failure = std::get_if<StepFailure>(&perf)) {
    return failed(std::move(outcome), failure->stage, failure->errnum, std::move(failure->detail));
  }
  const auto& attached = std::get<PerfLink>(perf);
  outcome = trigger_and_read(skel->maps.hits, PROBE_SLOT_PERF_TP, std::move(outcome), options.trigger_calls,
                             attached.trigger);
  // A second descriptor of the link keeps it (and its perf event) alive, so
  // closing the skeleton's own below waits for nothing.
  if (options.parking != nullptr) options.parking->park(::fcntl(bpf_link__fd(attached.link.get()), F_DUPFD_CLOEXEC, 3));
  return outcome;
}

}  // namespace bpfready
