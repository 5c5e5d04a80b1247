#include "libcheck/fix_plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <set>

#include "libcheck/caps.h"
#include "libcheck/common/text.h"
#include "libcheck/kernel_floors.h"
#include "libcheck/parse.h"

namespace bpfready {

namespace {

// The gid the model gives the group tracefs-setup creates: any id the
// subject did not have before.
constexpr gid_t kSetupGroupGid = static_cast<gid_t>(-3);

constexpr const char* kTracefsDir = "/sys/kernel/tracing";

// The one tracefs-setup command the steps need, built up as obstacles are removed.
struct SetupStep {
  bool needed = false;
  bool binary = false;        // --binary: the capabilities
  bool sys_admin = false;     // --caps cap_sys_admin --force (kernels before 5.8)
  bool tracefs_read = false;  // --tracefs-read (also lowers a blocking perf_event_paranoid)
};

bool before_cap_bpf(const Snapshot& snap) { return snap.kernel && *snap.kernel < floors::kCapBpf; }

// Why file capabilities cannot give SUBJECT what loading needs here, if so.
std::optional<std::string> capabilities_ruled_out(const Snapshot& snap, const Subject& subject) {
  if (!snap.creds) return std::nullopt;
  if (subject.this_process && snap.creds->no_new_privs) {
    return "this process runs with no_new_privs (set for commands started by syscount, by container runtimes and "
           "by systemd's NoNewPrivileges=), so file capabilities are ignored at exec: run the tool from an "
           "ordinary login shell";
  }
  const std::uint64_t needed = before_cap_bpf(snap) ? cap_bit(kCapSysAdmin) : cap_bit(kCapBpf) | cap_bit(kCapPerfmon);
  const std::uint64_t missing = needed & ~snap.creds->cap_bounding;
  if (missing != 0) {
    return "file capabilities cannot grant " + caps_to_text(missing) +
           " here: the capability bounding set lacks it (a container started without it?); give the container " +
           caps_to_text(missing) + " or profile from the host";
  }
  return std::nullopt;
}

// tracefs as a fresh mount leaves it: the root 0700 root:root, the rest world-readable.
void simulate_mount(Snapshot& snap) {
  snap.tracefs = MountEntry{kTracefsDir, "tracefs", "tracefs", "rw,mode=700", "rw,nosuid,nodev,noexec"};
  const std::string base = kTracefsDir;
  snap.tracefs_id_chain = {
      {base, FileMeta{S_IFDIR | 0700, 0, 0}},
      {base + "/events", FileMeta{S_IFDIR | 0755, 0, 0}},
      {base + "/events/raw_syscalls", FileMeta{S_IFDIR | 0755, 0, 0}},
      {base + "/events/raw_syscalls/sys_enter", FileMeta{S_IFDIR | 0755, 0, 0}},
      {base + "/events/raw_syscalls/sys_enter/id", FileMeta{S_IFREG | 0444, 0, 0}},
  };
  snap.tracefs_id_open.reset();
}

// What `tracefs-setup apply --tracefs-read` makes of tracefs: the group may
// enter every directory and read the id. SUBJECT becomes a member.
void simulate_group_access(Snapshot& snap, Subject& subject) {
  const std::size_t count = snap.tracefs_id_chain.size();
  for (std::size_t i = 0; i < count; ++i) {
    auto& fact = snap.tracefs_id_chain[i];
    const bool is_id = i + 1 == count;
    FileMeta meta = fact.meta ? *fact.meta : FileMeta{is_id ? S_IFREG | 0440U : S_IFDIR | 0750U, 0, 0};
    meta.gid = kSetupGroupGid;
    meta.mode |= is_id ? S_IRGRP : S_IRGRP | S_IXGRP;
    fact.meta = meta;
  }
  snap.tracefs_id_open.reset();
  if (!subject.in_group(kSetupGroupGid)) subject.groups.push_back(kSetupGroupGid);
}

std::string user_word(const Subject& subject) {
  return subject.this_process || subject.name.empty() ? std::string("\"$USER\"") : shell_quote(subject.name);
}

std::string setup_binary(const FixContext& context, bool for_syscount) {
  if (!context.binary.empty() && !context.binary_is_diagnostic) return context.binary;
  if (for_syscount && !context.syscount_binary.empty()) return context.syscount_binary;
  return kToolPlaceholder;
}

std::string setup_command(const SetupStep& setup, const Subject& subject, const FixContext& context,
                          bool for_syscount) {
  std::string command = "sudo tracefs-setup apply";
  if (context.group != "bpfready") command += " --group " + shell_quote(context.group);
  if (subject.uid != 0 || subject.this_process) command += " --user " + user_word(subject);
  if (setup.binary) command += " --binary " + shell_quote(setup_binary(context, for_syscount));
  if (setup.sys_admin) command += " --caps cap_sys_admin --force";
  if (setup.tracefs_read) command += " --tracefs-read";
  return command;
}

// Removes the obstacle P names the way its step would, in SNAP and SUBJECT;
// the reason no safe step exists otherwise.
std::optional<std::string> remove_obstacle(const Prediction& p, Snapshot& snap, Subject& subject, SetupStep& setup,
                                           bool& mount) {
  switch (p.obstacle) {
    case Obstacle::capabilities:
      if (auto ruled_out = capabilities_ruled_out(snap, subject)) return ruled_out;
      setup.needed = setup.binary = true;
      setup.sys_admin = before_cap_bpf(snap);
      subject.effective_caps |= setup.sys_admin ? cap_bit(kCapSysAdmin) : cap_bit(kCapBpf) | cap_bit(kCapPerfmon);
      return std::nullopt;
    case Obstacle::tracefs_unmounted:
      mount = true;
      simulate_mount(snap);
      return std::nullopt;
    case Obstacle::tracefs_access:
      setup.needed = setup.tracefs_read = true;
      simulate_group_access(snap, subject);
      return std::nullopt;
    case Obstacle::paranoid:
      setup.needed = setup.tracefs_read = true;
      snap.sysctls["kernel.perf_event_paranoid"] = 2;
      return std::nullopt;
    case Obstacle::tracefs_lockdown:
    case Obstacle::kernel:
    case Obstacle::none: break;
  }
  std::string why = p.reason;
  if (!p.remedy.empty()) why += "; " + p.remedy;
  return why;
}

}  // namespace

std::string FixPlan::text() const { return join(steps, " && "); }

FixPlan plan_fix(const Snapshot& snapshot, const Subject& subject, ProbeFlavour flavour, const FixContext& context,
                 bool for_syscount) {
  Snapshot snap = snapshot;
  Subject fixed = subject;
  SetupStep setup;
  bool mount = false;
  std::set<Obstacle> removed;
  FixPlan plan;
  for (;;) {
    const Prediction p = predict(snap, fixed, flavour, context.binary);
    if (p.ok) break;
    // Each kind of obstacle is removed once; meeting it again means the
    // model knows no step that removes it.
    if (!removed.insert(p.obstacle).second) {
      plan.no_safe_fix = p.reason;
      return plan;
    }
    if (auto why = remove_obstacle(p, snap, fixed, setup, mount)) {
      plan.no_safe_fix = *why;
      return plan;
    }
  }
  if (mount) plan.steps.emplace_back("sudo mount -t tracefs nodev /sys/kernel/tracing");
  if (setup.needed) {
    plan.steps.push_back(setup_command(setup, subject, context, for_syscount));
    if (subject.this_process && subject.uid != 0) {
      plan.steps.push_back("newgrp " + shell_quote(context.group) + "   # or log in again: a new group applies to new "
                                                                  "sessions");
    }
  }
  return plan;
}

}  // namespace bpfready
