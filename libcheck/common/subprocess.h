// fork, a pipe back to the parent, and waiting: written once for every tool.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "libcheck/expected.h"

namespace bpfready {

// Reaps PID, retrying when a signal interrupts the wait. The wait status.
Expected<int> wait_for_exit(pid_t pid);

struct ChildResult {
  int wait_status = 0;
  std::string output;  // everything the child wrote to its pipe
  bool timed_out = false;
};

// Forks. The child runs BODY with the write end of a pipe and exits with
// BODY's return value; it never returns into the caller's code. The parent
// reads the pipe until end of file and reaps the child. With a TIMEOUT, a
// child still running after it is killed (SIGKILL) and timed_out is set.
Expected<ChildResult> run_in_child(const std::function<int(int out_fd)>& body,
                                   std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// "exited with 3", "was killed by signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

}  // namespace bpfready
