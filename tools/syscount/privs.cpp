#include "tools/syscount/privs.h"

#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <string>

#include "libcheck/common/creds.h"
#include "libcheck/common/text.h"

namespace bpfready {

namespace {

constexpr std::uint64_t bit(cap_value_t cap) { return std::uint64_t{1} << cap; }

// Sets CAP's flag FLAG of this process to VALUE.
Expected<void> set_own_flag(cap_value_t cap, cap_flag_t flag, cap_flag_value_t value) {
  const CapSet caps(cap_get_proc());
  if (!caps || cap_set_flag(caps.get(), flag, 1, &cap, value) != 0 ||
      cap_set_proc(caps.get()) != 0) {
    return SysError::from_errno(errno, "cannot change capability " + std::to_string(cap));
  }
  return Ok{};
}

bool permitted(cap_value_t cap) {
  cap_flag_value_t value = CAP_CLEAR;
  const CapSet caps(cap_get_proc());
  return caps && cap_get_flag(caps.get(), cap, CAP_PERMITTED, &value) == 0 && value == CAP_SET;
}

// Permitted and effective AMBIENT, inheritable INHERITABLE, ambient AMBIENT:
// a subset of what the process holds, so no capability is needed for it
// (the kernel keeps ambient within permitted and inheritable).
Expected<void> set_exact_caps(std::uint64_t inheritable, std::uint64_t ambient) {
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return SysError::from_errno(errno, "clear ambient capabilities");
  }
  const CapSet caps(cap_init());
  if (!caps) return SysError::from_errno(errno, "cap_init");
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (!CAP_IS_SUPPORTED(cap)) continue;
    if ((ambient & bit(cap)) != 0) {
      cap_set_flag(caps.get(), CAP_PERMITTED, 1, &cap, CAP_SET);
      cap_set_flag(caps.get(), CAP_EFFECTIVE, 1, &cap, CAP_SET);
    }
    if ((inheritable & bit(cap)) != 0) cap_set_flag(caps.get(), CAP_INHERITABLE, 1, &cap, CAP_SET);
  }
  if (cap_set_proc(caps.get()) != 0) return SysError::from_errno(errno, "set capabilities");
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if ((ambient & bit(cap)) == 0 || !CAP_IS_SUPPORTED(cap)) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
      return SysError::from_errno(errno, "raise ambient capability " + std::to_string(cap));
    }
  }
  return Ok{};
}

// USER: a name in the user database, or else a numeric uid that is in it.
Expected<CommandUser> find_command_user(const std::string& user) {
  auto found = find_user_by_name(user);
  if (!found) return found.error();
  uid_t uid = 0;
  const char* end = user.data() + user.size();
  if (!*found && !user.empty() && std::from_chars(user.data(), end, uid).ptr == end) {
    found = find_user_by_uid(uid);
    if (!found) return found.error();
  }
  if (!*found) return SysError::plain("-u/--user: no user " + escape_for_terminal(user));
  const UserRecord& record = **found;
  return CommandUser{record.uid, record.gid, groups_of(record.name, record.gid), record.name};
}

}  // namespace

Invoker read_invoker() {
  Invoker invoker;
  invoker.root = getuid() == 0 && geteuid() == 0;
  invoker.at_start = current_capabilities();
  return invoker;
}

Expected<RunAs> command_identity(const Invoker& invoker, const std::optional<std::string>& user) {
  RunAs as;
  if (user) {
    if (!invoker.root) {
      return SysError::plain("-u/--user needs root: only root may run the command as another user");
    }
    auto found = find_command_user(*user);
    if (!found) return found.error();
    as.user = std::move(*found);
    return as;
  }
  as.keep_all = invoker.root;
  as.inheritable = invoker.at_start.inheritable;
  as.ambient = invoker.at_start.ambient;
  return as;
}

Expected<void> become_command_identity(const RunAs& as) {
  if (as.keep_all) return Ok{};
  if (as.user) {
    // Leaving uid 0 clears permitted, effective and ambient; then the rest.
    if (auto switched = switch_ids(as.user->uid, as.user->gid, as.user->groups); !switched) {
      return switched;
    }
    if (auto dropped = set_process_caps(0); !dropped) return dropped;
  } else if (auto set = set_exact_caps(as.inheritable, as.ambient); !set) {
    return set;
  }
  const CapabilitySets left = current_capabilities();
  const std::uint64_t inheritable = as.user ? 0 : as.inheritable;
  const std::uint64_t ambient = as.user ? 0 : as.ambient;
  if (left.permitted != ambient || left.effective != ambient || left.inheritable != inheritable ||
      left.ambient != ambient) {
    return SysError::plain("internal error: the command would hold capabilities it should not");
  }
  return Ok{};
}

Expected<void> drop_own_capabilities(const std::vector<cap_value_t>& keep) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return SysError::from_errno(errno, "prctl(PR_SET_DUMPABLE)");
  }
  std::uint64_t mask = 0;
  for (cap_value_t cap : keep) mask |= bit(cap);
  // Permitted and effective KEEP only, then not effective.
  if (auto set = set_process_caps(mask); !set) return set;
  for (cap_value_t cap : keep) {
    if (auto lowered = set_own_flag(cap, CAP_EFFECTIVE, CAP_CLEAR); !lowered) return lowered;
  }
  return Ok{};
}

std::optional<cap_value_t> held_bpf_capability() {
  if (CAP_IS_SUPPORTED(CAP_BPF) && permitted(CAP_BPF)) return CAP_BPF;
  if (permitted(CAP_SYS_ADMIN)) return CAP_SYS_ADMIN;
  return std::nullopt;
}

RaisedCapability::RaisedCapability(cap_value_t cap)
    : cap_(cap), raised_(set_own_flag(cap, CAP_EFFECTIVE, CAP_SET)) {}

RaisedCapability::~RaisedCapability() {
  if (raised_) (void)set_own_flag(cap_, CAP_EFFECTIVE, CAP_CLEAR);
}

}  // namespace bpfready
