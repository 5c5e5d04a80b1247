// Who a process is and what it may do: libcap ownership, capability sets,
// account lookups and switching ids. Written once for every tool.
#pragma once

#include <sys/capability.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "libcheck/expected.h"

namespace bpfready {

// Frees what libcap allocated: capability sets and the texts it returns.
struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapSet = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;
using CapText = std::unique_ptr<char, CapFree>;

// The capability sets of this process as masks, for checks and tests.
struct CapabilitySets {
  std::uint64_t effective = 0, permitted = 0, inheritable = 0, ambient = 0;
  [[nodiscard]] bool empty() const { return (effective | permitted | inheritable | ambient) == 0; }
};
CapabilitySets current_capabilities();

// Clears the ambient set, then makes the permitted and effective sets exactly
// MASK (capabilities this kernel lacks are left out) and the inheritable set
// empty. MASK 0 drops every capability.
Expected<void> set_process_caps(std::uint64_t mask);

struct UserRecord {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // primary group
};
// nullopt: no such user.
Expected<std::optional<UserRecord>> find_user_by_name(const std::string& name);
Expected<std::optional<UserRecord>> find_user_by_uid(uid_t uid);

// NAME's groups from the group database, PRIMARY included.
std::vector<gid_t> groups_of(const std::string& name, gid_t primary);

// setgroups, setresgid and setresuid, in the only order that works.
Expected<void> switch_ids(uid_t uid, gid_t gid, const std::vector<gid_t>& groups);

}  // namespace bpfready
