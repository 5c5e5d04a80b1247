// Readiness for another user: who the user is, which capabilities a binary
// would give them, and (as root) the real probes run under exactly that
// identity and those capabilities.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/caps.h"
#include "libcheck/expected.h"
#include "libcheck/probe.h"

namespace bpfready {

// USER (a name or a numeric uid) with the effective capabilities running
// BINARY_CAPS would give them: root gets its bounding set; anyone else gets
// the binary's permitted file capabilities, limited by the bounding set
// (a capability-aware program raises its permitted set itself).
Expected<Subject> subject_for_user(const std::string& user, const std::optional<FileCaps>& binary_caps,
                                   std::uint64_t bounding);

// Whether SUBJECT may execute a file with this owner and mode.
bool may_execute(const FileMeta& file, const Subject& subject);

// Forks; the child switches to SUBJECT's uid, gid and groups with exactly
// SUBJECT's effective capabilities, runs both probes and reports back.
// Needs root (CAP_SETUID, CAP_SETGID, CAP_SETPCAP).
Expected<std::vector<ProbeOutcome>> run_probes_as(const Subject& subject, const ProbeOptions& options);

}  // namespace bpfready
