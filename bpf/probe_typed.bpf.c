// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The readiness probe of the typed flavour: the program type, helper and
 * field reads that syscount's entry program uses (tp_btf/sys_enter,
 * bpf_get_current_task_btf(), CO-RE reads of task_struct), so that proving it
 * proves what syscount loads. It is its own object because libbpf refuses to
 * load any object with CO-RE relocations on a kernel without BTF, and the
 * untyped probes in probe.bpf.c must still load there. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Only the fields read; CO-RE relocates their offsets against the kernel's BTF. */
struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

struct pt_regs;

/* Set before load. */
const volatile __u32 target_tid = 0;
const volatile __s64 target_syscall = -1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 slot = 0;

	if (id != target_syscall || (__u32)task->pid != target_tid)
		return 0;
	__u64 *value = bpf_map_lookup_elem(&hits, &slot);
	if (value)
		__sync_fetch_and_add(value, 1);
	return 0;
}
