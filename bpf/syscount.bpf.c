// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* syscount: counts every syscall of a set of processes (or of the whole
 * system) from one raw tracepoint on sys_enter, with a second program on
 * sys_exit only when errors or latency are wanted.
 *
 * Attach points are raw tracepoints (raw_tp/, and tp_btf/ where typed
 * arguments are needed), which need CAP_BPF + CAP_PERFMON and never touch
 * tracefs or perf_event_open.
 *
 * Exactness rests on two kernel facts:
 * - BPF programs on tracepoints run with preemption disabled (and the kernel
 *   skips, and counts in the program's recursion_misses, any nested run), so
 *   plain increments of per-CPU values cannot race.
 * - sched_process_fork runs before the child is woken, so a child of a
 *   tracked process is tracked before its first syscall. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "syscount.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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

/* Set by user space before load; the verifier prunes what is switched off,
 * so the default program is only the filter and one increment. */
/* __u8 rather than bool: the skeleton header is also compiled as C++. */
const volatile __u8 filter_tgids = 1;
const volatile __u32 breakdown = SYSCOUNT_BREAKDOWN_NONE;
const volatile __u8 want_errors = 0;
const volatile __u8 want_latency = 0;
const volatile long execve_nr = -1;
const volatile long execveat_nr = -1;

/* One byte per possible TGID: the filter every process on the host pays for
 * is one load, with no helper call and no hash. Bytes rather than bits, so
 * that concurrent forks on different CPUs never lose each other's store.
 * User space writes it through the memory-mapped .bss. */
__u8 tracked[SYSCOUNT_PID_LIMIT];

/* PIDs are always below PID_MAX_LIMIT, so the mask (the limit is a power of
 * two) never aliases; it is what proves the bounds to the verifier, in one
 * instruction. */
static __always_inline __u8 *track_slot(__u32 tgid)
{
	return &tracked[tgid & (SYSCOUNT_PID_LIMIT - 1)];
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCOUNT_NR_SLOTS);
	__type(key, __u32);
	__type(value, struct syscount_stat);
} totals SEC(".maps");

/* Per process or per thread, only when asked. Entries are allocated on first
 * use, so the memory follows what is traced rather than the CPU count times
 * max_entries. User space sets max_entries. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct syscount_key);
	__type(value, struct syscount_stat);
} by_task SEC(".maps");

/* TGID (per-process mode) or TID (per-thread mode) -> command name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscount_comm);
} comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCOUNT_DROP_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Entry time of the syscall each thread is in, for latency, indexed by TID.
 * An array lookup is inlined by the verifier (no helper call), which keeps
 * --latency cheap; user space sizes it to pid_max. A TID beyond it (pid_max
 * raised while tracing) is counted as an untimed call. The fork hook clears
 * a new thread's slot, since a TID can be reused after a thread died inside
 * a call that never returned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

static __always_inline void count_drop(__u32 what)
{
	__u64 *value = bpf_map_lookup_elem(&drops, &what);
	if (value)
		*value += 1;
}

static __always_inline __u32 slot_of(long nr)
{
	if (nr < 0 || nr >= SYSCOUNT_SLOT_OUT_OF_RANGE)
		return SYSCOUNT_SLOT_OUT_OF_RANGE;
	return (__u32)nr;
}

static __always_inline bool is_tracked(__u32 tgid)
{
	if (!filter_tgids)
		return true;
	return *track_slot(tgid) == SYSCOUNT_TRACKED;
}

static __always_inline void fill_key(struct syscount_key *key, __u64 pid_tgid, __u32 slot)
{
	key->tgid = (__u32)(pid_tgid >> 32);
	key->tid = breakdown == SYSCOUNT_BREAKDOWN_THREAD ? (__u32)pid_tgid : 0;
	key->nr = slot;
	key->pad = 0;
}

static __always_inline void remember_comm(__u32 id, __u64 flags)
{
	struct syscount_comm comm = {};

	bpf_get_current_comm(comm.comm, sizeof(comm.comm));
	long err = bpf_map_update_elem(&comms, &id, &comm, flags);
	if (err && err != -17 /* EEXIST */)
		count_drop(SYSCOUNT_DROP_COMM);
}

