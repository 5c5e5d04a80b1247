// tracefs-setup's plan: every change it would make to a host, each with the
// state before, the state wanted, why, and the equivalent shell command.
// Building a plan reads the host and changes nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libcheck/expected.h"
#include "tools/tracefs-setup/system.h"

namespace bpfready {

inline constexpr std::string_view kDefaultGroup = "bpfready";
// What a raw-tracepoint tool (syscount) needs, and nothing more.
inline constexpr std::string_view kDefaultCaps = "cap_bpf,cap_perfmon";
inline constexpr mode_t kBinaryMode = 0750;
inline constexpr mode_t kTracefsMode = 0750;

// Files tracefs-setup writes (paths on the target system).
inline constexpr std::string_view kUnitDir = "/etc/systemd/system";
inline constexpr std::string_view kMountDropIn = "/etc/systemd/system/sys-kernel-tracing.mount.d/bpfready.conf";
inline constexpr std::string_view kTracefsUnitName = "bpfready-tracefs.service";
inline constexpr std::string_view kTracefsUnit = "/etc/systemd/system/bpfready-tracefs.service";
inline constexpr std::string_view kTracefsUnitLink = "/etc/systemd/system/sysinit.target.wants/bpfready-tracefs.service";
inline constexpr std::string_view kSysctlFile = "/etc/sysctl.d/60-bpfready-perf-event.conf";
inline constexpr std::string_view kParanoidKey = "kernel.perf_event_paranoid";

struct SetupOptions {
  std::string group{kDefaultGroup};
  std::vector<std::string> users;
  std::vector<std::string> binaries;  // absolute paths on the target system
  bool tracefs_read = false;
  std::string caps{kDefaultCaps};  // given to every binary, effective and permitted
  // Allows --caps beyond cap_bpf,cap_perfmon (near-root for the whole group).
  bool force = false;

  [[nodiscard]] nlohmann::json to_json() const;
};

enum class ChangeKind {
  group_create,   // target: group
  group_member,   // target: "user:group"
  binary,         // target: path; owner, group, mode and file capabilities together
  file,           // target: path; a regular file written or replaced
  symlink,        // target: path; a symbolic link (a unit's enablement)
  tracefs_mount,  // target: mount point; the superblock options uid=, gid=, mode=
  tracefs_nodes,  // target: mount point; group and mode of single tracefs files
  sysctl,         // target: key; the running value
};
std::string_view to_string(ChangeKind kind);
Expected<ChangeKind> change_kind_from_string(std::string_view text);

struct Change {  // NOLINT(bugprone-exception-escape): json members, copying may allocate
  ChangeKind kind = ChangeKind::file;
  std::string target;
  nlohmann::json before;  // what was there: what revert restores
  nlohmann::json after;   // what apply makes
  std::string summary;    // one line: what changes
  std::string why;        // one line: why it is needed
  std::string command;    // the equivalent shell command(s)
};

struct Plan {
  SetupOptions options;
  std::vector<Change> changes;
  std::vector<std::string> notes;  // what is left alone and why, and when changes take effect
};

// Names tracefs-setup accepts: a system group ("bpfready": lower case, digits,
// _ and -), and a user name that no command takes for an option and that
// cannot break a line of /etc/group (no ":", ",", "/", blank or control character).
bool valid_group_name(std::string_view name);
bool valid_user_name(std::string_view name);

// Reads the host through SYSTEM and lists the changes OPTIONS need. Fails
// (changing nothing) on a missing user or binary, or an invalid option.
Expected<Plan> make_plan(SetupSystem& system, const SetupOptions& options);

// The persistent files for GROUP; systemd/ in the source tree holds them for "bpfready".
std::string mount_dropin_text(const std::string& group);
std::string tracefs_unit_text(const std::string& group);
std::string sysctl_file_text();

// libcap's canonical text for a capability list given to a binary: "cap_bpf,cap_perfmon=ep".
Expected<std::string> binary_caps_text(const std::string& caps);

// Which tracefs nodes must change so that GROUP (gid) can read event ids and
// write nothing, given the nodes as they are. Used both to plan (on a
// prediction of the state after the remount) and to apply (on the real one).
struct NodeChange {
  std::string path;
  FileMeta before;
  gid_t gid = 0;
  mode_t mode = 0;
};
std::vector<NodeChange> tracefs_node_changes(const std::string& target, const std::vector<TracefsNode>& nodes,
                                             gid_t gid);
// NODES as a journal records them: path and mode, before or AFTER the change.
// A gid is recorded only where the change sets it: the others follow the
// mount's gid=, and restoring them by hand after the remount is undone would
// hand them back to the group.
nlohmann::json nodes_json(const std::vector<NodeChange>& nodes, bool after);

}  // namespace bpfready
