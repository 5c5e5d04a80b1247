// The fix planner: for a failing verdict, the complete list of steps that
// together make it ready, or why no safe change on this host does.
//
// It works on the permission model (access.h): it predicts, removes the
// obstacle the prediction names the way the proposed step would, and
// predicts again until the verdict is ready. So the steps are complete by
// construction, and the unit tests check that on every fixture host. Its
// rules: capabilities only ever reach a profiling binary through
// `tracefs-setup apply` (root:GROUP 0750, never world-executable), never
// ebpf_diag itself; no step the host's own state rules out (bounding set,
// no_new_privs, lockdown); no kernel setting weaker than needed.
#pragma once

#include <string>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/probe.h"
#include "libcheck/snapshot.h"

namespace bpfready {

struct FixContext {
  // The binary the subject runs; empty when none is known.
  std::string binary;
  // BINARY is the diagnostic tool itself, which never gets capabilities.
  bool binary_is_diagnostic = false;
  // syscount's path, proposed for the syscount verdict when BINARY is not
  // the profiling tool.
  std::string syscount_binary;
  std::string group = "bpfready";  // tracefs-setup's default group
};

// Stands for the profiling tool when no binary is known.
inline constexpr const char* kToolPlaceholder = "/path/to/your/tool";

struct FixPlan {
  std::vector<std::string> steps;  // shell commands, in order; empty when ready or no safe fix
  std::string no_safe_fix;         // why no change on this host makes it ready; empty otherwise
  // The steps as one command line, joined with " && ".
  [[nodiscard]] std::string text() const;
};

// The fix for SUBJECT and FLAVOUR (FOR_SYSCOUNT: the verdict on syscount
// itself, whose binary is syscount).
FixPlan plan_fix(const Snapshot& snapshot, const Subject& subject, ProbeFlavour flavour, const FixContext& context,
                 bool for_syscount);

}  // namespace bpfready
