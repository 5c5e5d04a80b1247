// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* syscount's fallback variant: the same counts as syscount.bpf.c from
 * untyped raw tracepoints (raw_tp/), for kernels where typed ones cannot
 * load: no kernel BTF, or older than 5.11 (no bpf_get_current_task_btf()).
 * It needs no BTF at all: no CO-RE relocation (libbpf refuses an object
 * with any relocation when the kernel has no BTF, even in programs it does
 * not load, which is why this is an object of its own) and no
 * bpf_probe_read_kernel (denied under lockdown=confidentiality). Every
 * argument it uses is a number, or a task pointer used only as a key.
 *
 * What the typed variant reads from the task, this one learns differently:
 * - the syscall number at sys_exit: kept per thread at sys_enter (the typed
 *   variant does the same, see count_return);
 * - following children: sched_process_fork gives the child only as a
 *   pointer, so the fork hook marks it pending, and the child is adopted at
 *   its first return to user space, which is always a sys_exit (the clone
 *   returning 0 in the child) before its first syscall;
 * - forgetting a process at its last thread's exit (signal->live): see
 *   SYSCOUNT_LINGERING below. */
#include "syscount_common.bpf.h"

/* One byte per TGID below tgid_slots (enum syscount_track): this variant
 * needs four states, and bytes, unlike bits, can be stored by concurrent
 * forks on different CPUs without atomics. Every process on the host pays
 * one compare and one load for the filter. Written by user space through
 * one memory-mapped page before attaching. */
__u8 tracked[SYSCOUNT_PID_LIMIT];

/* The state of TGID; UNTRACKED for one beyond the table. */
static __always_inline __u8 track_state(__u32 tgid)
{
	return tgid < tgid_slots ? tracked[tgid] : SYSCOUNT_UNTRACKED;
}

/* Sets TGID's state; false for a TGID beyond the table. */
static __always_inline bool set_track_state(__u32 tgid, __u8 state)
{
	if (tgid >= tgid_slots)
		return false;
	tracked[tgid] = state;
	return true;
}

/* Tasks forked by a tracked process that have not yet returned to user
 * space, keyed by task pointer. An entry lives from the fork to the child's
 * first sys_exit or its exit, microseconds as a rule, so the map only has to
 * hold the children of a burst of forks; one that does not fit is a child
 * not followed, and counted as such. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCOUNT_PENDING_ENTRIES);
	__type(key, __u64);
	__type(value, __u8);
} pending SEC(".maps");

/* Entries in PENDING: every sys_exit of the host reads this one word, and
 * looks into the map only while a child is pending. In .data, not .bss: the
 * tracked table must be the .bss's last variable. */
__u64 pending_count SEC(".data") = 0;

/* Whether calls of the thread PID_TGID are counted now. A LINGERING process
 * lost its group leader while other threads may still run: those threads
 * are still counted. Its TGID can be given to a new process only once every
 * thread is gone (the leader stays a zombie, holding the PID, until then),
 * and a new process's first thread is its leader (TID == TGID), while the
 * old group's leader makes no call after its exit. So a call from TID ==
 * TGID in a LINGERING process is the first event of a new process that
 * reuses the PID, and the process is forgotten there, exactly when the
 * typed variant's signal->live rule would have forgotten it. */
static __always_inline bool tracked_now_in(__u64 pid_tgid, bool tally)
{
	__u32 tgid = (__u32)(pid_tgid >> 32);
	__u8 state;

	if (!tgids_filtered(tally))
		return in_cgroup();
	state = track_state(tgid);
	if (state == SYSCOUNT_TRACKED)
		return true;
	if (state != SYSCOUNT_LINGERING)
		return false;
	if ((__u32)pid_tgid != tgid)
		return true;
	set_track_state(tgid, SYSCOUNT_UNTRACKED);
	return false;
}

static __always_inline bool tracked_now(__u64 pid_tgid)
{
	return tracked_now_in(pid_tgid, false);
}

/* The entry programs' body (syscount_common.bpf.h). */
static __always_inline int enter(struct bpf_raw_tracepoint_args *ctx, bool tally)
{
	long nr = (long)ctx->args[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!tracked_now_in(pid_tgid, tally)) {
		__u32 tgid = (__u32)(pid_tgid >> 32);
		if (track_state(tgid) != SYSCOUNT_ARMED || !is_execve(nr))
			return 0;
		set_track_state(tgid, SYSCOUNT_TRACKED);
	}
	count_entry(pid_tgid, nr, tally);
	return 0;
}

