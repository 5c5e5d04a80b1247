/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the two variants of syscount's BPF programs share: the settings, the
 * maps and the counting. syscount.bpf.c (typed tp_btf programs) and
 * syscount_raw.bpf.c (the untyped raw_tp fallback for kernels without BTF or
 * older than 5.11) differ only in how they learn who is calling and which
 * syscall it is, and in how they follow children; everything a count passes
 * through is here, once, so the two can never count differently.
 *
 * Exactness rests on two kernel facts:
 * - BPF programs on tracepoints run with preemption disabled (and the kernel
 *   skips, and counts in the program's recursion_misses, any nested run), so
 *   plain increments of per-CPU values cannot race.
 * - A task makes no syscall before syscount's programs have seen it start
 *   (sched_process_fork runs before the child is woken; each variant says
 *   how it uses that). */
#ifndef BPFREADY_SYSCOUNT_COMMON_BPF_H
#define BPFREADY_SYSCOUNT_COMMON_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <asm-generic/errno-base.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "syscount.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load; the verifier prunes what is switched off,
 * so the default program is only the filter and one increment. */
/* __u8 rather than bool: the skeleton header is also compiled as C++. */
const volatile __u8 filter_tgids = 1;
const volatile __u32 breakdown = SYSCOUNT_BREAKDOWN_NONE;
const volatile __u8 want_errors = 0;
const volatile __u8 want_latency = 0;
const volatile long execve_nr = -1;
const volatile long execveat_nr = -1;
/* --cgroup/--unit: count only tasks in the cgroup (v2) of cgroup_filter's
 * one entry, or in its descendants. With filter_tgids off. */
const volatile __u8 filter_cgroup = 0;
/* Calls that never return to where they came from (exit, exit_group):
 * counted at entry only, nothing is kept for an exit that never comes. */
const volatile long exit_nr = -1;
const volatile long exit_group_nr = -1;
/* rt_sigreturn returns the interrupted context's register, never an error
 * of its own. */
const volatile long rt_sigreturn_nr = -1;
/* --errno: only failures with this errno count (0: all). */
const volatile __u32 only_errno = 0;
/* syscount's own process: never counted, in any mode (its map reads would
 * show in -a). */
const volatile __u32 self_tgid = 0;

/* How many TGIDs the tracked table has (each variant defines the table,
 * as the last variable of its .bss): pid_max when syscount started. User
 * space creates the .bss map at the size this needs (the declared size is
 * only the most it can be), so a small pid_max makes a small table. A TGID
 * at or beyond it (pid_max raised while tracing) has no slot: never
 * tracked, and a child that gets one is counted as not followed. The
 * compare with it (a constant to the verifier) is also what proves a
 * table index in bounds. */
const volatile __u32 tgid_slots = SYSCOUNT_PID_LIMIT;

/* The cgroup of --cgroup/--unit, set by user space before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* Whether the current task is counted by the cgroup filter: always when
 * there is none (the verifier then prunes the call). One helper call that
 * compares the task's cgroup with one ancestor (no walk), usable by
 * tracing programs since 4.9, so in both variants. */
static __always_inline bool in_cgroup(void)
{
	return !filter_cgroup || bpf_current_task_under_cgroup(&cgroup_filter, 0) == 1;
}

/* Key 0 holds every slot's counters (struct syscount_totals). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscount_totals);
} totals SEC(".maps");

/* The totals map's key, as a constant rather than a stack variable: the
 * default path then uses no stack at all. A program whose stack reaches 64
 * bytes gets a private per-CPU stack (6.13+), which costs every run a few
 * more instructions; the breakdown's keys, which are only there with
 * options, made this one land beyond 64 bytes. */
const volatile __u32 totals_key = 0;

/* This CPU's counters; callers test it for NULL before indexing it (the
 * verifier refuses arithmetic on a pointer not yet tested, which a
 * conditional inside a helper lets the compiler emit first). */
static __always_inline struct syscount_totals *this_cpu_totals(void)
{
	return bpf_map_lookup_elem(&totals, (const void *)&totals_key);
}

/* SLOT's counters in ALL. The mask is what proves the bound to the verifier
 * on every path (a slot read back from the in-flight map is only known to
 * be below 2^SYSCOUNT_INFLIGHT_SLOT_BITS). */
static __always_inline struct syscount_stat *total_in(struct syscount_totals *all, __u32 slot)
{
	return &all->slot[slot & (SYSCOUNT_NR_SLOTS - 1)];
}

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

/* The call each thread is in (see SYSCOUNT_INFLIGHT_SLOT_BITS), by TID,
 * when errors or latency are wanted. An array lookup is inlined by the
 * verifier (no helper call); user space sizes it to pid_max. A TID beyond
 * it (pid_max raised while tracing) is counted as a call not followed to
 * its exit. Each variant makes sure a slot left behind by a thread that
 * died inside a call is never taken for a new thread's. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inflight SEC(".maps");

/* -L: latency histograms (struct syscount_latency). User space sets
 * max_entries to SYSCOUNT_LAT_ROWS with latency, else leaves it at 1. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscount_latency);
} latency SEC(".maps");

/* --errors: failures per (slot, errno). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct syscount_errno_key);
	__type(value, __u64);
} errnos SEC(".maps");

/* Whether a map helper's result RET is the error -ERR. The helpers are
 * declared to return long, but before Linux 6.4 the kernel's map operations
 * returned int, and the verifier calls them directly: only the low 32 bits
 * of the result register are defined, so -EEXIST arrives as 0xffffffef, not
 * as a negative long, and `ret == -EEXIST` never matches there. Comparing
 * the low 32 bits is right on every kernel. */
static __always_inline bool map_result_is(long ret, int err)
{
	return (int)ret == -err;
}

/* Whether RET reports success (0), read the same way. */
static __always_inline bool map_result_ok(long ret)
{
	return (int)ret == 0;
}

static __always_inline void count_drop(__u32 what)
{
	__u64 *value = bpf_map_lookup_elem(&drops, &what);
	if (value)
		*value += 1;
}

static __always_inline __u32 slot_of(long nr)
{
	/* One unsigned compare also sends negative numbers there. */
	if ((unsigned long)nr >= SYSCOUNT_SLOT_OUT_OF_RANGE)
		return SYSCOUNT_SLOT_OUT_OF_RANGE;
	return (__u32)nr;
}

static __always_inline bool is_execve(long nr)
{
	return nr == execve_nr || nr == execveat_nr;
}

static __always_inline void fill_key(struct syscount_key *key, __u64 pid_tgid, __u32 slot)
{
	key->tgid = (__u32)(pid_tgid >> 32);
	key->tid = breakdown == SYSCOUNT_BREAKDOWN_THREAD ? (__u32)pid_tgid : 0;
	key->nr = slot;
	key->pad = 0;
}

/* The id the comms map is keyed by: the TID per thread, else the TGID. */
static __always_inline __u32 comm_id(__u64 pid_tgid)
{
	return breakdown == SYSCOUNT_BREAKDOWN_THREAD ? (__u32)pid_tgid : (__u32)(pid_tgid >> 32);
}

/* The breakdown's and the errno counts' helpers below are subprograms
 * (__noinline), not inlined: each has its own stack frame for its keys and
 * values. Inlined, they made the frame of every program deeper than 64
 * bytes, the depth from which the kernel (6.13+) runs a tracing program on
 * a private per-CPU stack, which costs each run a few instructions more,
 * also in the modes that never reach them. */

/* FLAGS: BPF_NOEXIST for a task's first call (a name already there is kept),
 * BPF_ANY after an exec (the new image's name replaces it). */
static __noinline void remember_comm(__u32 id, __u64 flags)
{
	struct syscount_comm comm = {};

	bpf_get_current_comm(comm.comm, sizeof(comm.comm));
	long ret = bpf_map_update_elem(&comms, &id, &comm, flags);
	if (!map_result_ok(ret) && !map_result_is(ret, EEXIST))
		count_drop(SYSCOUNT_DROP_COMM);
}

/* Counts one call in the breakdown; false when it could not (map full,
 * counted as a drop): the caller then counts it in the totals. */
static __noinline bool count_by_task(__u64 pid_tgid, __u32 slot)
{
	struct syscount_key key;
	struct syscount_stat *stat;

	fill_key(&key, pid_tgid, slot);
	stat = bpf_map_lookup_elem(&by_task, &key);
	if (stat) {
		stat->count += 1;
		return true;
	}
	struct syscount_stat first = { .count = 1 };
	long ret = bpf_map_update_elem(&by_task, &key, &first, BPF_NOEXIST);
	if (map_result_is(ret, EEXIST)) {
		/* Another CPU inserted it first. */
		stat = bpf_map_lookup_elem(&by_task, &key);
		if (!stat) {
			count_drop(SYSCOUNT_DROP_BREAKDOWN);
			return false;
		}
		stat->count += 1;
		return true;
	}
	if (!map_result_ok(ret)) {
		count_drop(SYSCOUNT_DROP_BREAKDOWN);
		return false;
	}
	remember_comm(key.tid ? key.tid : key.tgid, BPF_NOEXIST);
	return true;
}

static __always_inline bool want_exit(void)
{
	return want_errors || want_latency;
}

/* The default mode, as constants: counting a command's or PIDs' calls
 * (the TGID filter on, so no cgroup filter), in the totals only, with no
 * exit program. Each variant has its entry program twice: syscount_enter reads
 * the settings, syscount_tally is compiled for this mode, and user space
 * loads one of them. The verifier prunes the branches of settings it knows,
 * but keeps each setting's load: five loads, about 2 ns per run in an A/B,
 * on the path every counted call takes. */
static __always_inline bool tgids_filtered(bool tally)
{
	return tally || filter_tgids;
}

static __always_inline __u32 breakdown_wanted(bool tally)
{
	return tally ? SYSCOUNT_BREAKDOWN_NONE : breakdown;
}

static __always_inline bool exit_wanted(bool tally)
{
	return !tally && want_exit();
}

/* Counts one syscall entry (number NR) of a tracked thread: in the
 * breakdown when there is one (the totals then only get what it could not
 * take), else in the totals; and keeps the slot (and the time) for the
 * exit when errors or latency are wanted. TALLY: the default mode's
 * program (see tgids_filtered), a constant. */
static __always_inline void count_entry(__u64 pid_tgid, long nr, bool tally)
{
	__u32 slot = slot_of(nr);

	/* Only the unfiltered mode can see syscount's own calls: its TGID is
	 * never in the table, so the filter already excludes it elsewhere, and
	 * the verifier drops this check there. */
	if (!tgids_filtered(tally) && (__u32)(pid_tgid >> 32) == self_tgid)
		return;
	if (breakdown_wanted(tally) == SYSCOUNT_BREAKDOWN_NONE || !count_by_task(pid_tgid, slot)) {
		struct syscount_totals *all = this_cpu_totals();
		if (all)
			total_in(all, slot)->count += 1;
	}
	if (!exit_wanted(tally))
		return;
#ifndef SYSCOUNT_CLEARS_AT_FORK
	/* exit and exit_group never reach sys_exit: a slot kept for them would
	 * wait for the next thread that gets this TID (the typed variant
	 * clears a new thread's slot at fork instead). */
	if (nr == exit_nr || nr == exit_group_nr)
		return;
#endif
	__u32 tid = (__u32)pid_tgid;
	__u64 *call = bpf_map_lookup_elem(&inflight, &tid);
	if (!call) {
		count_drop(SYSCOUNT_DROP_LATENCY);
		return;
	}
	__u64 start = want_latency ? bpf_ktime_get_ns() << SYSCOUNT_INFLIGHT_SLOT_BITS : 0;
	*call = start | (slot + 1);
}

/* Adds a returned call's failure and time to its counters: where its entry
 * was counted (the breakdown, when it has the call's key), else the totals. */
static __always_inline void add_exit(struct syscount_stat *stat, bool failed, bool timed, __u64 elapsed)
{
	/* Tests rather than additions of 0: where the option is off, the
	 * verifier knows the test's outcome and drops the update. */
	if (failed)
		stat->errors += 1;
	if (timed) {
		stat->total_ns += elapsed;
		stat->timed += 1;
	}
}

/* The breakdown's part of count_exit; false when the breakdown does not
 * have the call's key (its entry went to the totals). */
static __noinline bool add_exit_by_task(__u64 pid_tgid, __u32 slot, bool failed, bool timed,
					__u64 elapsed)
{
	struct syscount_key key;

	fill_key(&key, pid_tgid, slot);
	struct syscount_stat *stat = bpf_map_lookup_elem(&by_task, &key);
	if (!stat)
		return false;
	add_exit(stat, failed, timed, elapsed);
	return true;
}

static __always_inline void count_exit(__u64 pid_tgid, __u32 slot, bool failed, bool timed,
				       __u64 elapsed)
{
	if (breakdown != SYSCOUNT_BREAKDOWN_NONE &&
	    add_exit_by_task(pid_tgid, slot, failed, timed, elapsed))
		return;
	struct syscount_totals *all = this_cpu_totals();
	if (all)
		add_exit(total_in(all, slot), failed, timed, elapsed);
}

/* The histogram bucket of a call that took NS nanoseconds (see
 * SYSCOUNT_LAT_BUCKETS): below 8 the value itself; else, with H the position
 * of the highest set bit, 4 * (H - 1) plus the two bits below it. H comes
 * from a fixed six-step binary search (no loop, no helper, about 30
 * instructions). Its branches follow the call's magnitude, which repeats:
 * measured against a branch-free form (sign bit of a difference per step),
 * this was a few ns cheaper per call. */
static __always_inline __u32 latency_bucket(__u64 ns)
{
	if (ns >= (1ULL << 33))
		return SYSCOUNT_LAT_BUCKETS - 1;
	if (ns < 8)
		return (__u32)ns;
	__u64 x = ns;
	__u32 h = 0;
	if (x >> 32) { x >>= 32; h += 32; }
	if (x >> 16) { x >>= 16; h += 16; }
	if (x >> 8) { x >>= 8; h += 8; }
	if (x >> 4) { x >>= 4; h += 4; }
	if (x >> 2) { x >>= 2; h += 2; }
	if (x >> 1) h += 1;
	return ((__u32)(4 * (h - 1)) + (__u32)((ns >> (h - 2)) & 3)) & (SYSCOUNT_LAT_BUCKETS - 1);
}

static __always_inline void record_latency(__u32 slot, __u64 ns)
{
	__u32 row = slot < SYSCOUNT_LAT_ROWS - 1 ? slot : SYSCOUNT_LAT_ROWS - 1;
	struct syscount_latency *hist = bpf_map_lookup_elem(&latency, &row);
	if (!hist)
		return;
	hist->buckets[latency_bucket(ns)] += 1;
	if (~ns > hist->min_inv)
		hist->min_inv = ~ns;
	if (ns > hist->max)
		hist->max = ns;
}

static __noinline void count_errno(__u32 slot, __u32 err)
{
	struct syscount_errno_key key = { .slot = slot, .err = err };
	__u64 *value = bpf_map_lookup_elem(&errnos, &key);
	if (value) {
		*value += 1;
		return;
	}
	__u64 one = 1;
	long ret = bpf_map_update_elem(&errnos, &key, &one, BPF_NOEXIST);
	if (map_result_ok(ret))
		return;
	if (map_result_is(ret, EEXIST)) {
		value = bpf_map_lookup_elem(&errnos, &key);
		if (value) {
			*value += 1;
			return;
		}
	}
	count_drop(SYSCOUNT_DROP_ERRNO);
}

/* A return (value RET) of thread PID_TGID: counted under the slot its entry
 * was counted under, whatever the registers say now. A call that began
 * before syscount attached (nothing kept) is not counted. */
static __always_inline void count_return(__u64 pid_tgid, long ret)
{
	__u32 tid = (__u32)pid_tgid;
	__u64 *call = bpf_map_lookup_elem(&inflight, &tid);
	if (!call)
		return;
	__u64 entry = *call;
	if (!(entry & SYSCOUNT_INFLIGHT_SLOT_MASK))
		return;
	__u32 slot = (__u32)(entry & SYSCOUNT_INFLIGHT_SLOT_MASK) - 1;
	*call = 0;

	__u64 elapsed = 0;
	/* Modulo 2^64 on the shifted times, so exact modulo 2^53 ns. */
	if (want_latency)
		elapsed = ((bpf_ktime_get_ns() << SYSCOUNT_INFLIGHT_SLOT_BITS) -
			   (entry & ~SYSCOUNT_INFLIGHT_SLOT_MASK)) >> SYSCOUNT_INFLIGHT_SLOT_BITS;
	bool failed = want_errors && ret < 0 && ret >= -4095 && slot != rt_sigreturn_nr &&
		      (only_errno == 0 || ret == -(long)only_errno);
	if (!failed && !want_latency)
		return;
	count_exit(pid_tgid, slot, failed, want_latency, elapsed);
	if (want_latency)
		record_latency(slot, elapsed);
	if (failed)
		count_errno(slot, (__u32)-ret);
}

/* Each variant's entry (raw args: regs, syscall number), defined there;
 * TALLY: see tgids_filtered(). */
static __always_inline int enter(struct bpf_raw_tracepoint_args *ctx, bool tally);

/* Both entry programs of each variant; user space loads one of them. */
SEC("raw_tp/sys_enter")
int syscount_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return enter(ctx, false);
}

SEC("raw_tp/sys_enter")
int syscount_tally(struct bpf_raw_tracepoint_args *ctx)
{
	return enter(ctx, true);
}

/* Forgets the call thread TID was in (a new thread with a reused TID). */
static __always_inline void clear_inflight(__u32 tid)
{
	__u64 *call = bpf_map_lookup_elem(&inflight, &tid);
	if (call)
		*call = 0;
}

#endif
