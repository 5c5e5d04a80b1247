// Ctrl-C and SIGTERM while syscount holds BPF programs. They are caught, not
// blocked: a caught signal interrupts whatever syscount is blocked in (the
// wait for its targets, a write to a pipe or FIFO nobody reads), so that the
// run always ends with the programs detached. After detaching, restore()
// gives them back their default action: a second Ctrl-C ends a report write
// that a stalled reader blocks.
#pragma once

#include <optional>
#include <string_view>

#include "libcheck/expected.h"

namespace bpfready {

class StopSignals {
 public:
  // Catches SIGINT and SIGTERM from now on (without SA_RESTART).
  static Expected<void> catch_them();
  // Back to the default action; received() keeps its value.
  static void restore();
  // The first stop signal caught, if any.
  static std::optional<int> received();
  // Readable once a stop signal was caught (for poll); -1 when not catching.
  static int wake_fd();
};

// How far a write got: WRITTEN bytes of the text; INTERRUPTED when a stop
// signal came first; otherwise ERROR is the errno of a failed write (0: all
// written).
struct WriteOutcome {
  std::size_t written = 0;
  bool interrupted = false;
  int error = 0;
  [[nodiscard]] bool complete() const { return !interrupted && error == 0; }
};

// Writes TEXT to FD. While stop signals are caught it never blocks past one:
// it waits for FD to accept data or a stop signal, whichever comes first,
// and writes at most PIPE_BUF bytes at a time (which a pipe with room takes
// without blocking).
WriteOutcome write_unless_stopped(int fd, std::string_view text);

// Ends this process by SIGNO, as the command it ran ended (strace does the
// same): its default action restored, unblocked, raised; for a signal that
// dumps core, with RLIMIT_CORE 0 first, so that syscount leaves no core of
// its own. Returns only when SIGNO does not end a process by default.
void die_by_signal(int signo);

}  // namespace bpfready
