// One syscount run behind one function: pre-flight, spawn the command,
// attach, drop privileges, wait, report. The tool's main only parses the
// command line (tools/syscount/cli.h) and calls it.
#pragma once

#include "tools/syscount/cli.h"

namespace bpfready {

// Traces what OPTIONS name and writes the report to -o FILE, or else to
// stderr when a command runs (its stdout is its own) and to stdout with -p
// or -a; messages go to stderr. OPTIONS come from parse_syscount_args, with
// a target (--list is the caller's to handle). Returns the process exit
// status: the command's (127 if it could not be executed, 124 when -d ended
// it), otherwise 0, or 2 when profiling cannot work here, a step failed, or
// the report could not be written (even with a command). When the command
// was killed by a signal, it does not return: after the report, syscount
// kills itself with the same signal. Catches SIGINT and SIGTERM while it
// runs (tools/syscount/stop.h).
int run_syscount(const SyscountOptions& options);

}  // namespace bpfready
