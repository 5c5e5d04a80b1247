// Small reads of the running host's /proc, where no SystemRoot applies
// (the tools act on the live system).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace bpfready {

// "kernel.perf_event_paranoid" -> "/proc/sys/kernel/perf_event_paranoid".
std::string sysctl_path(std::string_view key);

// The thread group (process) of PID, which may name a thread; nullopt when
// there is no such process.
std::optional<pid_t> tgid_of(pid_t pid);

// This executable's path, empty when /proc/self/exe cannot be read.
std::string self_exe();

}  // namespace bpfready
