#include "libcheck/syscount_privs.h"

#include <grp.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <memory>

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

struct CapFree {
  void operator()(cap_t caps) const { cap_free(caps); }
};

std::optional<SysError> clear_capabilities() {
  std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree> empty(cap_init());
  if (!empty) return SysError::from_errno(errno, "cap_init");
  // Ambient first: the kernel drops ambient capabilities that leave the
  // permitted set anyway, but an explicit clear also works on its own.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return SysError::from_errno(errno, "clear ambient capabilities");
  }
  if (cap_set_proc(empty.get()) != 0) return SysError::from_errno(errno, "drop capabilities");
  return std::nullopt;
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
  if (const passwd* entry = getpwuid(user.uid)) user.name = entry->pw_name;
  if (user.switch_ids) {
    if (user.name.empty()) {
      user.groups = {user.gid};
    } else {
      int count = 32;
      std::vector<gid_t> groups(static_cast<std::size_t>(count));
      while (getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) < 0) {
        groups.resize(static_cast<std::size_t>(count) + 1);
        count = static_cast<int>(groups.size());
      }
      groups.resize(static_cast<std::size_t>(count));
      user.groups = std::move(groups);
    }
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

std::optional<SysError> become_real_user(const RealUser& user) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return SysError::from_errno(errno, "prctl(PR_SET_DUMPABLE)");
  }
  if (user.switch_ids) {
    if (setgroups(user.groups.size(), user.groups.data()) != 0) {
      return SysError::from_errno(errno, "setgroups");
    }
    if (setresgid(user.gid, user.gid, user.gid) != 0) {
      return SysError::from_errno(errno, "setresgid(" + std::to_string(user.gid) + ")");
    }
    if (setresuid(user.uid, user.uid, user.uid) != 0) {
      return SysError::from_errno(errno, "setresuid(" + std::to_string(user.uid) + ")");
    }
  }
  return clear_capabilities();
}

std::optional<SysError> become_unprivileged_for_exec(const RealUser& user) {
  // While CAP_SETPCAP is still held (root), empty the bounding set and lock
  // out root's implicit capabilities, so that even an exec as uid 0 gains none.
  if (CAP_IS_SUPPORTED(CAP_SETPCAP)) {
    cap_flag_value_t has_setpcap = CAP_CLEAR;
    std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree> now(cap_get_proc());
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
  if (auto error = become_real_user(user)) return error;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return SysError::from_errno(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return std::nullopt;
}

CapabilitySets current_capabilities() {
  CapabilitySets sets;
  std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree> now(cap_get_proc());
  for (int cap = 0; now && cap <= CAP_LAST_CAP; ++cap) {
    cap_flag_value_t value = CAP_CLEAR;
    const std::uint64_t bit = std::uint64_t{1} << cap;
    auto value_cap = static_cast<cap_value_t>(cap);
    if (cap_get_flag(now.get(), value_cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET) {
      sets.effective |= bit;
    }
    if (cap_get_flag(now.get(), value_cap, CAP_PERMITTED, &value) == 0 && value == CAP_SET) {
      sets.permitted |= bit;
    }
    if (cap_get_flag(now.get(), value_cap, CAP_INHERITABLE, &value) == 0 && value == CAP_SET) {
      sets.inheritable |= bit;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) sets.ambient |= bit;
  }
  return sets;
}

}  // namespace bpfready
