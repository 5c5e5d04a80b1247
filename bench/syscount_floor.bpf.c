// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The floors syscount is measured against (bench/syscount_bench.sh); the
 * benchmark attaches one variant at a time (bench/syscount_attach.c).
 *
 * - syscount_floor: the cheapest possible program on sys_enter, what any
 *   raw-tracepoint tool costs every syscall on the host before doing any
 *   work. Counting cannot cost less.
 * - floor_who: the floor plus one call of bpf_get_current_pid_tgid(), the
 *   cheapest way for a raw tracepoint program to learn who calls, which
 *   counting one set of processes cannot skip (the kernel makes it a real
 *   call: it inlines neither this helper nor bpf_get_current_task_btf() on
 *   x86-64 up to 6.18 at least). The result is dropped; the call stays, as
 *   the compiler cannot see into a helper.
 * - floor_lat_enter + floor_lat_exit: two hooks and two clock reads, what
 *   timing each call exactly (entry to exit) cannot cost less than, whatever
 *   it keeps. The time is kept in one word, racy on purpose: nothing cheaper
 *   keeps the compiler from dropping the clock reads. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("raw_tp/sys_enter")
int syscount_floor(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int floor_who(struct bpf_raw_tracepoint_args *ctx)
{
	bpf_get_current_pid_tgid();
	return 0;
}

__u64 floor_entered;
__u64 floor_elapsed;

SEC("raw_tp/sys_enter")
int floor_lat_enter(struct bpf_raw_tracepoint_args *ctx)
{
	floor_entered = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tp/sys_exit")
int floor_lat_exit(struct bpf_raw_tracepoint_args *ctx)
{
	floor_elapsed += bpf_ktime_get_ns() - floor_entered;
	return 0;
}
