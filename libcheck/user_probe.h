// Readiness for another user: who the user is, which capabilities a binary
// would give them, and (as root) the real probes run under exactly that
// identity and those capabilities.
#pragma once

#include <chrono>
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

// How long the probes as another user may take. They take well under a
// second; the user they run as owns the process and can stop it (SIGSTOP),
// so without a bound they could hang root's ebpf_diag.
inline constexpr std::chrono::milliseconds kUserProbeTimeout = std::chrono::seconds(30);

// Forks; the child switches to SUBJECT's uid, gid and groups with exactly
// SUBJECT's effective capabilities, runs both probes and reports back.
// Needs root (CAP_SETUID, CAP_SETGID, CAP_SETPCAP). A child still running
// after TIMEOUT is killed (SIGKILL) and reaped, which frees every BPF
// object it held, and the result is an ETIMEDOUT error.
Expected<std::vector<ProbeOutcome>> run_probes_as(const Subject& subject, const ProbeOptions& options,
                                                  std::chrono::milliseconds timeout = kUserProbeTimeout);

}  // namespace bpfready
