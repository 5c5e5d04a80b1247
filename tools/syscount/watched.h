// The processes syscount waits on: their end is seen through pidfds, opened
// before anything is loaded, so that it is seen however early it comes (and
// a reused PID is never taken for the process).
#pragma once

#include <sys/types.h>

#include <vector>

#include "libcheck/common/fd.h"
#include "libcheck/expected.h"

namespace bpfready {

// pidfd_open(2); -1 and errno on failure.
int open_pidfd(pid_t pid);

// The -p processes PIDS name (a thread's PID names its process), each once,
// with a pidfd each.
struct WatchedProcesses {
  std::vector<pid_t> tgids;
  std::vector<Fd> pidfds;
};
Expected<WatchedProcesses> watch_processes(const std::vector<pid_t>& pids);

}  // namespace bpfready
