// syscount: numbers out of range or not numbers at all, bad targets, bad
// output files, unknown options and missing values. Where a case needs a
// command it is /bin/true, and PIDs get -d 1, so that a bad option that is
// accepted shows as exit 0 rather than as a run that does not end.
#include <string>

#include "battery/battery.h"

namespace bpfready::battery {

namespace {

using Words = std::vector<std::string>;

BadCase plain(std::string name, Words words) {
  return {std::move(name), "syscount", [words](const Scene&) { return words; }};
}

BadCase built(std::string name, std::function<Words(const Scene&)> words) {
  return {std::move(name), "syscount", std::move(words)};
}

std::string many_pids(int count) {
  std::string list;
  for (int pid = 2; pid < 2 + count; ++pid) list += (list.empty() ? "" : ",") + std::to_string(pid);
  return list;
}

std::vector<BadCase> number_cases() {
  return {
      plain("Syscount_IntervalNan", {"-i", "nan", "--", "/bin/true"}),
      plain("Syscount_IntervalHuge", {"-i", "1e10", "--", "/bin/true"}),
      plain("Syscount_IntervalInf", {"-i", "inf", "--", "/bin/true"}),
      plain("Syscount_IntervalZero", {"-i", "0", "--", "/bin/true"}),
      plain("Syscount_IntervalEmpty", {"-i", "", "--", "/bin/true"}),
      plain("Syscount_DurationNan", {"-d", "nan", "--", "/bin/true"}),
      plain("Syscount_DurationNegative", {"-d", "-1", "--", "/bin/true"}),
      plain("Syscount_DurationHuge", {"-d", "1e308", "--", "/bin/true"}),
      plain("Syscount_DurationInf", {"-d", "inf", "--", "/bin/true"}),
      plain("Syscount_DurationNotANumber", {"-d", "ten", "--", "/bin/true"}),
      plain("Syscount_TopNegative", {"-T", "-1", "--", "/bin/true"}),
      plain("Syscount_TopOverflow", {"-T", "99999999999999999999999", "--", "/bin/true"}),
      plain("Syscount_TopNotANumber", {"-T", "abc", "--", "/bin/true"}),
      plain("Syscount_MapEntriesZero", {"--map-entries", "0", "--", "/bin/true"}),
      plain("Syscount_MapEntriesHuge", {"--map-entries", "99999999999", "--", "/bin/true"}),
  };
}

std::vector<BadCase> filter_cases() {
  return {
      plain("Syscount_SyscallNumberOverflow", {"--syscall", "syscall_99999999999", "--", "/bin/true"}),
      plain("Syscount_SyscallNumberNegative", {"--syscall", "syscall_-1", "--", "/bin/true"}),
      plain("Syscount_UnknownSyscall", {"--syscall", "frobnicate", "--", "/bin/true"}),
      plain("Syscount_EmptySyscall", {"--syscall", "", "--", "/bin/true"}),
      plain("Syscount_SyscallListOfNothing", {"--syscall", ",", "--", "/bin/true"}),
      plain("Syscount_UnknownCategory", {"--category", "bogus", "--", "/bin/true"}),
      plain("Syscount_CategoryWithNewline", {"--category", "net\nwork", "--", "/bin/true"}),
      plain("Syscount_SyscallWithEscapeSequence", {"--syscall", "\x1b[2J\x1b[31mred", "--", "/bin/true"}),
  };
}

std::vector<BadCase> target_cases() {
  return {
      built("Syscount_NonexistentPid", [](const Scene&) { return Words{"-p", std::to_string(unused_pid()), "-d", "1"}; }),
      plain("Syscount_ThreeThousandPids", {"-p", many_pids(3000), "-d", "1"}),
      plain("Syscount_PidZero", {"-p", "0", "-d", "1"}),
      plain("Syscount_PidNegative", {"-p", "-5", "-d", "1"}),
      plain("Syscount_PidNotANumber", {"-p", "abc", "-d", "1"}),
      plain("Syscount_PidListOfNothing", {"-p", ",", "-d", "1"}),
      plain("Syscount_PidOverflow", {"-p", "99999999999", "-d", "1"}),
      plain("Syscount_PidHex", {"-p", "0x10", "-d", "1"}),
      plain("Syscount_PidWithoutValue", {"-p"}),
      plain("Syscount_AllAndCommand", {"-a", "--", "/bin/true"}),
      plain("Syscount_AllAndPid", {"-a", "-p", "1", "-d", "1"}),
      plain("Syscount_PidAndCommand", {"-p", "1", "--", "/bin/true"}),
      plain("Syscount_NothingToTrace", {}),
      plain("Syscount_OnlyDashes", {"--"}),
      plain("Syscount_OnlyAFlag", {"-e"}),
      plain("Syscount_CommandNotFound", {"--", "/nonexistent/bpfr-command"}),
      plain("Syscount_EmptyCommand", {"--", ""}),
  };
}

std::vector<BadCase> output_and_option_cases() {
  return {
      plain("Syscount_OutputEmpty", {"-o", "", "--", "/bin/true"}),
      plain("Syscount_OutputDevFull", {"-o", "/dev/full", "--", "/bin/true"}),
      built("Syscount_OutputFifo",
            [](const Scene& s) { return Words{"-o", s.make_fifo("report.fifo"), "--", "/bin/true"}; }),
      built("Syscount_OutputDirectory", [](const Scene& s) { return Words{"-o", s.dir(), "--", "/bin/true"}; }),
      plain("Syscount_OutputInMissingDirectory", {"-o", "/nonexistent/bpfr-dir/report", "--", "/bin/true"}),
      plain("Syscount_OutputWithoutValue", {"-o"}),
      plain("Syscount_IntervalWithoutValue", {"-i"}),
      plain("Syscount_UnknownLongOption", {"--frobnicate", "--", "/bin/true"}),
      plain("Syscount_UnknownShortOption", {"-Z", "--", "/bin/true"}),
      plain("Syscount_FlagWithAValue", {"--json=maybe", "--", "/bin/true"}),
  };
}

}  // namespace

std::vector<BadCase> syscount_cases() {
  std::vector<BadCase> cases;
  for (auto&& group : {number_cases(), filter_cases(), target_cases(), output_and_option_cases()}) {
    cases.insert(cases.end(), group.begin(), group.end());
  }
  return cases;
}

}  // namespace bpfready::battery
