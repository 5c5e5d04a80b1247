// The end-to-end proof: load a minimal program, attach it, make an exact
// number of syscalls and read the count back.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

namespace bpfready {

// The three ways a tracing program reaches syscall entry, each proven by its
// own probe because each has its own requirements.
enum class ProbeFlavour {
  tp_btf,   // typed raw tracepoint tp_btf/sys_enter with bpf_get_current_task_btf()
            // and CO-RE field reads: also kernel BTF and 5.11+ (syscount's programs)
  raw_tp,   // untyped raw_tp/sys_enter: CAP_BPF + CAP_PERFMON, no tracefs, no BTF
  perf_tp,  // tp/raw_syscalls/sys_enter: also the tracefs event id and perf_event_open
};
inline constexpr ProbeFlavour kAllProbeFlavours[] = {ProbeFlavour::tp_btf, ProbeFlavour::raw_tp,
                                                     ProbeFlavour::perf_tp};
std::string_view to_string(ProbeFlavour flavour);  // "tp_btf", "raw_tp", "perf_tp"
// "tp_btf" -> tp_btf; nullopt for any other text.
std::optional<ProbeFlavour> probe_flavour_from_string(std::string_view text);

// exec: predicted only, when a user may not execute the binary at all.
enum class ProbeStage { open, load, tracefs_id, perf_event_open, attach, trigger, readback, exec };
std::string_view to_string(ProbeStage stage);

struct ProbeOutcome {
  ProbeFlavour flavour = ProbeFlavour::raw_tp;
  bool ok = false;
  ProbeStage stage = ProbeStage::open;  // the stage that failed; readback when ok
  int errnum = 0;                       // errno of the failing step, 0 if none
  std::string detail;                   // one line: what failed, or what was proven
  std::uint64_t expected = 0;           // syscalls made
  std::uint64_t counted = 0;            // syscalls the program saw
  std::string libbpf_log;               // libbpf's own messages, for --verbose
};

// Descriptors of attached perf-event links that probes kept open instead of
// closing. Releasing such a link makes the kernel wait for RCU grace periods
// (two or three, tens of milliseconds; docs/ebpf_diag.md, Cost), so a caller
// that already has its answer can let a child process wait for them
// (release_parked_in_background). Whatever is still parked is closed here
// when the parking goes away.
class ProbeParking {
 public:
  ProbeParking() = default;
  ~ProbeParking();
  ProbeParking(const ProbeParking&) = delete;
  ProbeParking& operator=(const ProbeParking&) = delete;
  ProbeParking(ProbeParking&&) = delete;
  ProbeParking& operator=(ProbeParking&&) = delete;

  void park(int fd);  // takes ownership; ignores -1
  std::vector<int> take();

 private:
  std::mutex mutex_;
  std::vector<int> fds_;
};

// Closes PARKING's descriptors in a child process, so that this process does
// not wait for the kernel's release: the child closes stdin, stdout and
// stderr at once (a reader of this process's output sees its end when this
// process exits), waits until this process has dropped its own copies, and
// exits, which releases them. Where fork fails they are closed here. Call it
// with no other thread running. Returns the child's pid (the caller reaps it
// if it lives on; ebpf_diag exits and leaves that to init), or -1 when no
// child was needed or made.
pid_t release_parked_in_background(ProbeParking& parking);

struct ProbeOptions {
  std::string tracefs_dir;  // where tracefs is mounted; empty when it is not
  unsigned trigger_calls = 1000;
  // Where the perf-event probe leaves its link once proven; null: it closes
  // the link itself before run_probe returns.
  ProbeParking* parking = nullptr;
};

// Runs on the live host only. Never throws; every failure is in the outcome.
// Every program, link and perf event it creates is closed before it returns.
ProbeOutcome run_probe(ProbeFlavour flavour, const ProbeOptions& options);

// Every flavour, concurrently (each counts only its own thread's calls), in
// the order of kAllProbeFlavours.
std::vector<ProbeOutcome> run_all_probes(const ProbeOptions& options);

}  // namespace bpfready
