#include "libcheck/user_probe.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "libcheck/common/creds.h"
#include "libcheck/common/fd.h"
#include "libcheck/common/subprocess.h"
#include "libcheck/parse.h"

namespace bpfready {

namespace {

// USER as a name, or else as a numeric uid.
Expected<std::optional<UserRecord>> find_user(const std::string& user) {
  auto by_name = find_user_by_name(user);
  if (!by_name || *by_name) return by_name;
  if (const auto uid = parse_sysctl_int(user); uid && *uid >= 0) return find_user_by_uid(static_cast<uid_t>(*uid));
  return by_name;
}

}  // namespace

Expected<Subject> subject_for_user(const std::string& user, const std::optional<FileCaps>& binary_caps,
                                   std::uint64_t bounding) {
  auto found = find_user(user);
  if (!found) return found.error();
  if (!*found) return SysError::plain("no such user: '" + user + "'");
  Subject subject;
  subject.name = (*found)->name;
  subject.uid = (*found)->uid;
  subject.gid = (*found)->gid;
  subject.groups = groups_of(subject.name, subject.gid);
  if (subject.uid == 0) {
    subject.effective_caps = bounding;
  } else if (binary_caps) {
    subject.effective_caps = binary_caps->permitted & bounding;
  }
  return subject;
}

bool may_execute(const FileMeta& file, const Subject& subject) {
  // CAP_DAC_OVERRIDE allows exec when any execute bit is set.
  if (has_cap(subject.effective_caps, kCapDacOverride) && subject.uid == 0) {
    return (file.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  }
  if (file.uid == subject.uid) return (file.mode & S_IXUSR) != 0;
  if (subject.in_group(file.gid)) return (file.mode & S_IXGRP) != 0;
  return (file.mode & S_IXOTH) != 0;
}

namespace {

nlohmann::json to_json(const ProbeOutcome& o) {
  return {{"flavour", static_cast<int>(o.flavour)}, {"ok", o.ok},       {"stage", static_cast<int>(o.stage)},
          {"errnum", o.errnum},                     {"detail", o.detail}, {"expected", o.expected},
          {"counted", o.counted}};
}

ProbeOutcome from_json(const nlohmann::json& j) {
  ProbeOutcome o;
  o.flavour = static_cast<ProbeFlavour>(j.at("flavour").get<int>());
  o.ok = j.at("ok").get<bool>();
  o.stage = static_cast<ProbeStage>(j.at("stage").get<int>());
  o.errnum = j.at("errnum").get<int>();
  o.detail = j.at("detail").get<std::string>();
  o.expected = j.at("expected").get<std::uint64_t>();
  o.counted = j.at("counted").get<std::uint64_t>();
  return o;
}

// In the child: become SUBJECT with exactly its capabilities.
Expected<void> become(const Subject& subject) {
  if (::prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) return SysError::from_errno(errno, "prctl(PR_SET_KEEPCAPS)");
  if (auto switched = switch_ids(subject.uid, subject.gid, subject.groups); !switched) return switched;
  return set_process_caps(subject.effective_caps);
}

// The child's side: become SUBJECT, probe, and write the outcomes as JSON.
// Nothing may throw out of it: the child would go on running its parent's code.
int probe_as_child(const Subject& subject, const ProbeOptions& options, int out_fd) noexcept {
  try {
    nlohmann::json reply;
    if (auto became = become(subject); !became) {
      reply = {{"error", became.error().message}};
    } else {
      auto& outcomes = reply["outcomes"] = nlohmann::json::array();
      for (const auto& outcome : run_all_probes(options)) outcomes.push_back(to_json(outcome));
    }
    return write_all(out_fd, reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) ? 0 : 1;
  } catch (...) {
    return 1;
  }
}

// "30 s", "1500 ms".
std::string duration_text(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
  return std::to_string(duration.count()) + " ms";
}

}  // namespace

Expected<std::vector<ProbeOutcome>> run_probes_as(const Subject& subject, const ProbeOptions& options,
                                                  std::chrono::milliseconds timeout) {
  auto child = run_in_child([&](int out_fd) { return probe_as_child(subject, options, out_fd); }, timeout);
  if (!child) return child.error();
  if (child->timed_out) {
    return SysError{ETIMEDOUT, "the probe process as " + subject.name + " did not finish within " +
                                   duration_text(timeout) + " (was it stopped?); it was killed"};
  }
  if (!WIFEXITED(child->wait_status) || WEXITSTATUS(child->wait_status) != 0) {
    return SysError::plain("the probe process as " + subject.name + " " + describe_wait_status(child->wait_status));
  }
  try {
    const auto reply = nlohmann::json::parse(child->output);
    if (reply.contains("error")) return SysError::plain("switching to " + subject.name + ": " + reply.at("error").get<std::string>());
    std::vector<ProbeOutcome> outcomes;
    for (const auto& item : reply.at("outcomes")) outcomes.push_back(from_json(item));
    return outcomes;
  } catch (const nlohmann::json::exception& e) {
    return SysError::plain(std::string("unreadable reply from the probe process: ") + e.what());
  }
}

}  // namespace bpfready
