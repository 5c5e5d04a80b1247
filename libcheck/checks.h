// The checks are rows of one table. Each has a stable id, a title, what it
// needs, and an evaluator over the snapshot; every check runs, and one
// failure never hides another.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libcheck/access.h"
#include "libcheck/snapshot.h"

namespace bpfready {

// info: a fact that limits some other tools but nothing bpfready checks for
// (no kprobes, say); neither a pass nor a problem.
enum class Status { pass, info, warn, fail, skip, error };
inline constexpr Status kAllStatuses[] = {Status::pass, Status::info, Status::warn,
                                          Status::fail, Status::skip, Status::error};
std::string_view to_string(Status status);

struct CheckResult {
  std::string id;
  std::string title;
  std::string group;  // "kernel", "config", "sysctl", "capabilities", "tracefs", "security", "probe"
  Status status = Status::skip;
  std::string reason;                                        // one line
  std::vector<std::pair<std::string, std::string>> evidence;  // values read
  std::string remedy;                                        // exact command, empty if none
  bool security_finding = false;                             // the host is weakened
};

struct CheckDef {
  std::string_view id;
  std::string_view title;
  std::string_view group;
  std::string_view needs;  // what the check reads, for --list-checks
  std::function<CheckResult(const Snapshot&)> evaluate;
};

const std::vector<CheckDef>& check_table();
const CheckDef* find_check(std::string_view id);

// Runs the checks named (all when empty). Unknown ids are not accepted here:
// callers validate them with find_check first.
std::vector<CheckResult> run_checks(const Snapshot& snapshot, const std::vector<std::string>& ids = {});

}  // namespace bpfready
