// The whole of `syscount` behind one function, so that the tool's main stays
// a thin shell with the one catch point.
#pragma once

#include <string>
#include <vector>

namespace bpfready {

// Runs syscount with ARGS (args[0] is the program name) and returns the
// process exit status: the command's, 0, or 2 (usage, pre-flight or
// internal error). Messages go to stderr, the report to stdout or -o FILE.
int syscount_main(const std::vector<std::string>& args);

}  // namespace bpfready
