// syscount's command line: parsing and validation into SyscountOptions, with
// no side effects, so that unit tests can cover every rule.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "libcheck/probe.h"
#include "tools/syscount/report.h"

namespace bpfready {

// The ranges the command line accepts (documented in --help and
// docs/syscount.md). Durations: -d and -i, in seconds.
inline constexpr double kMinSeconds = 0.001;
inline constexpr double kMaxSeconds = 31.0 * 24 * 60 * 60;  // 2678400: 31 days
inline constexpr std::size_t kMaxTop = 1024;               // -T: every syscall slot
inline constexpr std::uint32_t kMaxMapEntries = 1U << 24;  // --map-entries
// -p: distinct PIDs, each process watched through a pidfd.
inline constexpr std::size_t kMaxPids = 512;

struct SyscountOptions {
  std::vector<std::string> command;  // after "--"
  std::vector<pid_t> pids;           // -p, without duplicates
  bool all = false;                  // -a
  std::optional<double> duration;    // -d seconds
  std::optional<double> interval;    // -i seconds
  bool json = false;
  // -o FILE (never empty; "-": stdout). Empty: the report goes to stderr
  // when a command runs (its stdout is its own), to stdout with -p or -a.
  std::string output;
  std::optional<std::string> user;   // -u USER: run the command as USER (root only)
  bool verbose = false;
  bool list = false;                 // --list: print the syscall table and exit
  std::uint32_t map_entries = 16384; // per-process/thread breakdown entries
  // --flavour: the variant of the BPF programs (tp_btf or raw_tp); nullopt
  // (auto): the one the pre-flight picks for this kernel.
  std::optional<ProbeFlavour> flavour;
  SyscountReportOptions report;

  // --- cgroup filter (--cgroup, --unit): a target of its own ---
  std::string cgroup;  // --cgroup PATH; empty: none
  std::string unit;    // --unit NAME, as given; empty: none
  [[nodiscard]] bool by_cgroup() const { return !cgroup.empty() || !unit.empty(); }

  [[nodiscard]] TargetMode mode() const {
    if (by_cgroup()) return TargetMode::cgroup;
    return all ? TargetMode::all : (pids.empty() ? TargetMode::command : TargetMode::pids);
  }
};

// Parsing ended without options to run with: --help (code 0, text to
// stdout) or a usage error (code 2, one line for stderr).
struct CliExit {
  int code = 0;
  std::string text;
};

std::variant<SyscountOptions, CliExit> parse_syscount_args(const std::vector<std::string>& args);

// The table printed by --list: "NR NAME CATEGORY" lines.
std::string syscall_table_text();

}  // namespace bpfready
