// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* syscount: counts every syscall of a set of processes (or of the whole
 * system) from one typed raw tracepoint on sys_enter, with a second program
 * on sys_exit only when errors or latency are wanted. This is the default
 * variant, for kernels with BTF and bpf_get_current_task_btf() (5.11+);
 * syscount_raw.bpf.c is the fallback for the others. What both count with
 * is in syscount_common.bpf.h.
 *
 * Attach points are typed raw tracepoints (tp_btf/), which need CAP_BPF +
 * CAP_PERFMON and never touch tracefs or perf_event_open.
 *
 * Children are followed from sched_process_fork, which runs before the child
 * is woken, so a child of a tracked process is tracked before its first
 * syscall. */
/* The fork hook clears a new thread's in-flight slot (see count_entry). */
#define SYSCOUNT_CLEARS_AT_FORK 1
#include "syscount_common.bpf.h"

/* Minimal kernel types for typed (tp_btf) arguments; CO-RE relocates the
 * offsets against the running kernel's BTF. */
struct pt_regs {
#if defined(__TARGET_ARCH_arm64)
	long syscallno;
#else
	long orig_ax;
#endif
} __attribute__((preserve_access_index));

struct signal_struct {
	struct {
		int counter;
	} live;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	struct signal_struct *signal;
} __attribute__((preserve_access_index));

static __always_inline bool is_tracked(__u32 tgid)
{
	if (!filter_tgids)
		return in_cgroup();
	return *track_slot(tgid) == SYSCOUNT_TRACKED;
}

/* tp_btf rather than raw_tp: the same raw tracepoint, but typed, so the
 * current task comes from bpf_get_current_task_btf(), which the kernel inlines
 * (6.14+, x86-64) into one per-CPU load, and its tgid is one more load. An
 * unrelated process then pays three loads and a compare over the bare cost of
 * an attached program, with no helper call. */
SEC("tp_btf/sys_enter")
int BPF_PROG(syscount_enter, struct pt_regs *regs, long nr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = (__u32)task->tgid;

	if (filter_tgids) {
		__u8 state = *track_slot(tgid);
		if (state != SYSCOUNT_TRACKED) {
			if (state != SYSCOUNT_ARMED || !is_execve(nr))
				return 0;
			*track_slot(tgid) = SYSCOUNT_TRACKED;
		}
	} else if (!in_cgroup()) {
		return 0;
	}

	count_entry(((__u64)tgid << 32) | (__u32)task->pid, nr);
	return 0;
}

/* The slot is the one kept at entry, not the registers' syscall number:
 * rt_sigreturn restores them, so at its exit they hold the interrupted
 * context's (orig_ax -1, or the restarted call's). */
SEC("tp_btf/sys_exit")
int BPF_PROG(syscount_exit, struct pt_regs *regs, long ret)
{
	/* As on entry: the inlined task helper, not a helper call. */
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = (__u32)task->tgid;

	(void)regs;
	if (!is_tracked(tgid))
		return 0;
	count_return(((__u64)tgid << 32) | (__u32)task->pid, ret);
	return 0;
}

/* Runs in the parent before the child is woken: a child of a tracked
 * process is tracked before its first syscall. A new thread's in-flight
 * slot is cleared, since a TID can be reused after a thread died inside a
 * call that never returned. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(syscount_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = (__u32)parent->tgid;
	__u32 child_tgid = (__u32)child->tgid;

	if (want_exit())
		clear_inflight((__u32)child->pid);
	if (!filter_tgids || child_tgid == parent_tgid)
		return 0;
	if (*track_slot(parent_tgid) == SYSCOUNT_TRACKED)
		*track_slot(child_tgid) = SYSCOUNT_TRACKED;
	return 0;
}

/* Set before load from the kernel BTF: whether sched_process_exit passes
 * group_dead after the task (6.16+). */
const volatile __u8 exit_passes_group_dead = 0;

/* Forget a TGID when its last thread exits, so that a reused PID is not
 * counted. The kernel says so itself where the tracepoint passes group_dead;
 * before that, signal->live has already dropped to 0 for the last thread.
 * The verifier prunes the branch not taken: the pointer walk to
 * task->signal costs it two linear searches of the kernel BTF (for the
 * type's __safe_trusted variants) on 6.x kernels, which the group_dead path
 * never pays. */
SEC("tp_btf/sched_process_exit")
int syscount_forget(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	__u32 tgid = (__u32)task->tgid;
	bool last;

	if (*track_slot(tgid) == SYSCOUNT_UNTRACKED)
		return 0;
	/* volatile: the second argument must only be read where it exists,
	 * never hoisted above the test. */
	if (exit_passes_group_dead)
		last = ((volatile __u64 *)ctx)[1] != 0;
	else
		last = task->signal->live.counter == 0;
	if (last)
		*track_slot(tgid) = SYSCOUNT_UNTRACKED;
	return 0;
}

/* A new image gets a new name: refresh it for the breakdown. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(syscount_exec)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (breakdown == SYSCOUNT_BREAKDOWN_NONE || !is_tracked((__u32)(pid_tgid >> 32)))
		return 0;
	remember_comm(comm_id(pid_tgid), BPF_ANY);
	return 0;
}
