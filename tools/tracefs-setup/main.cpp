// tracefs-setup: makes non-root eBPF profiling work for one group, with the
// least privilege, persistently, and undoably. This is the command line; the
// tool itself is run_tracefs_setup (app.h) and the code around it.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>
#include <utility>

#include "libcheck/common/text.h"
#include "tools/tracefs-setup/app.h"
#include "tools/tracefs-setup/apply.h"

namespace {

const char* const kDescription =
    "tracefs-setup: lets the members of one group run eBPF profiling tools without root.\n"
    "\n"
    "It creates a system group (default: bpfready), adds the users you name, and makes each binary you\n"
    "name root:GROUP 0750 with exactly cap_bpf,cap_perfmon (enough for raw-tracepoint tools such as\n"
    "syscount; the pattern of the kernel's perf-security guide). Only with --tracefs-read, for tools that\n"
    "attach perf-event tracepoints, does it give the group read-only access to tracefs (mount options\n"
    "gid=GROUP,mode=0750, kept across reboots by a systemd drop-in). It never enables unprivileged BPF\n"
    "and never touches kptr_restrict; it lowers perf_event_paranoid to 2 only when a test proves the\n"
    "kernel refuses perf events above 2 (Debian/Ubuntu patch).\n"
    "\n"
    "Every change is journaled with the value before it in /var/lib/bpfready/tracefs-setup.json;\n"
    "`revert` restores exactly that, and a second `apply` changes nothing.\n"
    "\n"
    "Exit status: 0 done (status: everything holds), 1 status found drift or nothing applied,\n"
    "2 usage error, apply or revert not as root, or a failure (apply rolls back what it did).\n"
    "plan and status change nothing and work for any user.\n"
    "\n"
    "Examples:\n"
    "  tracefs-setup plan --user alice --binary /usr/bin/syscount\n"
    "  tracefs-setup apply --user alice --binary /usr/bin/syscount\n"
    "  tracefs-setup apply --group perfusers --user bob --binary /opt/tools/tp-tool --tracefs-read\n"
    "  tracefs-setup status\n"
    "  tracefs-setup revert\n"
    "  tracefs-setup --root /srv/image apply --binary /usr/bin/syscount   # files only, for an image\n"
    "\n"
    "See tracefs-setup(8) and /usr/share/doc/bpfready/tracefs-setup.md.\n";

void add_change_options(CLI::App& command, bpfready::SetupOptions& options) {
  command.add_option("--group,-g", options.group, "group whose members may profile (a system group, created if missing)")
      ->capture_default_str();
  command.add_option("--user,-u", options.users, "user to add to the group (repeatable; must exist)");
  command.add_option("--binary,-b", options.binaries,
                     "profiling binary: root:GROUP 0750 with the capabilities below (repeatable)");
  command.add_flag("--tracefs-read", options.tracefs_read,
                   "also give the group read-only tracefs access (for perf-event tracepoint tools)");
  command.add_option("--caps", options.caps, "file capabilities for the binaries (more than the default needs --force)")
      ->capture_default_str();
  command.add_flag("--force", options.force,
                   "allow --caps beyond cap_bpf,cap_perfmon (near-root for every member of the group)");
}

int run(int argc, char** argv) {
  using bpfready::SetupAction;
  CLI::App app{kDescription, "tracefs-setup"};
  app.set_version_flag("--version", std::string("tracefs-setup ") + BPFREADY_VERSION);
  // Checked after parsing, so that a mistyped command is named as such.
  app.require_subcommand(0, 1);
  app.allow_extras();
  bpfready::SetupCommand command;
  app.add_option("--root", command.root, "write files (and accounts) under this directory instead of / "
                                         "(images, packaging); the running kernel is left alone")
      ->capture_default_str();

  const std::pair<CLI::App*, SetupAction> actions[] = {
      {app.add_subcommand("plan", "print every change, why, and the shell command; change nothing"), SetupAction::plan},
      {app.add_subcommand("apply", "make the changes, journaling each; rolls back on failure"), SetupAction::apply},
      {app.add_subcommand("status", "show what is applied and whether it still holds (exit 1 on drift)"),
       SetupAction::status},
      {app.add_subcommand("revert", "restore exactly what was there before apply"), SetupAction::revert},
  };
  add_change_options(*actions[0].first, command.options);
  add_change_options(*actions[1].first, command.options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with status 0.
    if (e.get_exit_code() == 0) return app.exit(e) == 0 ? bpfready::kExitDone : bpfready::kExitFailure;
    std::cerr << "tracefs-setup: " << bpfready::escape_for_terminal(e.what()) << " (see --help)\n";
    return bpfready::kExitFailure;
  }
  bool chosen = false;
  for (const auto& [subcommand, action] : actions) {
    if (subcommand->parsed()) command.action = action;
    chosen = chosen || subcommand->parsed();
  }
  const auto extras = app.remaining(true);
  if (!chosen || !extras.empty()) {
    const std::string commands = " (one of plan, apply, status, revert; see --help)";
    if (chosen) {
      std::cerr << "tracefs-setup: unexpected argument '" << bpfready::escape_for_terminal(extras.front())
                << "' (see --help)\n";
    } else if (!extras.empty()) {
      std::cerr << "tracefs-setup: unknown command '" << bpfready::escape_for_terminal(extras.front()) << "'"
                << commands << "\n";
    } else {
      std::cerr << "tracefs-setup: a command is required" << commands << "\n";
    }
    return bpfready::kExitFailure;
  }
  return bpfready::run_tracefs_setup(command, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  try { return run(argc, argv); }
  catch (const std::exception& e) { std::cerr << "tracefs-setup: internal error: " << e.what() << "\n"; }
  catch (...) { std::cerr << "tracefs-setup: internal error\n"; }
  return 2;
}
