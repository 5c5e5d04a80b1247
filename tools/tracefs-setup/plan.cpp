#include "tools/tracefs-setup/plan.h"

#include <sys/capability.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "libcheck/caps.h"
#include "libcheck/common/creds.h"
#include "libcheck/common/text.h"
#include "tools/tracefs-setup/root_files.h"

namespace bpfready {

namespace {

using nlohmann::json;

// Stands for the gid of a group that apply has yet to create.
constexpr gid_t kGroupToBeCreated = static_cast<gid_t>(-2);

// PATH (absolute on the target) as the running host sees it: under --root
// the shown commands must act on the image, as apply does, never on the host.
std::string host_path(const SetupSystem& system, const std::string& path) {
  if (system.live()) return path;
  const std::string root = system.root_dir();
  return (root.size() > 1 && root.back() == '/' ? root.substr(0, root.size() - 1) : root) + path;
}

// An account command as apply runs it: with --root ROOT under a root.
std::string account_command(const SetupSystem& system, std::vector<std::string> argv) {
  if (!system.live()) argv.insert(argv.begin() + 1, {"--root", system.root_dir()});
  return shell_command(argv);
}

// The state of PATH that revert would put back: a file's content and mode,
// a link's target, or absence, plus the directories apply will create.
Expected<json> path_state(SetupSystem& system, const std::string& path) {
  json state = {{"exists", false}};
  auto meta = system.stat(path);
  if (!meta) return meta.error();
  if (*meta) {
    state["exists"] = true;
    if (S_ISLNK((*meta)->mode)) {
      auto link = system.read_link(path);
      if (!link) return link.error();
      state["link"] = link->value_or("");
    } else if (S_ISREG((*meta)->mode)) {
      auto content = system.read_file(path);
      if (!content) return content.error();
      state["content"] = content->value_or("");
      state["mode"] = (*meta)->permissions();
      state["uid"] = (*meta)->uid;
      state["gid"] = (*meta)->gid;
    } else {
      return SysError::plain(path + " exists and is neither a regular file nor a symbolic link; remove it first");
    }
    return state;
  }
  auto missing = missing_parents(system, path);
  if (!missing) return missing.error();
  state["missing_dirs"] = *missing;
  return state;
}

// Writing PATH with CONTENT (mode 0644), unless it is already so.
Expected<void> plan_file(SetupSystem& system, Plan& plan, const std::string& path, const std::string& content,
                         std::string summary, std::string why) {
  auto before = path_state(system, path);
  if (!before) return before.error();
  const json& state = *before;
  if (state.value("exists", false) && state.contains("content") && state["content"] == content &&
      state["mode"] == 0644) {
    return Ok{};
  }
  plan.changes.push_back(Change{
      .kind = ChangeKind::file,
      .target = path,
      .before = state,
      .after = {{"content", content}, {"mode", 0644}},
      .summary = std::move(summary),
      .why = std::move(why),
      .command = "install -D -m 0644 /dev/stdin " + shell_quote(host_path(system, path)) + " <<'EOF'\n" + content +
                 "EOF"});
  return Ok{};
}

// The link that enables the tracefs unit, unless it is already there.
Expected<void> plan_unit_link(SetupSystem& system, Plan& plan) {
  const std::string path(kTracefsUnitLink);
  const std::string target(kTracefsUnit);
  auto before = path_state(system, path);
  if (!before) return before.error();
  if (before->value("link", std::string()) == target) return Ok{};
  plan.changes.push_back(Change{
      .kind = ChangeKind::symlink,
      .target = path,
      .before = *before,
      .after = {{"link", target}},
      .summary = "enable " + std::string(kTracefsUnitName) + " (link in sysinit.target.wants)",
      .why = "so that it runs at boot, after tracefs is mounted",
      .command = "mkdir -p " + shell_quote(std::filesystem::path(host_path(system, path)).parent_path().string()) +
                 " && ln -sfn " + shell_quote(target) + " " + shell_quote(host_path(system, path)) +
                 "   # = systemctl enable " +
                 std::string(kTracefsUnitName)});
  return Ok{};
}

std::string nodes_command(const std::string& target, const std::string& group, const std::vector<NodeChange>& nodes) {
  if (nodes.size() <= 6) {
    std::string command;
    for (const auto& node : nodes) {
      if (!command.empty()) command += "\n";
      if (node.gid != node.before.gid) command += shell_command({"chgrp", group, node.path}) + " && ";
      command += shell_command({"chmod", mode_text(node.mode), node.path});
    }
    return command;
  }
  return "find " + shell_quote(target) + " -group " + shell_quote(group) + " -perm /g+w -exec chmod g-w {} +\nfind " +
         shell_quote(target + "/events") + " -name id ! -group " + shell_quote(group) + " -exec chgrp " +
         shell_quote(group) + " {} + -exec chmod g+r {} +";
}

// The distinct entries of WORDS, in their first order.
std::vector<std::string> distinct(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& word : words) {
    if (std::find(out.begin(), out.end(), word) == out.end()) out.push_back(word);
  }
  return out;
}

// The group as it is (nullopt: absent), and its creation when it is absent.
Expected<std::optional<GroupRecord>> plan_group(SetupSystem& system, Plan& plan) {
  const std::string& group_name = plan.options.group;
  auto group = system.find_group(group_name);
  if (!group) return group.error();
  if (*group) {
    plan.notes.push_back("group " + group_name + " exists (gid " + std::to_string((*group)->gid) +
                         "); it is used as it is");
    return group;
  }
  plan.changes.push_back(Change{
      .kind = ChangeKind::group_create,
      .target = group_name,
      .before = {{"exists", false}},
      .after = {{"exists", true}},
      .summary = "create the system group " + group_name,
      .why = "only its members may run the profiling binaries (and read tracefs with --tracefs-read)",
      .command = account_command(system, {"groupadd", "--system", group_name})});
  return group;
}

Expected<void> plan_member(SetupSystem& system, Plan& plan, const std::string& user_name,
                           const std::optional<GroupRecord>& group) {
  const std::string& group_name = plan.options.group;
  if (!valid_user_name(user_name)) {
    return SysError::plain("invalid user name '" + escape_for_terminal(user_name) + "'");
  }
  auto user = system.find_user(user_name);
  if (!user) return user.error();
  if (!*user) {
    return SysError::plain("user '" + user_name + "' does not exist; create it first (" +
                           shell_command({"useradd", user_name}) + ") or leave out " +
                           shell_command({"--user", user_name}));
  }
  if (group && (group->lists(user_name) || (*user)->gid == group->gid)) {
    plan.notes.push_back("user " + user_name + " is already a member of " + group_name);
    return Ok{};
  }
  plan.changes.push_back(Change{
      .kind = ChangeKind::group_member,
      .target = user_name + ":" + group_name,
      .before = {{"member", false}},
      .after = {{"member", true}},
      .summary = "add user " + user_name + " to group " + group_name,
      .why = "members may run the binaries below; it takes effect at the user's next login",
      .command = account_command(system, {"gpasswd", "-a", user_name, group_name})});
  return Ok{};
}

// The capabilities every binary gets: libcap's text, and the mask.
struct BinaryCaps {
  std::string text;
  std::uint64_t mask = 0;
};

// PATH's metadata, when it names a regular file a binary change may act on.
Expected<FileMeta> binary_meta(SetupSystem& system, const std::string& path) {
  const std::string shown = escape_for_terminal(path);
  if (path.empty() || path[0] != '/') return SysError::plain("binary path '" + shown + "' is not absolute");
  auto meta = system.stat(path);
  if (!meta) return meta.error();
  if (!*meta) {
    if (system.live()) return SysError::plain("binary " + shown + " does not exist");
    return SysError::plain("binary " + shown + " does not exist in the image (no " +
                           escape_for_terminal(host_path(system, path)) + ")");
  }
  if (S_ISLNK((*meta)->mode)) {
    auto link = system.read_link(path);
    return SysError::plain("binary " + shown + " is a symbolic link (to " +
                           escape_for_terminal(link && *link ? **link : "?") +
                           "); name the file itself, capabilities belong to it");
  }
  if (!S_ISREG((*meta)->mode)) return SysError::plain("binary " + shown + " is not a regular file");
  return **meta;
}

// What eBPF profiling tools need, and nothing more (plan.h: kDefaultCaps).
constexpr std::uint64_t kProfilingCaps = (std::uint64_t{1} << CAP_BPF) | (std::uint64_t{1} << CAP_PERFMON);

std::string caps_why(const std::string& group_name, std::uint64_t mask) {
  const std::string given = "only group " + group_name + " may execute it, and it gets exactly " + caps_to_text(mask);
  if ((mask & ~kProfilingCaps) == 0) {
    return given + " (the kernel's perf-security pattern); raw tracepoints need nothing else";
  }
  return given + " (--force: " + caps_to_text(mask & ~kProfilingCaps) +
         " is beyond what profiling needs and near-root for every member of " + group_name + ")";
}

// --caps beyond cap_bpf,cap_perfmon hands the whole group more than profiling
// needs; only --force allows it.
Expected<void> check_caps_scope(const SetupOptions& options, std::uint64_t mask) {
  const std::uint64_t extra = mask & ~kProfilingCaps;
  if (extra == 0 || options.force) return Ok{};
  return SysError::plain("--caps gives " + caps_to_text(extra) + " beyond " + std::string(kDefaultCaps) +
                         ": every member of group " + options.group +
                         " would hold it through these binaries, which is near-root; profiling needs only " +
                         std::string(kDefaultCaps) + " (give --force to do it anyway)");
}

Expected<void> plan_binary(SetupSystem& system, Plan& plan, const std::string& path, std::optional<gid_t> gid,
                           const BinaryCaps& caps) {
  const std::string& group_name = plan.options.group;
  auto meta = binary_meta(system, path);
  if (!meta) return meta.error();
  auto current_caps = system.get_caps(path);
  if (!current_caps) return current_caps.error();
  const std::string wanted = "root:" + group_name + " " + mode_text(kBinaryMode) + " with " + caps.text;
  if (gid && meta->uid == 0 && meta->gid == *gid && meta->permissions() == kBinaryMode && *current_caps == caps.text) {
    plan.notes.push_back("binary " + path + " is already " + wanted);
    return Ok{};
  }
  Change change{
      .kind = ChangeKind::binary,
      .target = path,
      .before = {{"uid", meta->uid},
                 {"gid", meta->gid},
                 {"mode", meta->permissions()},
                 {"caps", *current_caps ? json(**current_caps) : json(nullptr)}},
      .after = {{"uid", 0}, {"group", group_name}, {"mode", kBinaryMode}, {"caps", caps.text}},
      .summary = "make " + path + " " + wanted + " (was " + std::to_string(meta->uid) + ":" +
                 std::to_string(meta->gid) + " " + mode_text(meta->permissions()) + ", caps " +
                 current_caps->value_or("none") + ")",
      .why = caps_why(group_name, caps.mask),
      .command = shell_command({"chown", "root:" + group_name, host_path(system, path)}) + " && " +
                 shell_command({"chmod", mode_text(kBinaryMode), host_path(system, path)}) + " && " +
                 shell_command({"setcap", caps.text, host_path(system, path)}) +
                 "   # chown clears capabilities, so setcap comes last"};
  if (gid) change.after["gid"] = *gid;
  plan.changes.push_back(change);
  return Ok{};
}

// The files that keep tracefs access across reboots: the mount drop-in and the
// oneshot unit, enabled.
Expected<void> plan_unit_files(SetupSystem& system, Plan& plan) {
  const std::string& group_name = plan.options.group;
  if (auto planned = plan_file(system, plan, std::string(kMountDropIn), mount_dropin_text(group_name),
                               "write the mount drop-in " + std::string(kMountDropIn),
                               "makes gid=" + group_name + ",mode=0750 on tracefs persistent across reboots");
      !planned) {
    return planned;
  }
  if (auto planned = plan_file(system, plan, std::string(kTracefsUnit), tracefs_unit_text(group_name),
                               "write the oneshot unit " + std::string(kTracefsUnit),
                               "at every boot, takes group write away from tracefs files and makes event ids "
                               "group-readable where gid= does not reach");
      !planned) {
    return planned;
  }
  return plan_unit_link(system, plan);
}

Change remount_change(const TracefsState& state, const std::string& group_name, std::optional<gid_t> gid) {
  Change change{
      .kind = ChangeKind::tracefs_mount,
      .target = state.target,
      .before = {{"uid", state.uid}, {"gid", state.gid}, {"mode", state.mode}, {"fs_options", state.fs_options}},
      .after = {{"uid", state.uid}, {"group", group_name}, {"mode", kTracefsMode}},
      .summary = "remount tracefs at " + state.target + " with gid=" + group_name + ",mode=" +
                 mode_text(kTracefsMode) + " (now gid=" + std::to_string(state.gid) + ",mode=" +
                 mode_text(state.mode) + ")",
      .why = "group read-only access to tracefs now, for tools that read events/**/id",
      .command = shell_command({"mount", "-o", "remount,gid=" + group_name + ",mode=" + mode_text(kTracefsMode),
                                state.target})};
  if (gid) change.after["gid"] = *gid;
  return change;
}

// The tracefs files whose group or mode must change for GID, as they will be
// after the remount when REMOUNT is set.
Expected<void> plan_tracefs_nodes(SetupSystem& system, Plan& plan, const TracefsState& state, gid_t gid,
                                  bool remount) {
  auto nodes = system.walk_tracefs(state.target);
  if (!nodes) return nodes.error();
  if (remount) {
    // Measured on 6.18: the remount gives every node the group; predict that.
    for (auto& node : *nodes) node.meta.gid = gid;
  }
  const auto node_changes = tracefs_node_changes(state.target, *nodes, gid);
  if (node_changes.empty()) return Ok{};
  std::string names;
  for (std::size_t i = 0; i < node_changes.size() && i < 4; ++i) {
    names += (i != 0 ? ", " : "") + node_changes[i].path.substr(state.target.size() + 1);
  }
  if (node_changes.size() > 4) names += ", ...";
  const std::string& group_name = plan.options.group;
  plan.changes.push_back(Change{
      .kind = ChangeKind::tracefs_nodes,
      .target = state.target,
      .before = {{"nodes", nodes_json(node_changes, false)}},
      .after = {{"nodes", nodes_json(node_changes, true)}, {"group", group_name}},
      .summary = "adjust " + std::to_string(node_changes.size()) + " tracefs file(s): " + names,
      .why = "the group must be able to read event ids and write nothing (gid= would let it write trace_marker)",
      .command = nodes_command(state.target, group_name, node_changes)});
  return Ok{};
}

// The running tracefs: a remount with gid= and mode=, then single files.
Expected<void> plan_live_tracefs(SetupSystem& system, Plan& plan, std::optional<gid_t> gid) {
  auto tracefs = system.tracefs();
  if (!tracefs) return tracefs.error();
  if (!system.live()) {
    plan.notes.push_back("--root " + system.root_dir() +
                         ": only files are written there; the running kernel's tracefs is not touched");
    return Ok{};
  }
  if (!*tracefs) {
    plan.notes.push_back("tracefs is not mounted: nothing to change now; the drop-in applies when "
                         "sys-kernel-tracing.mount mounts it at boot (or mount it: mount -t tracefs nodev "
                         "/sys/kernel/tracing, and apply again)");
    return Ok{};
  }
  const TracefsState& state = **tracefs;
  const bool remount = !gid || state.gid != *gid || state.mode != kTracefsMode;
  if (remount) plan.changes.push_back(remount_change(state, plan.options.group, gid));
  return plan_tracefs_nodes(system, plan, state, gid.value_or(kGroupToBeCreated), remount);
}

// perf_event_paranoid, lowered to 2 only where a test proves it refuses the tool.
Expected<void> plan_paranoid(SetupSystem& system, Plan& plan, std::uint64_t caps_mask) {
  const ParanoidVerdict verdict = system.perf_event_blocked_by_paranoid(caps_mask);
  if (!verdict.blocked) {
    plan.notes.push_back("kernel.perf_event_paranoid is left as it is: " + verdict.evidence);
    return Ok{};
  }
  if (auto planned = plan_file(system, plan, std::string(kSysctlFile), sysctl_file_text(),
                               "write " + std::string(kSysctlFile) + " (kernel.perf_event_paranoid = 2)",
                               verdict.evidence);
      !planned) {
    return planned;
  }
  plan.changes.push_back(Change{
      .kind = ChangeKind::sysctl,
      .target = std::string(kParanoidKey),
      .before = {{"value", verdict.value}},
      .after = {{"value", 2}},
      .summary = "set kernel.perf_event_paranoid to 2 now (was " + std::to_string(verdict.value) + ")",
      .why = verdict.evidence,
      .command = "sysctl -w kernel.perf_event_paranoid=2"});
  return Ok{};
}

// Everything --tracefs-read adds, or why tracefs is left alone without it.
Expected<void> plan_tracefs_access(SetupSystem& system, Plan& plan, std::optional<gid_t> gid,
                                   std::uint64_t caps_mask) {
  if (!plan.options.tracefs_read) {
    plan.notes.push_back("tracefs is left as it is: raw-tracepoint tools such as syscount do not use it "
                         "(give --tracefs-read for tools that attach perf-event tracepoints)");
    plan.notes.push_back("kernel.perf_event_paranoid is left as it is: raw tracepoints do not use perf_event_open");
    return Ok{};
  }
  if (auto planned = plan_unit_files(system, plan); !planned) return planned;
  if (auto planned = plan_live_tracefs(system, plan, gid); !planned) return planned;
  if (system.live()) {
    if (auto planned = plan_paranoid(system, plan, caps_mask); !planned) return planned;
  }
  if (system.live() && !system.systemd_running()) {
    plan.notes.push_back("PID 1 is not systemd: the unit files are written and take effect at the next boot "
                         "under systemd; the live tracefs change is made now");
  }
  return Ok{};
}

}  // namespace