/* Drops TASK from PENDING; true when it was there. */
static __always_inline bool unpend(__u64 task)
{
	if (!map_result_ok(bpf_map_delete_elem(&pending, &task)))
		return false;
	__sync_fetch_and_add(&pending_count, -1);
	return true;
}

/* At the current thread's return to user space with 0: when it is a child
 * of a tracked process returning for the first time, follow it. True then:
 * this sys_exit ends no call that was counted. */
static __always_inline bool adopt_if_pending(__u64 pid_tgid)
{
	if (!unpend(bpf_get_current_task()))
		return false;
	__u32 tgid = (__u32)(pid_tgid >> 32);
	/* A new process is tracked from here; a new thread belongs to a
	 * process that is tracked already (LINGERING included, which must
	 * stay so). */
	if ((__u32)pid_tgid == tgid && !set_track_state(tgid, SYSCOUNT_TRACKED))
		count_drop(SYSCOUNT_DROP_FOLLOW);
	return true;
}

SEC("raw_tp/sys_exit")
int syscount_exit(struct bpf_raw_tracepoint_args *ctx)
{
	long ret = (long)ctx->args[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (filter_tgids && pending_count && ret == 0 && adopt_if_pending(pid_tgid))
		return 0;
	if (!want_exit() || !tracked_now(pid_tgid))
		return 0;
	count_return(pid_tgid, ret);
	return 0;
}

/* Runs in the parent, before the child is woken. raw args: (parent, child)
 * task pointers. */
SEC("raw_tp/sched_process_fork")
int syscount_fork(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 child = ctx->args[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = (__u32)(pid_tgid >> 32);
	__u8 state = track_state(tgid);
	__u8 one = 1;

	/* A LINGERING process's leader is gone: a forking TID == TGID is
	 * another process (a kernel thread, which makes no syscall that
	 * would have forgotten the old one). */
	if (state != SYSCOUNT_TRACKED &&
	    (state != SYSCOUNT_LINGERING || (__u32)pid_tgid == tgid))
		return 0;
	if (!map_result_ok(bpf_map_update_elem(&pending, &child, &one, BPF_NOEXIST))) {
		count_drop(SYSCOUNT_DROP_FOLLOW);
		return 0;
	}
	__sync_fetch_and_add(&pending_count, 1);
	return 0;
}

/* Runs in the exiting thread. A pending task that exits without having
 * returned to user space (an io_uring worker, a child killed inside the
 * kernel) is dropped; the group leader's exit makes its process LINGERING. */
SEC("raw_tp/sched_process_exit")
int syscount_forget(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = (__u32)(pid_tgid >> 32);

	(void)ctx;
	if (pending_count)
		unpend(bpf_get_current_task());
	if ((__u32)pid_tgid == tgid && track_state(tgid) != SYSCOUNT_UNTRACKED)
		set_track_state(tgid, SYSCOUNT_LINGERING);
	return 0;
}

/* Moves the call thread FROM is in to thread TO. */
static __always_inline void move_entry(__u32 from, __u32 to)
{
	__u64 *from_call = bpf_map_lookup_elem(&inflight, &from);
	__u64 *to_call = bpf_map_lookup_elem(&inflight, &to);
	if (from_call && to_call) {
		*to_call = *from_call;
		*from_call = 0;
	}
}

/* raw args: (task, old TID, binprm). An exec by a thread other than the
 * leader makes it the leader, with the leader's TID: its execve returns
 * under that TID, and its process, LINGERING since the old leader was made
 * to exit, is whole again. A new image also gets a new name. */
SEC("raw_tp/sched_process_exec")
int syscount_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 old_tid = (__u32)ctx->args[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = (__u32)(pid_tgid >> 32);

	if (old_tid != (__u32)pid_tgid) {
		if (filter_tgids && track_state(tgid) == SYSCOUNT_LINGERING)
			set_track_state(tgid, SYSCOUNT_TRACKED);
		if (want_exit())
			move_entry(old_tid, (__u32)pid_tgid);
	}
	if (breakdown == SYSCOUNT_BREAKDOWN_NONE || !tracked_now(pid_tgid))
		return 0;
	remember_comm(comm_id(pid_tgid), BPF_ANY);
	return 0;
}
