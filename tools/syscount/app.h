// One syscount run behind one function: pre-flight, spawn the command,
// attach, drop privileges, wait, report. The tool's main only parses the
// command line (tools/syscount/cli.h) and calls it.
#pragma once

#include "tools/syscount/cli.h"

namespace bpfready {

// Traces what OPTIONS name and writes the report to stdout or -o FILE;
// messages go to stderr. OPTIONS come from parse_syscount_args, with a
// target (--list is the caller's to handle). Returns the process exit
// status: the command's (127 if it could not be executed), otherwise 0,
// or 2 when profiling cannot work here, a step failed, or the report could
// not be written (even with a command). Catches SIGINT and SIGTERM while
// it runs (tools/syscount/stop.h).
int run_syscount(const SyscountOptions& options);

}  // namespace bpfready