bool valid_group_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (std::islower(static_cast<unsigned char>(name[0])) == 0 && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) != 0 || std::isdigit(static_cast<unsigned char>(c)) != 0 ||
           c == '_' || c == '-';
  });
}

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 256 || name.front() == '-' || valid_utf8(name) != name) return false;
  // No separator of the account databases (":", ",", newline), no blank, no control character.
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= ' ' || byte == 0x7F || c == ':' || c == ',' || c == '/';
  });
}

json SetupOptions::to_json() const {
  return {{"group", group}, {"users", users}, {"binaries", binaries}, {"tracefs_read", tracefs_read}, {"caps", caps}};
}

std::string_view to_string(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::group_create: return "group_create";
    case ChangeKind::group_member: return "group_member";
    case ChangeKind::binary: return "binary";
    case ChangeKind::file: return "file";
    case ChangeKind::symlink: return "symlink";
    case ChangeKind::tracefs_mount: return "tracefs_mount";
    case ChangeKind::tracefs_nodes: return "tracefs_nodes";
    case ChangeKind::sysctl: return "sysctl";
  }
  return "unknown";
}

Expected<ChangeKind> change_kind_from_string(std::string_view text) {
  for (auto kind : {ChangeKind::group_create, ChangeKind::group_member, ChangeKind::binary, ChangeKind::file,
                    ChangeKind::symlink, ChangeKind::tracefs_mount, ChangeKind::tracefs_nodes, ChangeKind::sysctl}) {
    if (to_string(kind) == text) return kind;
  }
  return SysError::plain("unknown change kind '" + std::string(text) + "' in the journal");
}

