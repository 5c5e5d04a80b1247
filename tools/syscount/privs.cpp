#include "tools/syscount/privs.h"

#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

#include "libcheck/common/creds.h"

namespace bpfready {

namespace {

std::optional<unsigned long> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  unsigned long value = 0;
  const char* end = text + std::char_traits<char>::length(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

Expected<RealUser> resolve_real_user() {
  RealUser user;
  user.uid = getuid();
  user.gid = getgid();
  auto sudo_uid = env_number("SUDO_UID");
  auto sudo_gid = env_number("SUDO_GID");
  if (user.uid == 0 && sudo_uid && sudo_gid && *sudo_uid != 0) {
    user.uid = static_cast<uid_t>(*sudo_uid);
    user.gid = static_cast<gid_t>(*sudo_gid);
    user.switch_ids = true;
  }
  if (auto found = find_user_by_uid(user.uid); found && *found) user.name = (*found)->name;
  if (user.switch_ids) {
    user.groups = user.name.empty() ? std::vector<gid_t>{user.gid} : groups_of(user.name, user.gid);
  } else {
    int count = getgroups(0, nullptr);
    if (count < 0) return SysError::from_errno(errno, "getgroups");
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (count > 0 && getgroups(count, groups.data()) < 0) {
      return SysError::from_errno(errno, "getgroups");
    }
    user.groups = std::move(groups);
  }
  return user;
}

namespace {

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

}  // namespace

Expected<void> become_real_user(const RealUser& user, std::optional<cap_value_t> keep) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return SysError::from_errno(errno, "prctl(PR_SET_DUMPABLE)");
  }
  if (user.switch_ids) {
    // Without KEEPCAPS, leaving uid 0 empties the permitted set.
    if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
      return SysError::from_errno(errno, "prctl(PR_SET_KEEPCAPS)");
    }
    auto switched = switch_ids(user.uid, user.gid, user.groups);
    if (keep) (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (!switched) return switched;
  }
  if (!keep) return set_process_caps(0);
  // Permitted and effective KEEP only, then not effective.
  if (auto set = set_process_caps(std::uint64_t{1} << *keep); !set) return set;
  return set_own_flag(*keep, CAP_EFFECTIVE, CAP_CLEAR);
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

Expected<void> become_unprivileged_for_exec(const RealUser& user) {
  // While CAP_SETPCAP is still held (root), empty the bounding set and lock
  // out root's implicit capabilities, so that even an exec as uid 0 gains none.
  if (CAP_IS_SUPPORTED(CAP_SETPCAP)) {
    cap_flag_value_t has_setpcap = CAP_CLEAR;
    const CapSet now(cap_get_proc());
    if (now && cap_get_flag(now.get(), CAP_SETPCAP, CAP_EFFECTIVE, &has_setpcap) == 0 &&
        has_setpcap == CAP_SET) {
      for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
          return SysError::from_errno(errno, "drop bounding capability " + std::to_string(cap));
        }
      }
      if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) != 0) {
        return SysError::from_errno(errno, "prctl(PR_SET_SECUREBITS)");
      }
    }
  }
  if (auto became = become_real_user(user); !became) return became;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return SysError::from_errno(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return Ok{};
}

}  // namespace bpfready
