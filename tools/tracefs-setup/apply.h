// tracefs-setup's four actions over a SetupSystem: plan, apply, status and
// revert. Each returns its text and exit code; nothing is printed here.
#pragma once

#include <string>

#include "tools/tracefs-setup/plan.h"
#include "tools/tracefs-setup/system.h"

namespace bpfready {

// tracefs-setup's exit statuses, a documented interface.
inline constexpr int kExitDone = 0;     // done; status: everything applied still holds
inline constexpr int kExitDrift = 1;    // status only: something drifted, or nothing is applied
inline constexpr int kExitFailure = 2;  // usage error, not root, or a failure (apply rolled back)

struct SetupOutcome {
  int exit_code = kExitDone;
  std::string text;
};

SetupOutcome run_plan(SetupSystem& system, const SetupOptions& options);
// Makes the plan's changes, journaling each. On a failure it undoes what this
// run did, in reverse, and leaves the journal as it was before the run.
SetupOutcome run_apply(SetupSystem& system, const SetupOptions& options);
SetupOutcome run_status(SetupSystem& system);
// Restores every journaled change, newest first, then removes the journal.
SetupOutcome run_revert(SetupSystem& system);

}  // namespace bpfready
