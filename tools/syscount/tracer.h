// syscount's BPF programs behind a small RAII type: constructing one loads
// and attaches, destroying it detaches and unloads. No program, link or map
// outlives the object. Two variants of the programs exist: the typed one
// (bpf/syscount.bpf.c, tp_btf) and the untyped fallback for kernels without
// BTF or before 5.11 (bpf/syscount_raw.bpf.c, raw_tp); both count the same.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "libcheck/expected.h"
#include "libcheck/probe.h"
#include "tools/syscount/report.h"

struct bpf_object;
struct bpf_prog_info;

namespace bpfready {

// A process to count from the start, with the children it forks.
struct TrackedTarget {
  pid_t tgid = 0;
  bool armed = false;  // only from its next execve on (the command, before its exec)
};

struct TracerConfig {
  ProbeFlavour flavour = ProbeFlavour::tp_btf;  // tp_btf or raw_tp
  bool system_wide = false;   // no TGID filter
  bool by_process = false;
  bool by_thread = false;
  bool errors = false;        // attach sys_exit for failed calls
  bool latency = false;       // attach sys_exit, time entry to exit
  std::uint32_t only_errno = 0;  // --errno: only failures with this errno (0: all)
  std::uint32_t map_entries = 16384;
  bool libbpf_debug = false;  // -v: keep libbpf's debug messages of the load too
  // A cgroup v2 directory, open: only its tasks (descendants' included) are
  // counted, checked in the kernel; -1: no cgroup filter. With system_wide.
  int cgroup_fd = -1;
  // Written into the programs' table before they are loaded, so this works
  // where the table cannot be memory-mapped (before 5.5) as well.
  std::vector<TrackedTarget> targets;
};

// The names of the BPF programs syscount loads (the same in both variants),
// for leak checks. Each fits the kernel's 15 characters, so `bpftool prog`
// shows it whole.
const std::vector<std::string>& syscount_program_names();

class SyscountTracer {
 public:
  // Opens, configures, loads and attaches CONFIG.flavour's programs. On
  // failure the error says which step failed; libbpf's own messages are in
  // LOG either way.
  static Expected<std::unique_ptr<SyscountTracer>> start(const TracerConfig& config,
                                                         std::string& log);
  ~SyscountTracer();
  SyscountTracer(const SyscountTracer&) = delete;
  SyscountTracer& operator=(const SyscountTracer&) = delete;

  // Cumulative counters now, or why they could not be read (never zeros
  // in place of a failed read).
  [[nodiscard]] Expected<SyscountSample> read() const;

  // Detach and unload now (also done by the destructor).
  void stop();

  // The internals, one per variant (tracer.cpp).
  struct Loaded;

 private:
  explicit SyscountTracer(const TracerConfig& config);
  [[nodiscard]] Expected<std::vector<bpf_prog_info>> program_infos() const;
  TracerConfig config_;
  std::unique_ptr<Loaded> loaded_;
};

}  // namespace bpfready
