// --cgroup PATH and --unit NAME: the cgroup v2 directory whose tasks (its
// descendants' included) syscount counts, checked in the kernel. No D-Bus:
// a unit's cgroup is found by systemd's naming conventions in the cgroup v2
// tree (docs/syscount.md, "Counting a cgroup or a service").
#pragma once

#include <string>
#include <vector>

#include "libcheck/common/fd.h"
#include "libcheck/expected.h"

namespace bpfready {

// Where the cgroup v2 hierarchy is mounted, among CANDIDATES (by default
// /sys/fs/cgroup, then /sys/fs/cgroup/unified on hybrid hosts), or why not.
Expected<std::string> cgroup2_root(const std::vector<std::string>& candidates = {
                                       "/sys/fs/cgroup", "/sys/fs/cgroup/unified"});

// NAME as systemd names it: "NAME.service" when NAME has no unit suffix; an
// error for what cannot be a unit name with a cgroup (a slash, a leading dot,
// a suffix of a unit type that has no cgroup).
Expected<std::string> unit_name(const std::string& name);

// The directory of unit UNIT (a full unit name) under ROOT: ROOT/system.slice/UNIT
// for a system service, a slice at its place in the slice tree
// (a-b.slice in ROOT/a.slice/), and otherwise the one directory of that name
// found in the tree (a user's service under user.slice). Exactly one match
// or an error that says why (not running, or ambiguous).
Expected<std::string> unit_cgroup_path(const std::string& root, const std::string& unit);

// PATH opened as a directory of a cgroup v2 hierarchy, or one line saying
// why it is not one (missing, not a directory, another file system).
Expected<Fd> open_cgroup(const std::string& path);

}  // namespace bpfready
