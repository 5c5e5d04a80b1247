// The operations tracefs-setup performs on a host, behind one interface.
//
// plan.cpp decides what to change; this interface changes it. The live
// implementation works on the running host (accounts through groupadd and
// gpasswd, capabilities through libcap, tracefs through mount(2)); with a
// root other than "/" it writes files and accounts strictly inside that tree
// (root_files.h: no path, "..", or symbolic link leads out of it) and refuses
// everything that would act on the running host: tracefs, sysctls, systemd.
// Tests substitute a fake, or wrap the live one to make any single operation
// fail.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcheck/common/creds.h"
#include "libcheck/expected.h"
#include "libcheck/system_root.h"

namespace bpfready {

struct GroupRecord {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;  // supplementary members, as listed in the group database

  [[nodiscard]] bool lists(const std::string& user) const;  // among the supplementary members
};

// The superblock options of the mounted tracefs that tracefs-setup touches.
struct TracefsState {
  std::string target;       // "/sys/kernel/tracing"
  std::string fs_options;   // as in mountinfo, e.g. "rw,gid=995,mode=750"
  uid_t uid = 0;            // tracefs defaults: uid 0, gid 0, mode 0700
  gid_t gid = 0;
  mode_t mode = 0700;
};

// One file or directory inside tracefs.
struct TracefsNode {
  std::string path;  // absolute host path
  FileMeta meta;
};

// Evidence that perf_event_open is refused to a holder of the given
// capabilities because perf_event_paranoid is above 2 (the Debian/Ubuntu
// patch that demands CAP_SYS_ADMIN), found by trying it.
struct ParanoidVerdict {
  bool blocked = false;
  long value = 0;        // perf_event_paranoid when checked
  std::string evidence;  // one line: what was tried and what happened
};

class SetupSystem {
 public:
  SetupSystem() = default;
  SetupSystem(const SetupSystem&) = delete;
  SetupSystem& operator=(const SetupSystem&) = delete;
  SetupSystem(SetupSystem&&) = delete;
  SetupSystem& operator=(SetupSystem&&) = delete;
  virtual ~SetupSystem() = default;

  // Whether this works on the running host (tracefs, sysctls, systemd).
  [[nodiscard]] virtual bool live() const = 0;
  // Where the files go, for messages: "/" or the --root directory.
  [[nodiscard]] virtual std::string root_dir() const = 0;

  // Accounts. nullopt: no such group or user.
  virtual Expected<std::optional<GroupRecord>> find_group(const std::string& name) = 0;
  virtual Expected<std::optional<UserRecord>> find_user(const std::string& name) = 0;
  virtual Expected<gid_t> create_group(const std::string& name) = 0;  // a system group
  virtual Expected<void> delete_group(const std::string& name) = 0;
  virtual Expected<void> add_member(const std::string& user, const std::string& group) = 0;
  virtual Expected<void> remove_member(const std::string& user, const std::string& group) = 0;

  // Files of the target system. Paths are absolute on the target and are
  // resolved strictly inside the root; a path that would leave it is an
  // error. stat does not follow symbolic links; nullopt: absent. chown,
  // chmod and the capabilities act on regular files only.
  virtual Expected<std::optional<FileMeta>> stat(const std::string& path) = 0;
  virtual Expected<void> chown(const std::string& path, uid_t uid, gid_t gid) = 0;
  virtual Expected<void> chmod(const std::string& path, mode_t mode) = 0;
  // File capabilities in libcap's text form ("cap_bpf,cap_perfmon=ep"); nullopt: none.
  virtual Expected<std::optional<std::string>> get_caps(const std::string& path) = 0;
  virtual Expected<void> set_caps(const std::string& path, const std::optional<std::string>& caps) = 0;

  virtual Expected<std::optional<std::string>> read_file(const std::string& path) = 0;
  // Replaces PATH atomically (temporary file, fsync, rename).
  virtual Expected<void> write_file(const std::string& path, const std::string& content, mode_t mode) = 0;
  virtual Expected<std::optional<std::string>> read_link(const std::string& path) = 0;
  virtual Expected<void> make_symlink(const std::string& path, const std::string& target) = 0;
  virtual Expected<void> remove_file(const std::string& path) = 0;  // a file or a symbolic link
  virtual Expected<void> make_dir(const std::string& path, mode_t mode) = 0;
  virtual Expected<void> remove_dir(const std::string& path) = 0;  // only when empty

  // The rest acts on the running host: refused (an error) when not live().
  // tracefs on the running host; nullopt when not mounted (or not live).
  virtual Expected<std::optional<TracefsState>> tracefs() = 0;
  // Changes the superblock options (uid=, gid=, mode=) and nothing else.
  virtual Expected<void> remount_tracefs(const std::string& target, uid_t uid, gid_t gid, mode_t mode) = 0;
  // Every file and directory below TARGET (TARGET included).
  virtual Expected<std::vector<TracefsNode>> walk_tracefs(const std::string& target) = 0;
  // Owner, group and mode of tracefs nodes: live host paths, never mapped.
  virtual Expected<void> tracefs_chown(const std::string& path, gid_t gid) = 0;
  virtual Expected<void> tracefs_chmod(const std::string& path, mode_t mode) = 0;

  // Sysctls of the running host ("kernel.perf_event_paranoid").
  virtual Expected<std::optional<long>> read_sysctl(const std::string& key) = 0;
  virtual Expected<void> write_sysctl(const std::string& key, long value) = 0;
  virtual ParanoidVerdict perf_event_blocked_by_paranoid(std::uint64_t caps) = 0;

  // Whether PID 1 is systemd (/run/systemd/system exists), and a reload of its units.
  virtual bool systemd_running() = 0;
  virtual Expected<void> reload_systemd() = 0;
};

// The running host, or a root tree when ROOT is not "/".
std::unique_ptr<SetupSystem> make_live_system(const std::string& root);

// Pure parsers of an image's account files (the text of /etc/group,
// /etc/passwd): NAME's first record, nullopt when there is none. A malformed
// numeric field of that record is an error saying which line ("line 3: gid
// 'x' is not a number from 0 to 4294967294"); they never throw.
Expected<std::optional<GroupRecord>> parse_group_record(std::string_view file_text, const std::string& name);
Expected<std::optional<UserRecord>> parse_passwd_record(std::string_view file_text, const std::string& name);

// The mounted tracefs at TARGET from its superblock options as mountinfo
// shows them ("rw,gid=995,mode=750"); an out-of-range uid, gid or octal mode
// is an error.
Expected<TracefsState> parse_tracefs_options(const std::string& target, const std::string& fs_options);

// The directories above PATH (absolute on the target) that do not exist,
// outermost first: what must be made to create PATH.
Expected<std::vector<std::string>> missing_parents(SetupSystem& system, const std::string& path);

// Runs ARGV (no shell) and waits. The error carries its stderr.
Expected<void> run_command(const std::vector<std::string>& argv);

}  // namespace bpfready