std::string mount_dropin_text(const std::string& group) {
  return "# Installed by tracefs-setup (bpfready); `tracefs-setup revert` removes it.\n"
         "# Group " + group + " gets read-only access to tracefs: gid= gives every tracefs\n"
         "# file and directory (events/ and new instances included) to the group, and\n"
         "# mode= opens the tracefs root to it. The files keep their own modes, so the\n"
         "# group can read but not write; " + std::string(kTracefsUnitName) + " removes the\n"
         "# group write that gid= would give on trace_marker and trace_marker_raw.\n"
         "# Options= replaces the unit's list, so the shipped options are repeated.\n"
         "[Mount]\n"
         "Options=nosuid,nodev,noexec,gid=" + group + ",mode=0750\n";
}

std::string tracefs_unit_text(const std::string& group) {
  return "# Installed by tracefs-setup (bpfready); `tracefs-setup revert` removes it.\n"
         "[Unit]\n"
         "Description=bpfready: read-only tracefs access for group " + group + "\n"
         "Documentation=file:/usr/share/doc/bpfready/tracefs-setup.md\n"
         "DefaultDependencies=no\n"
         "Requires=sys-kernel-tracing.mount\n"
         "After=sys-kernel-tracing.mount local-fs.target\n"
         "Before=sysinit.target shutdown.target\n"
         "Conflicts=shutdown.target\n"
         "ConditionPathIsMountPoint=/sys/kernel/tracing\n"
         "\n"
         "[Service]\n"
         "Type=oneshot\n"
         "RemainAfterExit=yes\n"
         "# gid= hands trace_marker and trace_marker_raw (mode 0220) to the group: no group write.\n"
         "ExecStart=/usr/bin/find /sys/kernel/tracing -group " + group + " -perm /g+w -exec /bin/chmod g-w {} +\n"
         "# Where gid= does not reach events/ (older kernels): event ids readable by the group.\n"
         "ExecStart=/usr/bin/find /sys/kernel/tracing/events -name id ! -group " + group +
         " -exec /bin/chgrp " + group + " {} + -exec /bin/chmod g+r {} +\n"
         "\n"
         "[Install]\n"
         "WantedBy=sysinit.target\n";
}

