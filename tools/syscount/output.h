// Where syscount's report goes: -o FILE; stdout for `-o -` and for -p and
// -a; stderr when a command runs, whose stdout is its own (as with strace,
// perf stat and time). syscount's own messages always go to stderr.
#pragma once

#include <string>

#include "libcheck/common/fd.h"
#include "libcheck/expected.h"

namespace bpfready {

class ReportOutput {
 public:
  // PATH: -o's value (empty when not given, "-" for stdout); COMMAND_MODE:
  // a command is run.
  ReportOutput(std::string path, bool command_mode)
      : path_(std::move(path)), command_mode_(command_mode) {}

  // A closed stdin, stdout or stderr would be taken by the next descriptor
  // syscount opens, and the report written into it. /dev/null opened
  // read-only holds the number and makes writes to it fail; close-on-exec,
  // so the command starts with it closed, as it was invoked. Call first.
  void reserve_standard_fds();

  // Opens -o FILE, once (nothing to do without -o or for "-"), without
  // blocking: a FIFO nobody reads is refused at once rather than waited on;
  // writes block again after.
  Expected<void> open();

  [[nodiscard]] bool to_stderr() const { return !file_.valid() && path_.empty() && command_mode_; }
  [[nodiscard]] int fd() const;
  // The message for a write of the report that failed with ERROR.
  [[nodiscard]] std::string write_error(int error) const;

 private:
  std::string path_;
  bool command_mode_;
  Fd file_;
  bool stdout_closed_ = false;
  bool stderr_closed_ = false;
};

}  // namespace bpfready
