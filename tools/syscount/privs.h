// Privilege separation for syscount: who "the real user" is, and dropping to
// it. syscount needs CAP_BPF + CAP_PERFMON (or root) only to load and attach;
// the command it starts must never hold a capability, and syscount itself
// holds none once attached.
#pragma once

#include <sys/capability.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "libcheck/expected.h"

namespace bpfready {

struct RealUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;       // for messages; may be empty
  bool switch_ids = false;  // started by root through sudo: become SUDO_UID/SUDO_GID
};

// Under sudo (real uid 0 and SUDO_UID/SUDO_GID set) the user who ran sudo,
// with their groups; otherwise the real uid/gid and the current groups.
// SUDO_* is ignored unless the real uid is 0, so it cannot be used to
// impersonate anyone.
Expected<RealUser> resolve_real_user();

// Sets groups, gid and uid to USER's when user.switch_ids, then clears the
// effective, permitted, inheritable and ambient capability sets, except that
// KEEP, when given, stays permitted (never effective, never inherited), to be
// raised by a RaisedCapability. The process stays non-dumpable, so the user
// cannot ptrace it to reach its BPF objects.
Expected<void> become_real_user(const RealUser& user, std::optional<cap_value_t> keep = std::nullopt);

// The capability the kernel's bpf_capable() accepts that this process holds
// (permitted) now: CAP_BPF, or else CAP_SYS_ADMIN (the only one before 5.8);
// nullopt when it holds neither.
std::optional<cap_value_t> held_bpf_capability();

// CAP effective for the life of the object, and dropped again after, for
// the few bpf() calls that need it (map reads on kernels before 5.19 with
// kernel.unprivileged_bpf_disabled set; see tools/syscount/preflight.h).
class RaisedCapability {
 public:
  explicit RaisedCapability(cap_value_t cap);
  ~RaisedCapability();
  RaisedCapability(const RaisedCapability&) = delete;
  RaisedCapability& operator=(const RaisedCapability&) = delete;
  // Whether it was raised; why not, otherwise.
  [[nodiscard]] const Expected<void>& raised() const { return raised_; }

 private:
  cap_value_t cap_;
  Expected<void> raised_;
};

// For the command's side of the fork, before exec: become_real_user, plus
// no_new_privs (so neither setuid binaries nor file capabilities can hand
// the command a capability) and an empty bounding set when that is possible.
Expected<void> become_unprivileged_for_exec(const RealUser& user);

}  // namespace bpfready