std::string sysctl_file_text() {
  return "# Installed by tracefs-setup (bpfready); `tracefs-setup revert` removes it.\n"
         "# This kernel refuses perf_event_open without CAP_SYS_ADMIN above 2 (the\n"
         "# Debian/Ubuntu patch); 2 lets CAP_PERFMON holders attach perf-event\n"
         "# tracepoints and still keeps kernel profiling from unprivileged users.\n"
         "kernel.perf_event_paranoid = 2\n";
}

Expected<std::string> binary_caps_text(const std::string& caps) {
  auto mask = parse_cap_list(caps);
  if (!mask) return SysError::plain(escape_for_terminal(mask.error().message));
  if (*mask == 0) return SysError::plain("--caps names no capability");
  const std::string text = caps_to_text(*mask) + "=ep";
  const CapSet parsed(cap_from_text(text.c_str()));
  if (!parsed) return SysError::plain("libcap does not accept '" + text + "'");
  const CapText canonical(cap_to_text(parsed.get(), nullptr));
  if (!canonical) return SysError::plain("libcap cannot format '" + text + "'");
  return std::string(canonical.get());
}

std::vector<NodeChange> tracefs_node_changes(const std::string& target, const std::vector<TracefsNode>& nodes,
                                             gid_t gid) {
  std::vector<NodeChange> changes;
  const std::string events = target + "/events";
  for (const auto& node : nodes) {
    NodeChange change{node.path, node.meta, node.meta.gid, node.meta.permissions()};
    const bool under_events = node.path == events || node.path.rfind(events + "/", 0) == 0;
    if (under_events && S_ISREG(node.meta.mode) && std::filesystem::path(node.path).filename() == "id") {
      change.gid = gid;
      change.mode |= S_IRGRP;
    }
    if (under_events && S_ISDIR(node.meta.mode) && (node.meta.mode & S_IXOTH) == 0 &&
        !(node.meta.gid == gid && (node.meta.mode & S_IXGRP) != 0)) {
      change.gid = gid;
      change.mode |= S_IXGRP;
    }
    if (change.gid == gid) change.mode &= ~static_cast<mode_t>(S_IWGRP);
    if (change.gid != node.meta.gid || change.mode != node.meta.permissions()) changes.push_back(change);
  }
  return changes;
}

