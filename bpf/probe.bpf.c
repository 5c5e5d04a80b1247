// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The end-to-end readiness probe: counts what one thread does, through either
 * a raw tracepoint on syscall entry (needs CAP_BPF+CAP_PERFMON only) or a
 * perf-event tracepoint (also needs the tracefs event id and perf_event_open).
 * User space makes an exact number of calls and expects to read exactly that
 * number back. The filter is one thread, not the process, so the flavours can
 * be proven at the same time from their own threads.
 *
 * The perf-event flavour attaches to task/task_rename, which the probing
 * thread fires once per prctl(PR_SET_NAME): the same permissions as any
 * tracefs tracepoint (the event id from tracefs, perf_event_open, attach),
 * and while it is attached it runs on renames only, not on every syscall of
 * every process of the host. Where the kernel has no task_rename event,
 * probe_perf_sys on raw_syscalls/sys_enter stands in. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "probe.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile __u32 target_tid = 0;
const volatile __s64 target_syscall = -1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROBE_SLOT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

/* Layout of tracefs events/raw_syscalls/sys_enter/format. */
struct raw_syscalls_sys_enter {
	unsigned short common_type;
	unsigned char common_flags;
	unsigned char common_preempt_count;
	int common_pid;
	long id;
	unsigned long args[6];
};

static __always_inline void count(__u32 slot, long id)
{
	if (id != target_syscall)
		return;
	if ((__u32)bpf_get_current_pid_tgid() != target_tid)
		return;
	__u64 *value = bpf_map_lookup_elem(&hits, &slot);
	if (value)
		__sync_fetch_and_add(value, 1);
}

SEC("raw_tp/sys_enter")
int probe_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	count(PROBE_SLOT_RAW_TP, (long)ctx->args[1]);
	return 0;
}

/* The fallback: syscall entry through the tracefs event. */
SEC("tp/raw_syscalls/sys_enter")
int probe_perf_sys(struct raw_syscalls_sys_enter *ctx)
{
	count(PROBE_SLOT_PERF_TP, ctx->id);
	return 0;
}

/* Every task_rename of the target thread: only its prctl(PR_SET_NAME) calls
 * rename it while the probe runs. The event's fields are not read. */
SEC("tp/task/task_rename")
int probe_perf_tp(void *ctx)
{
	if ((__u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	__u32 slot = PROBE_SLOT_PERF_TP;
	__u64 *value = bpf_map_lookup_elem(&hits, &slot);
	if (value)
		__sync_fetch_and_add(value, 1);
	return 0;
}
