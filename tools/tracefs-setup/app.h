// tracefs-setup as a whole behind one call, so that main.cpp only parses the
// command line: the root check, --root and --binary validation, the host
// lock, and the action.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "tools/tracefs-setup/plan.h"

namespace bpfready {

enum class SetupAction { plan, apply, status, revert };
std::string_view to_string(SetupAction action);  // the subcommand: "plan", ...

// A parsed command line.
struct SetupCommand {
  SetupAction action = SetupAction::plan;
  std::string root = "/";  // --root: "/" is the running host; empty is a usage error
  SetupOptions options;    // plan and apply
};

// Runs COMMAND and returns the exit status (apply.h: kExitDone, ...). The
// report goes to OUT; refusals, and the report of a failed action, to ERR.
int run_tracefs_setup(const SetupCommand& command, std::ostream& out, std::ostream& err);

}  // namespace bpfready
