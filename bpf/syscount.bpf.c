// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* syscount: counts every syscall of a set of processes (or of the whole
 * system) from one raw tracepoint program on sys_enter, with a second one on
 * sys_exit only when errors or latency are wanted. This is the default
 * variant, for kernels with BTF (5.11+, as ebpf_diag checks it);
 * syscount_raw.bpf.c is the fallback for the others. What both count with
 * is in syscount_common.bpf.h.
 *
 * The per-call programs are untyped raw tracepoints (raw_tp/): they need
 * nothing from the kernel's BTF, so their load costs no search of it, and
 * they learn who calls from bpf_get_current_pid_tgid(), one helper call,
 * as the typed bpf_get_current_task_btf() is (6.18 inlines neither on
 * x86-64: its translated program shows the call). Following processes needs the
 * child's ids, which only a typed tracepoint (tp_btf/) gives without a
 * probe read: the fork and, where the kernel does not say group_dead, the
 * exit hooks are typed. Both kinds need CAP_BPF + CAP_PERFMON and never
 * touch tracefs or perf_event_open.
 *
 * Children are followed from sched_process_fork, which runs before the child
 * is woken, so a child of a tracked process is tracked before its first
 * syscall. */
/* The fork hook clears a new thread's in-flight slot (see count_entry). */
#define SYSCOUNT_CLEARS_AT_FORK 1
#include "syscount_common.bpf.h"

/* Minimal kernel types for typed (tp_btf) arguments; CO-RE relocates the
 * offsets against the running kernel's BTF. */
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
	return track_state(tgid) == SYSCOUNT_TRACKED;
}

/* raw args: (regs, syscall number). */
SEC("raw_tp/sys_enter")
int syscount_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = (long)ctx->args[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = (__u32)(pid_tgid >> 32);

	if (filter_tgids) {
		__u8 state = track_state(tgid);
		if (state != SYSCOUNT_TRACKED) {
			if (state != SYSCOUNT_ARMED || !is_execve(nr))
				return 0;
			set_track_state(tgid, SYSCOUNT_TRACKED);
		}
	} else if (!in_cgroup()) {
		return 0;
	}

	count_entry(pid_tgid, nr);
	return 0;
}

/* raw args: (regs, return value). The slot is the one kept at entry, not
 * the registers' syscall number: rt_sigreturn restores them, so at its exit
 * they hold the interrupted context's (orig_ax -1, or the restarted
 * call's). */
SEC("raw_tp/sys_exit")
int syscount_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!is_tracked((__u32)(pid_tgid >> 32)))
		return 0;
	count_return(pid_tgid, (long)ctx->args[1]);
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
	if (track_state(parent_tgid) == SYSCOUNT_TRACKED &&
	    !set_track_state(child_tgid, SYSCOUNT_TRACKED))
		count_drop(SYSCOUNT_DROP_FOLLOW);
	return 0;
}

/* Forget a TGID when its last thread exits, so that a reused PID is not
 * counted. One of two programs is loaded (tracer.cpp picks): where the
 * tracepoint passes group_dead after the task (6.18 does), the kernel says it,
 * and an untyped program reads it; before that, a typed one reads
 * signal->live, which has already dropped to 0 for the last thread. The
 * untyped one also spares the verifier the walk to task->signal, which
 * costs it two linear searches of the kernel BTF (for the type's
 * __safe_trusted variants) on 6.x kernels. Both run in the exiting task. */
SEC("raw_tp/sched_process_exit")
int syscount_forget(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);

	if (ctx->args[1] != 0 && track_state(tgid) != SYSCOUNT_UNTRACKED)
		set_track_state(tgid, SYSCOUNT_UNTRACKED);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(syscount_gone, struct task_struct *task)
{
	__u32 tgid = (__u32)task->tgid;

	if (track_state(tgid) == SYSCOUNT_UNTRACKED)
		return 0;
	if (task->signal->live.counter == 0)
		set_track_state(tgid, SYSCOUNT_UNTRACKED);
	return 0;
}

/* A new image gets a new name: refresh it for the breakdown. */
SEC("raw_tp/sched_process_exec")
int syscount_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	(void)ctx;
	if (breakdown == SYSCOUNT_BREAKDOWN_NONE || !is_tracked((__u32)(pid_tgid >> 32)))
		return 0;
	remember_comm(comm_id(pid_tgid), BPF_ANY);
	return 0;
}
