#include "tools/syscount/watched.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "libcheck/common/procfs.h"

namespace bpfready {

namespace {

SysError cannot_watch(int error, pid_t pid) {
  if (error == ESRCH) return SysError::plain("no process with PID " + std::to_string(pid));
  if (error == EMFILE || error == ENFILE) {
    return SysError::plain("cannot watch PID " + std::to_string(pid) +
                           ": too many open files (each -p process takes one; raise ulimit -n, "
                           "give fewer PIDs, or use -a)");
  }
  return SysError::from_errno(error, "cannot watch PID " + std::to_string(pid));
}

// Why the process of PID could not be found: it does not exist, or no file
// can be opened to look (the same limit the pidfds run into).
SysError cannot_resolve(pid_t pid) {
  const Fd probe(open_pidfd(pid));
  // EINVAL: PID is a thread that is not its process's leader, so it exists.
  if (!probe.valid() && errno != EINVAL) return cannot_watch(errno, pid);
  return SysError::plain("cannot read /proc/" + std::to_string(pid) + "/status");
}

}  // namespace

int open_pidfd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

Expected<WatchedProcesses> watch_processes(const std::vector<pid_t>& pids) {
  WatchedProcesses watched;
  for (pid_t pid : pids) {
    auto tgid = tgid_of(pid);
    if (!tgid) return cannot_resolve(pid);
    if (std::find(watched.tgids.begin(), watched.tgids.end(), *tgid) != watched.tgids.end()) {
      continue;
    }
    Fd pidfd(open_pidfd(*tgid));
    if (!pidfd.valid()) return cannot_watch(errno, pid);
    watched.tgids.push_back(*tgid);
    watched.pidfds.push_back(std::move(pidfd));
  }
  return watched;
}

}  // namespace bpfready