json nodes_json(const std::vector<NodeChange>& nodes, bool after) {
  json list = json::array();
  for (const auto& node : nodes) {
    json item = {{"path", node.path}, {"mode", after ? node.mode : node.before.permissions()}};
    if (node.gid != node.before.gid) item["gid"] = after ? node.gid : node.before.gid;
    list.push_back(item);
  }
  return list;
}

Expected<Plan> make_plan(SetupSystem& system, const SetupOptions& options) {
  if (!valid_group_name(options.group)) {
    return SysError::plain("invalid group name '" + escape_for_terminal(options.group) +
                           "' (lower case letters, digits, _ and -)");
  }
  auto caps_text = binary_caps_text(options.caps);
  if (!caps_text) return caps_text.error();
  const BinaryCaps caps{*caps_text, parse_cap_list(options.caps).value_or(0)};
  if (auto scoped = check_caps_scope(options, caps.mask); !scoped) return scoped.error();

  Plan plan{options, {}, {}};
  auto group = plan_group(system, plan);
  if (!group) return group.error();
  const std::optional<gid_t> gid = *group ? std::optional<gid_t>((*group)->gid) : std::nullopt;
  for (const auto& user : distinct(options.users)) {
    if (auto planned = plan_member(system, plan, user, *group); !planned) return planned.error();
  }
  std::vector<std::string> binaries;
  for (const auto& path : options.binaries) {
    auto normal = normalize_path(path);
    if (!normal) return SysError::plain("binary " + normal.error().message);
    // The journal is JSON: a path it cannot hold exactly is refused.
    if (valid_utf8(*normal) != *normal) return SysError::plain("binary path " + escape_for_terminal(path) + " is not UTF-8");
    binaries.push_back(std::move(*normal));
  }
  for (const auto& path : distinct(binaries)) {
    if (auto planned = plan_binary(system, plan, path, gid, caps); !planned) return planned.error();
  }
  if (auto planned = plan_tracefs_access(system, plan, gid, caps.mask); !planned) return planned.error();
  plan.notes.push_back("kernel.unprivileged_bpf_disabled and kernel.kptr_restrict are never changed: CAP_BPF "
                       "makes unprivileged BPF unnecessary, and kptr_restrict does not affect loading or attaching");
  return plan;
}

}  // namespace bpfready
