// The kernel versions where what bpfready relies on first appeared. The
// checks and the permission model read the same constants, so a report line
// and a prediction can never disagree about a floor.
#pragma once

#include "libcheck/parse.h"

namespace bpfready::floors {

// BPF_RAW_TRACEPOINT_OPEN: raw_tp programs, which need no tracefs.
inline constexpr KernelVersion kRawTracepoint{4, 17, 0};
// BPF global variables (.data, .rodata, .bss maps): the probes and both
// syscount variants configure their programs through them.
inline constexpr KernelVersion kGlobalData{5, 2, 0};
// CAP_BPF and CAP_PERFMON; before this, loading tracing programs needs CAP_SYS_ADMIN.
inline constexpr KernelVersion kCapBpf{5, 8, 0};
// bpf_get_current_task_btf(), which typed (tp_btf) programs such as
// syscount's use; typed tracepoints themselves are older (5.5).
inline constexpr KernelVersion kTaskBtfHelper{5, 11, 0};
// BPF memory is charged to the memory cgroup instead of RLIMIT_MEMLOCK.
inline constexpr KernelVersion kMemcgCharge{5, 11, 0};

}  // namespace bpfready::floors
