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

/* The command started by syscount, before its execve (0: none, as with
 * -p): its pre-exec housekeeping (dropping privileges, closing
 * descriptors) is syscount's, not the command's, so counting starts with
 * the execve itself. */
__u32 armed_tgid = 0;

/* One bit per TGID below tgid_slots: set while the process is tracked.
 * Bits keep the table small (512 KiB for systemd's pid_max of 4194304, 4
 * KiB for 32768), which is what its creation costs at every start. Every
 * process on the host pays one compare, one load and a shift for the
 * filter. Words, not bytes, so that a bit can be flipped by an atomic add
 * (the only atomic before 5.12); see track(). Written by user space
 * through one memory-mapped page before attaching; the .bss's last
 * variable. */
__u32 tracked[SYSCOUNT_PID_LIMIT / 32];

/* TGID's word of the table, or NULL beyond it. The compare and the index
 * use one 64-bit register, fixed on both sides of the compare
 * (barrier_var): clang would otherwise compare a zero-extended copy and
 * index from the original, or index before comparing, where the verifier
 * knows no bound. */
static __always_inline __u32 *tgid_word(__u32 tgid)
{
	__u64 index = tgid;

	barrier_var(index);
	if (index >= tgid_slots)
		return NULL;
	barrier_var(index);
	return &tracked[index / 32];
}

static __always_inline __u32 tgid_bit(__u32 tgid)
{
	return 1U << (tgid & 31);
}

/* Whether TGID is tracked; never for one beyond the table. */
static __always_inline bool tgid_tracked(__u32 tgid)
{
	__u32 *word = tgid_word(tgid);

	return word && (*word & tgid_bit(tgid));
}

/* Tracks TGID; false for one beyond the table. Forks on other CPUs may
 * flip other bits of the same word at the same time, hence the atomic add.
 * It sets the bit without a carry because only one event ever changes a
 * given TGID's bit at a time: its creation (the fork hook, or the armed
 * command's execve) or its end (the exit hook); a PID is reused only
 * after its last exit. The test before it keeps a bit left set (a -p
 * target that died while syscount attached) from being added twice. */
static __always_inline bool track(__u32 tgid)
{
	__u32 *word = tgid_word(tgid);

	if (!word)
		return false;
	if (!(*word & tgid_bit(tgid)))
		__sync_fetch_and_add(word, tgid_bit(tgid));
	return true;
}

/* Forgets TGID, as track() tracks it. */
static __always_inline void untrack(__u32 tgid)
{
	__u32 *word = tgid_word(tgid);

	if (tgid == armed_tgid)
		armed_tgid = 0;
	if (word && (*word & tgid_bit(tgid)))
		__sync_fetch_and_add(word, -tgid_bit(tgid));
}

static __always_inline bool is_tracked(__u32 tgid)
{
	if (!filter_tgids)
		return in_cgroup();
	return tgid_tracked(tgid);
}

/* The entry programs' body (syscount_common.bpf.h). */
static __always_inline int enter(struct bpf_raw_tracepoint_args *ctx, bool tally)
{
	long nr = (long)ctx->args[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = (__u32)(pid_tgid >> 32);

	if (tgids_filtered(tally)) {
		if (!tgid_tracked(tgid)) {
			if (tgid != armed_tgid || !is_execve(nr))
				return 0;
			track(tgid);
			armed_tgid = 0;
		}
	} else if (!in_cgroup()) {
		return 0;
	}

	count_entry(pid_tgid, nr, tally);
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
	if (tgid_tracked(parent_tgid) && !track(child_tgid))
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

	if (ctx->args[1] != 0)
		untrack(tgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(syscount_gone, struct task_struct *task)
{
	__u32 tgid = (__u32)task->tgid;

	if (!tgid_tracked(tgid) && tgid != armed_tgid)
		return 0;
	if (task->signal->live.counter == 0)
		untrack(tgid);
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
