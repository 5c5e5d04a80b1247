#include "libcheck/user_probe.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "libcheck/parse.h"

namespace bpfready {

Expected<Subject> subject_for_user(const std::string& user, const std::optional<FileCaps>& binary_caps,
                                   std::uint64_t bounding) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int rc = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    if (const auto uid = parse_sysctl_int(user); uid && *uid >= 0) {
      rc = ::getpwuid_r(static_cast<uid_t>(*uid), &entry, buffer.data(), buffer.size(), &found);
    }
  }
  if (found == nullptr) {
    return rc != 0 ? SysError::from_errno(rc, "look up user '" + user + "'")
                   : SysError::plain("no such user: '" + user + "'");
  }
  Subject subject;
  subject.name = found->pw_name;
  subject.uid = found->pw_uid;
  subject.gid = found->pw_gid;
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(found->pw_name, found->pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count) + 64);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<std::size_t>(count));
  subject.groups = std::move(groups);
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

// In the child: become SUBJECT with exactly its capabilities. Returns an
// error message, empty on success.
std::string become(const Subject& subject) {
  if (::prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) return "prctl(PR_SET_KEEPCAPS) failed";
  if (::setgroups(subject.groups.size(), subject.groups.data()) != 0) return "setgroups failed";
  if (::setresgid(subject.gid, subject.gid, subject.gid) != 0) return "setresgid failed";
  if (::setresuid(subject.uid, subject.uid, subject.uid) != 0) return "setresuid failed";
  cap_t caps = cap_init();
  if (caps == nullptr) return "cap_init failed";
  for (int cap = 0; cap < 64; ++cap) {
    if (!has_cap(subject.effective_caps, cap) || !CAP_IS_SUPPORTED(cap)) continue;
    const cap_value_t value = cap;
    cap_set_flag(caps, CAP_PERMITTED, 1, &value, CAP_SET);
    cap_set_flag(caps, CAP_EFFECTIVE, 1, &value, CAP_SET);
  }
  const int rc = cap_set_proc(caps);
  cap_free(caps);
  if (rc != 0) return "cap_set_proc failed";
  if (cap_reset_ambient() != 0) return "clearing ambient capabilities failed";
  return {};
}

}  // namespace

Expected<std::vector<ProbeOutcome>> run_probes_as(const Subject& subject, const ProbeOptions& options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return SysError::from_errno(errno, "pipe");
  const pid_t child = ::fork();
  if (child < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return SysError::from_errno(err, "fork");
  }
  if (child == 0) {
    ::close(fds[0]);
    nlohmann::json reply;
    if (const auto error = become(subject); !error.empty()) {
      reply = {{"error", error + ": " + std::strerror(errno)}};
    } else {
      const auto [raw, perf] = run_both_probes(options);
      reply["outcomes"] = {to_json(raw), to_json(perf)};
    }
    const std::string text = reply.dump();
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(fds[1], text.data() + written, text.size() - written);
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return SysError::plain("the probe process as " + subject.name + " died");
  try {
    const auto reply = nlohmann::json::parse(text);
    if (reply.contains("error")) return SysError::plain("switching to " + subject.name + ": " + reply.at("error").get<std::string>());
    std::vector<ProbeOutcome> outcomes;
    for (const auto& item : reply.at("outcomes")) outcomes.push_back(from_json(item));
    return outcomes;
  } catch (const nlohmann::json::exception& e) {
    return SysError::plain(std::string("unreadable reply from the probe process: ") + e.what());
  }
}

}  // namespace bpfready
