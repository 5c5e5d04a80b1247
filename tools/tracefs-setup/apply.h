// tracefs-setup's four actions over a SetupSystem: plan, apply, status and
// revert. Each returns its text and exit code; nothing is printed here.
#pragma once

#include <string>

#include "tools/tracefs-setup/plan.h"
#include "tools/tracefs-setup/system.h"

namespace bpfready {

// Exit codes: 0 done / everything holds, 1 (status) drift or nothing applied,
// 2 usage or error.
struct SetupOutcome {
  int exit_code = 0;
  std::string text;
};

std::string render_plan(const Plan& plan);

SetupOutcome run_plan(SetupSystem& system, const SetupOptions& options);
// Makes the plan's changes, journaling each. On a failure it undoes what this
// run did, in reverse, and leaves the journal as it was before the run.
SetupOutcome run_apply(SetupSystem& system, const SetupOptions& options);
SetupOutcome run_status(SetupSystem& system);
// Restores every journaled change, newest first, then removes the journal.
SetupOutcome run_revert(SetupSystem& system);

}  // namespace bpfready