static __always_inline void count_by_task(__u64 pid_tgid, __u32 slot)
{
	struct syscount_key key;
	struct syscount_stat *stat;

	fill_key(&key, pid_tgid, slot);
	stat = bpf_map_lookup_elem(&by_task, &key);
	if (stat) {
		stat->count += 1;
		return;
	}
	struct syscount_stat first = { .count = 1 };
	long err = bpf_map_update_elem(&by_task, &key, &first, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU inserted it first */) {
		stat = bpf_map_lookup_elem(&by_task, &key);
		if (stat)
			stat->count += 1;
		else
			count_drop(SYSCOUNT_DROP_BREAKDOWN);
		return;
	}
	if (err) {
		count_drop(SYSCOUNT_DROP_BREAKDOWN);
		return;
	}
	remember_comm(key.tid ? key.tid : key.tgid, BPF_NOEXIST);
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
			if (state != SYSCOUNT_ARMED || (nr != execve_nr && nr != execveat_nr))
				return 0;
			*track_slot(tgid) = SYSCOUNT_TRACKED;
		}
	}

	__u64 pid_tgid = ((__u64)tgid << 32) | (__u32)task->pid;
	__u32 slot = slot_of(nr);
	struct syscount_stat *stat = bpf_map_lookup_elem(&totals, &slot);
	if (stat)
		stat->count += 1;

	if (breakdown != SYSCOUNT_BREAKDOWN_NONE)
		count_by_task(pid_tgid, slot);

	if (want_latency) {
		__u32 tid = (__u32)pid_tgid;
		__u64 *start = bpf_map_lookup_elem(&starts, &tid);
		if (start)
			*start = bpf_ktime_get_ns();
		else
			count_drop(SYSCOUNT_DROP_LATENCY);
	}
	return 0;
}

static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#else
	return regs->orig_ax;
#endif
}

/* Typed arguments give the syscall number from the saved registers with a
 * plain load (no bpf_probe_read_kernel, so it works under lockdown too). */
SEC("tp_btf/sys_exit")
int BPF_PROG(syscount_exit, struct pt_regs *regs, long ret)
{
	/* As on entry: the inlined task helper, not a helper call. */
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = (__u32)task->tgid;
	__u64 elapsed = 0;
	bool timed = false;

	if (!is_tracked(tgid))
		return 0;
	__u64 pid_tgid = ((__u64)tgid << 32) | (__u32)task->pid;

	if (want_latency) {
		__u32 tid = (__u32)pid_tgid;
		__u64 *start = bpf_map_lookup_elem(&starts, &tid);
		/* 0 for a call that began before syscount attached. */
		if (start && *start) {
			elapsed = bpf_ktime_get_ns() - *start;
			*start = 0;
			timed = true;
		}
	}
	bool failed = want_errors && ret < 0 && ret >= -4095;
	if (!failed && !timed)
		return 0;

	__u32 slot = slot_of(syscall_nr(regs));
	struct syscount_stat *stat = bpf_map_lookup_elem(&totals, &slot);
	if (stat) {
		stat->errors += failed;
		stat->total_ns += elapsed;
		stat->timed += timed;
	}
	if (breakdown != SYSCOUNT_BREAKDOWN_NONE) {
		struct syscount_key key;

		fill_key(&key, pid_tgid, slot);
		stat = bpf_map_lookup_elem(&by_task, &key);
		if (stat) {
			stat->errors += failed;
			stat->total_ns += elapsed;
			stat->timed += timed;
		}
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(syscount_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = (__u32)parent->tgid;
	__u32 child_tgid = (__u32)child->tgid;

	if (want_latency) {
		__u32 tid = (__u32)child->pid;
		__u64 *start = bpf_map_lookup_elem(&starts, &tid);
		if (start)
			*start = 0;
	}
	if (!filter_tgids || child_tgid == parent_tgid)
		return 0;
	if (*track_slot(parent_tgid) == SYSCOUNT_TRACKED)
		*track_slot(child_tgid) = SYSCOUNT_TRACKED;
	return 0;
}

/* Forget a TGID when its last thread exits, so that a reused PID is not
 * counted. signal->live has already dropped to 0 for the last thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(syscount_forget, struct task_struct *task)
{
	__u32 tgid = (__u32)task->tgid;

	if (*track_slot(tgid) == SYSCOUNT_UNTRACKED)
		return 0;
	if (task->signal->live.counter == 0)
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
	remember_comm(breakdown == SYSCOUNT_BREAKDOWN_THREAD ? (__u32)pid_tgid
							     : (__u32)(pid_tgid >> 32),
		      BPF_ANY);
	return 0;
}
