#include "libcheck/common/creds.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

namespace bpfready {

CapabilitySets current_capabilities() {
  CapabilitySets sets;
  const CapSet now(cap_get_proc());
  for (int cap = 0; now && cap <= CAP_LAST_CAP; ++cap) {
    const std::uint64_t bit = std::uint64_t{1} << cap;
    const auto value = static_cast<cap_value_t>(cap);
    auto has = [&](cap_flag_t flag) {
      cap_flag_value_t set = CAP_CLEAR;
      return cap_get_flag(now.get(), value, flag, &set) == 0 && set == CAP_SET;
    };
    if (has(CAP_EFFECTIVE)) sets.effective |= bit;
    if (has(CAP_PERMITTED)) sets.permitted |= bit;
    if (has(CAP_INHERITABLE)) sets.inheritable |= bit;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) sets.ambient |= bit;
  }
  return sets;
}

Expected<void> set_process_caps(std::uint64_t mask) {
  // EINVAL: a kernel without ambient capabilities (before 4.3) has none to clear.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return SysError::from_errno(errno, "clear ambient capabilities");
  }
  const CapSet caps(cap_init());
  if (!caps) return SysError::from_errno(errno, "cap_init");
  for (int cap = 0; cap < 64; ++cap) {
    if ((mask & (std::uint64_t{1} << cap)) == 0 || !CAP_IS_SUPPORTED(cap)) continue;
    const cap_value_t value = cap;
    cap_set_flag(caps.get(), CAP_PERMITTED, 1, &value, CAP_SET);
    cap_set_flag(caps.get(), CAP_EFFECTIVE, 1, &value, CAP_SET);
  }
  if (cap_set_proc(caps.get()) != 0) return SysError::from_errno(errno, mask == 0 ? "drop capabilities" : "set capabilities");
  return Ok{};
}

namespace {

template <class Lookup>
Expected<std::optional<UserRecord>> find_user(Lookup lookup, const std::string& what) {
  std::vector<char> buffer(16384);
  struct passwd entry {};
  struct passwd* found = nullptr;
  int rc = 0;
  while ((rc = lookup(&entry, buffer, &found)) == ERANGE) buffer.resize(buffer.size() * 2);
  if (rc != 0) return SysError::from_errno(rc, "look up user " + what);
  if (found == nullptr) return std::optional<UserRecord>{};
  return std::optional<UserRecord>{UserRecord{found->pw_name, found->pw_uid, found->pw_gid}};
}

}  // namespace

Expected<std::optional<UserRecord>> find_user_by_name(const std::string& name) {
  return find_user(
      [&](passwd* entry, std::vector<char>& buffer, passwd** found) {
        return ::getpwnam_r(name.c_str(), entry, buffer.data(), buffer.size(), found);
      },
      name);
}

Expected<std::optional<UserRecord>> find_user_by_uid(uid_t uid) {
  return find_user(
      [&](passwd* entry, std::vector<char>& buffer, passwd** found) {
        return ::getpwuid_r(uid, entry, buffer.data(), buffer.size(), found);
      },
      std::to_string(uid));
}

std::vector<gid_t> groups_of(const std::string& name, gid_t primary) {
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(name.c_str(), primary, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count) + 64);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

Expected<void> switch_ids(uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
  if (::setgroups(groups.size(), groups.data()) != 0) return SysError::from_errno(errno, "setgroups");
  if (::setresgid(gid, gid, gid) != 0) return SysError::from_errno(errno, "setresgid(" + std::to_string(gid) + ")");
  if (::setresuid(uid, uid, uid) != 0) return SysError::from_errno(errno, "setresuid(" + std::to_string(uid) + ")");
  return Ok{};
}

}  // namespace bpfready
