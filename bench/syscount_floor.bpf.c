// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The cheapest possible program on sys_enter: what any raw-tracepoint tool
 * costs every syscall on the host, before doing any work. The benchmark
 * measures syscount's cost to unrelated processes against it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("raw_tp/sys_enter")
int syscount_floor(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}
