#include "tools/tracefs-setup/app.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <ostream>
#include <utility>

#include "libcheck/common/fd.h"
#include "libcheck/common/text.h"
#include "tools/tracefs-setup/apply.h"

namespace bpfready {

namespace {

// One tracefs-setup at a time on a host: two applies would interleave their
// journal writes. The lock is held while the descriptor stays open.
Expected<Fd> lock_host() {
  const std::string path =
      ::access("/run/lock", W_OK) == 0 ? "/run/lock/tracefs-setup.lock" : "/run/tracefs-setup.lock";
  Fd lock(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid() || ::flock(lock.get(), LOCK_EX) != 0) {
    const int error = errno;
    return SysError::from_errno(error, "cannot lock " + path);
  }
  return lock;
}

// OPTIONS with every binary as an absolute path: relative ones are taken from
// the working directory on the running host, and refused for an image.
Expected<SetupOptions> absolute_binaries(SetupOptions options, bool live) {
  for (auto& binary : options.binaries) {
    if (binary.empty() || binary.front() == '/') continue;
    if (!live) {
      return SysError::plain("with --root, give binaries as absolute paths inside the image: " + binary);
    }
    binary = std::filesystem::absolute(binary).lexically_normal().string();
  }
  return options;
}

// ROOT as an absolute path without links ("/" is the running host), or why not.
Expected<std::string> root_directory(const std::string& root) {
  std::error_code error;
  const auto canonical = std::filesystem::canonical(root, error);
  if (error || !std::filesystem::is_directory(canonical, error)) {
    return SysError::plain("--root " + escape_for_terminal(root) + " is not a directory");
  }
  return canonical.string();
}

SetupOutcome run_action(SetupSystem& system, SetupAction action, const SetupOptions& options) {
  switch (action) {
    case SetupAction::plan: return run_plan(system, options);
    case SetupAction::apply: return run_apply(system, options);
    case SetupAction::status: return run_status(system);
    case SetupAction::revert: return run_revert(system);
  }
  return {kExitFailure, "tracefs-setup: unknown action\n"};
}

}  // namespace

std::string_view to_string(SetupAction action) {
  switch (action) {
    case SetupAction::plan: return "plan";
    case SetupAction::apply: return "apply";
    case SetupAction::status: return "status";
    case SetupAction::revert: return "revert";
  }
  return "?";
}

int run_tracefs_setup(const SetupCommand& command, std::ostream& out, std::ostream& err) {
  if (command.root.empty()) {
    err << "tracefs-setup: --root needs a directory (an image's root; --root / is the running host)\n";
    return kExitFailure;
  }
  // plan and status only read, so anyone may run them; the journal is
  // replaced by rename, so they never see half of one.
  const bool changes = command.action == SetupAction::apply || command.action == SetupAction::revert;
  if (changes && ::geteuid() != 0) {
    err << "tracefs-setup: must run as root: it changes groups, file ownership and capabilities, and tracefs.\n"
           "Try: sudo tracefs-setup " << to_string(command.action) << " ...\n";
    return kExitFailure;
  }
  const auto root = root_directory(command.root);
  if (!root) {
    err << "tracefs-setup: " << root.error().message << "\n";
    return kExitFailure;
  }
  auto system = make_live_system(*root);
  const auto options = absolute_binaries(command.options, system->live());
  if (!options) {
    err << "tracefs-setup: " << options.error().message << "\n";
    return kExitFailure;
  }
  Fd lock;
  if (system->live() && changes) {
    auto held = lock_host();
    if (!held) {
      err << "tracefs-setup: " << held.error().message << "\n";
      return kExitFailure;
    }
    lock = std::move(*held);
  }
  const SetupOutcome outcome = run_action(*system, command.action, *options);
  (outcome.exit_code == kExitFailure ? err : out) << outcome.text;
  return outcome.exit_code;
}

}  // namespace bpfready
