// The syscount BPF programs (bpf/syscount.bpf.c) behind a small RAII type:
// constructing one loads and attaches, destroying it detaches and unloads.
// No program, link or map outlives the object.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "libcheck/expected.h"
#include "tools/syscount/report.h"

struct syscount_bpf;
struct bpf_prog_info;

namespace bpfready {

struct TracerConfig {
  bool system_wide = false;   // no TGID filter
  bool by_process = false;
  bool by_thread = false;
  bool errors = false;        // attach sys_exit for failed calls
  bool latency = false;       // attach sys_exit, time entry to exit
  std::uint32_t map_entries = 16384;
};

// The names of the BPF programs syscount loads, for leak checks. Each fits
// the kernel's 15 characters, so `bpftool prog` shows it whole.
const std::vector<std::string>& syscount_program_names();

class SyscountTracer {
 public:
  // Opens, loads and attaches. On failure the error says which step failed;
  // libbpf's own messages are in LOG either way.
  static Expected<std::unique_ptr<SyscountTracer>> start(const TracerConfig& config,
                                                         std::string& log);
  ~SyscountTracer();
  SyscountTracer(const SyscountTracer&) = delete;
  SyscountTracer& operator=(const SyscountTracer&) = delete;

  // Count TGID from now on (with the children it forks). ARMED: only from
  // its next execve on.
  Expected<void> track(pid_t tgid, bool armed);

  // Cumulative counters now.
  [[nodiscard]] SyscountSample read() const;

  // Detach and unload now (also done by the destructor).
  void stop();

 private:
  explicit SyscountTracer(const TracerConfig& config) : config_(config) {}
  [[nodiscard]] std::vector<bpf_prog_info> program_infos() const;
  TracerConfig config_;
  syscount_bpf* skel_ = nullptr;
};

}  // namespace bpfready
