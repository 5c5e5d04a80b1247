#include "tools/syscount/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libcheck/common/text.h"

namespace bpfready {

void ReportOutput::reserve_standard_fds() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    const int reserved = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free: FD
    if (reserved >= 0 && reserved != fd) ::close(reserved);
    if (fd == STDOUT_FILENO) stdout_closed_ = true;
    if (fd == STDERR_FILENO) stderr_closed_ = true;
  }
}

Expected<void> ReportOutput::open() {
  if (path_.empty() || path_ == "-" || file_.valid()) return Ok{};
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);
  if (fd < 0) {
    const int error = errno;
    struct stat meta {};
    if (error == ENXIO && ::stat(path_.c_str(), &meta) == 0 && S_ISFIFO(meta.st_mode)) {
      return SysError::plain("cannot write " + escape_for_terminal(path_) +
                             ": no process is reading it (start the FIFO's reader first)");
    }
    return SysError::from_errno(error, "cannot write " + escape_for_terminal(path_));
  }
  file_ = Fd(fd);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return SysError::from_errno(errno, "cannot write " + escape_for_terminal(path_));
  }
  return Ok{};
}

int ReportOutput::fd() const {
  if (file_.valid()) return file_.get();
  return to_stderr() ? STDERR_FILENO : STDOUT_FILENO;
}

std::string ReportOutput::write_error(int error) const {
  if (file_.valid()) {
    return "cannot write the report to " + escape_for_terminal(path_) + ": " + std::strerror(error);
  }
  const std::string where = to_stderr() ? "stderr" : "stdout";
  if (to_stderr() ? stderr_closed_ : stdout_closed_) {
    return "cannot write the report: " + where + " is closed";
  }
  return "cannot write the report to " + where + ": " + std::strerror(error);
}

}  // namespace bpfready
