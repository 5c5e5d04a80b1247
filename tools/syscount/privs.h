// Privilege separation for syscount. syscount needs CAP_BPF + CAP_PERFMON
// (or root) only to load and attach; it holds none once attached, and the
// command it starts runs exactly as it would have run without syscount:
//
// - Root (real and effective uid 0) stays root: the command keeps uid 0,
//   the groups and every capability, so it behaves as under a root shell
//   or sudo (setuid programs, su, sudo inside it work as usual).
// - Anyone else keeps their uid, gids and groups, and the capabilities they
//   had before syscount's own file capabilities: the inheritable and ambient
//   sets syscount started with. Exec keeps the inheritable set and clears
//   the ambient one for a file with capabilities, so neither holds anything
//   syscount's file granted. The command starts with permitted = effective
//   = ambient = that ambient set, inheritable = that inheritable set; for a
//   user who runs a `cap_bpf,cap_perfmon=ep` copy all four are empty. Then
//   exec computes the command's capabilities from these, exactly as from
//   the invoker's shell, so no_new_privs is not needed (and not set: setuid
//   programs in the command work as without syscount).
// - `-u USER` (root only): the command runs as USER, with USER's groups
//   (the group database) and no capability.
#pragma once

#include <sys/capability.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "libcheck/common/creds.h"
#include "libcheck/expected.h"

namespace bpfready {

// Who started syscount, read before anything changes.
struct Invoker {
  bool root = false;       // real and effective uid 0
  CapabilitySets at_start;  // the invoker's, plus what syscount's file granted
};
Invoker read_invoker();

// Another user the command runs as (-u).
struct CommandUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;
};

// Who the command runs as.
struct RunAs {
  std::optional<CommandUser> user;  // -u USER
  bool keep_all = false;            // root without -u: untouched
  std::uint64_t inheritable = 0;    // otherwise: its capability sets before exec
  std::uint64_t ambient = 0;
};

// The identity for the command of INVOKER, or as USER (-u, a name or a
// numeric uid): only root may ask for another user.
Expected<RunAs> command_identity(const Invoker& invoker, const std::optional<std::string>& user);

// In the command's process, before exec: becomes what AS says and checks
// that no other capability is left.
Expected<void> become_command_identity(const RunAs& as);

// syscount itself, once attached: clears the effective, permitted,
// inheritable and ambient sets, except that KEEP stay permitted (never
// effective, never inherited), to be raised by a RaisedCapability. The ids
// are not changed. The process stays non-dumpable, so nobody can ptrace it
// to reach its BPF objects.
Expected<void> drop_own_capabilities(const std::vector<cap_value_t>& keep = {});

// The capability the kernel's bpf_capable() accepts that this process holds
// (permitted) now: CAP_BPF, or else CAP_SYS_ADMIN (the only one before 5.8);
// nullopt when it holds neither.
std::optional<cap_value_t> held_bpf_capability();

// CAP effective for the life of the object, and dropped again after, for
// the few calls that need it (map reads on kernels before 5.19 with
// kernel.unprivileged_bpf_disabled set, see tools/syscount/preflight.h;
// signalling a command run as another user).
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

}  // namespace bpfready
