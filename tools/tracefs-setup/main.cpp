// tracefs-setup: makes non-root eBPF profiling work for one group, with the
// least privilege, persistently, and undoably. The logic lives in
// libcheck/setup_*; this is argument parsing, the root check and exit codes.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>

#include "tools/tracefs-setup/apply.h"

namespace {

constexpr int kExitError = 2;

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
    "2 usage error, not root, or a failure (apply rolls back what it did).\n"
    "\n"
    "Examples:\n"
    "  tracefs-setup plan --user alice --binary /usr/bin/syscount\n"
    "  tracefs-setup apply --user alice --binary /usr/bin/syscount\n"
    "  tracefs-setup apply --group perfusers --user bob --binary /opt/tools/tp-tool --tracefs-read\n"
    "  tracefs-setup status\n"
    "  tracefs-setup revert\n"
    "  tracefs-setup --root /srv/image apply --binary /usr/bin/syscount   # files only, for an image\n";

void add_change_options(CLI::App& command, bpfready::SetupOptions& options) {
  command.add_option("--group,-g", options.group, "group whose members may profile (a system group, created if missing)")
      ->capture_default_str();
  command.add_option("--user,-u", options.users, "user to add to the group (repeatable; must exist)");
  command.add_option("--binary,-b", options.binaries,
                     "profiling binary: root:GROUP 0750 with the capabilities below (repeatable)");
  command.add_flag("--tracefs-read", options.tracefs_read,
                   "also give the group read-only tracefs access (for perf-event tracepoint tools)");
  command.add_option("--caps", options.caps, "file capabilities for the binaries")->capture_default_str();
}

int run(int argc, char** argv) {
  CLI::App app{kDescription, "tracefs-setup"};
  app.set_version_flag("--version", std::string("tracefs-setup ") + BPFREADY_VERSION);
  app.require_subcommand(1);
  std::string root = "/";
  app.add_option("--root", root, "write files (and accounts) under this directory instead of / "
                                 "(images, packaging); the running kernel is left alone")
      ->capture_default_str();

  bpfready::SetupOptions options;
  auto* plan = app.add_subcommand("plan", "print every change, why, and the shell command; change nothing");
  auto* apply = app.add_subcommand("apply", "make the changes, journaling each; rolls back on failure");
  auto* status = app.add_subcommand("status", "show what is applied and whether it still holds (exit 1 on drift)");
  auto* revert = app.add_subcommand("revert", "restore exactly what was there before apply");
  add_change_options(*plan, options);
  add_change_options(*apply, options);
  (void)status;
  (void)revert;

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitError;
  }

  if (::geteuid() != 0) {
    std::cerr << "tracefs-setup: must run as root: it changes groups, file ownership and capabilities, and tracefs.\n"
                 "Try: sudo tracefs-setup " << app.get_subcommands().front()->get_name() << " ...\n";
    return kExitError;
  }
  const bool live = root.empty() || std::filesystem::path(root) == "/";
  if (!live && !std::filesystem::is_directory(root)) {
    std::cerr << "tracefs-setup: --root " << root << " is not a directory\n";
    return kExitError;
  }
  for (auto& binary : options.binaries) {
    if (binary.empty() || binary.front() == '/') continue;
    if (!live) {
      std::cerr << "tracefs-setup: with --root, give binaries as absolute paths inside the image: " << binary << "\n";
      return kExitError;
    }
    binary = std::filesystem::absolute(binary).lexically_normal().string();
  }

  if (live) {
    // One tracefs-setup at a time on a host: two applies would interleave their journal writes.
    const char* lock_path = ::access("/run/lock", W_OK) == 0 ? "/run/lock/tracefs-setup.lock" : "/run/tracefs-setup.lock";
    const int lock_fd = ::open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX) != 0) {
      std::cerr << "tracefs-setup: cannot lock " << lock_path << ": " << std::strerror(errno) << "\n";
      return kExitError;
    }
    // The descriptor stays open, and the lock held, until the process exits.
  }

  auto system = bpfready::make_live_system(root);
  bpfready::SetupOutcome outcome;
  if (plan->parsed()) {
    outcome = bpfready::run_plan(*system, options);
  } else if (apply->parsed()) {
    outcome = bpfready::run_apply(*system, options);
  } else if (status->parsed()) {
    outcome = bpfready::run_status(*system);
  } else {
    outcome = bpfready::run_revert(*system);
  }
  (outcome.exit_code == kExitError ? std::cerr : std::cout) << outcome.text;
  return outcome.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tracefs-setup: internal error: " << e.what() << "\n";
    return kExitError;
  }
}
