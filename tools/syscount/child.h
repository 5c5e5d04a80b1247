// The command syscount starts: forked, made exactly what it would be without
// syscount (tools/syscount/privs.h), and held just before its exec until
// the tracer tracks it, so that not one of its syscalls (the exec included)
// goes uncounted, and it never runs untraced.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "libcheck/common/fd.h"
#include "libcheck/expected.h"
#include "tools/syscount/privs.h"

namespace bpfready {

// Exit status for a command that could not be executed.
inline constexpr int kExitNotExecuted = 127;

class Child {
 public:
  // Forks; the child becomes what AS says, finds COMMAND's program as that
  // and waits to be released. Returns at once: ready() says whether it got
  // there, so that the child's set-up overlaps syscount's own.
  static Expected<Child> spawn(const std::vector<std::string>& command, const RunAs& as);

  Child() = default;
  Child(Child&&) = default;
  Child& operator=(Child&&) = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  [[nodiscard]] pid_t pid() const { return pid_; }

  // Waits until the child is ready to exec; or the reason it cannot run
  // (credentials, command not found), the child then reaped.
  Expected<void> ready();

  // Lets the command exec (after ready()). Fails with the reason when the
  // exec failed.
  Expected<void> release();

  // The wait status, once the process ended.
  int reap();
  // The wait status if the process ends within WITHIN (checked every 5 ms),
  // reaped; nullopt if it is still running.
  std::optional<int> reap_within(std::chrono::milliseconds within);
  // Stop caring about the process (it is not waited for).
  void forget() { pid_ = -1; }

  // Ends it the way timeout(1) does: SIGTERM (and SIGCONT, should it be
  // stopped), then SIGKILL if it is still there after GRACE. The wait
  // status once reaped; nullopt if it could not be signalled (errno) or
  // outlived even SIGKILL for a while (then forgotten).
  std::optional<int> terminate(std::chrono::milliseconds grace);

  // Never released: make sure it never runs the command.
  void abandon();

 private:
  pid_t pid_ = -1;
  Fd status_;
  Fd go_;
};

}  // namespace bpfready
