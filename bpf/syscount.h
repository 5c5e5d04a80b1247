/* Shared between syscount's BPF programs (bpf/syscount.bpf.c, its raw_tp
 * fallback bpf/syscount_raw.bpf.c, and what both include,
 * bpf/syscount_common.bpf.h) and user space (tools/syscount/tracer.cpp). */
#ifndef BPFREADY_SYSCOUNT_H
#define BPFREADY_SYSCOUNT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Syscall numbers below SYSCOUNT_NR_SLOTS - 1 index the totals directly.
 * The last slot collects ids outside that range (for example -1, which the
 * kernel reports for a syscall skipped by seccomp or ptrace), so that no call
 * is ever lost, only left unnamed. */
#define SYSCOUNT_NR_SLOTS 1024
#define SYSCOUNT_SLOT_OUT_OF_RANGE (SYSCOUNT_NR_SLOTS - 1)

/* PID_MAX_LIMIT on 64-bit kernels: pid_max can be raised at run time up to
 * this value, so the tracked-TGID table covers every possible TGID. */
#define SYSCOUNT_PID_LIMIT (1U << 22)

/* Values of the raw_tp variant's tracked-TGID table, one byte per TGID (the
 * typed variant keeps one bit, and the armed command's TGID apart). */
enum syscount_track {
	SYSCOUNT_UNTRACKED = 0,
	SYSCOUNT_TRACKED = 1,
	/* The started command before its execve: its pre-exec housekeeping
	 * (dropping privileges, closing descriptors) is syscount's, not the
	 * command's, so counting starts with the execve itself. */
	SYSCOUNT_ARMED = 2,
	/* raw_tp variant only: the group leader has exited; the other threads,
	 * if any, are still counted (see syscount_raw.bpf.c). */
	SYSCOUNT_LINGERING = 3,
};

/* raw_tp variant: children of tracked processes between their fork and
 * their first return to user space, at most. */
#define SYSCOUNT_PENDING_ENTRIES 16384

/* Which per-task breakdown to keep, besides the always-kept totals. */
enum syscount_breakdown {
	SYSCOUNT_BREAKDOWN_NONE = 0,
	SYSCOUNT_BREAKDOWN_PROCESS = 1, /* key.tid is 0 */
	SYSCOUNT_BREAKDOWN_THREAD = 2,
};

/* Counts of one syscall slot. With a per-process or per-thread breakdown,
 * the totals map holds only the calls the breakdown could not (map full):
 * user space adds the breakdown to them, so that totals and breakdown come
 * from the same values read and always sum exactly. */
struct syscount_stat {
	__u64 count;    /* entries seen */
	__u64 errors;   /* returns in [-4095, -1]; only with errors wanted */
	__u64 total_ns; /* entry-to-exit time; only with latency wanted */
	__u64 timed;    /* calls whose time is in total_ns */
};

/* The totals map's one value (per CPU): every slot's counters. One per-CPU
 * allocation rather than one per slot, which took more than half a
 * millisecond of start-up; 32 KiB, the most a per-CPU map value may be. */
struct syscount_totals {
	struct syscount_stat slot[SYSCOUNT_NR_SLOTS];
};

struct syscount_key {
	__u32 tgid;
	__u32 tid; /* 0 in per-process mode */
	__u32 nr;  /* slot, as for the totals */
	__u32 pad;
};

/* The call a thread is in, one __u64 per TID (errors or latency wanted):
 * the slot taken at entry is the one the exit is counted under, since the
 * registers at exit may say otherwise (rt_sigreturn restores them).
 *   bits 0-10:  slot + 1 (0: none, a call that began before syscount)
 *   bits 11-63: entry time in ns modulo 2^53 (latency only); the time a
 *               call took is exact modulo 2^53 ns (104 days). */
#define SYSCOUNT_INFLIGHT_SLOT_BITS 11
#define SYSCOUNT_INFLIGHT_SLOT_MASK ((1ULL << SYSCOUNT_INFLIGHT_SLOT_BITS) - 1)

/* Latency histograms (-L), one row per slot below SYSCOUNT_LAT_ROWS - 1; the
 * last row collects every higher slot (out_of_range included). Bucket I
 * holds the calls that took N ns with
 *   I < 8:  N == I
 *   I >= 8: (4 + I % 4) << (I / 4 - 1) <= N < (5 + I % 4) << (I / 4 - 1)
 * i.e. four buckets per power of two, except the last, which has no upper
 * bound (from 7 << 30 ns, about 7.5 s). */
#define SYSCOUNT_LAT_BUCKETS 128
#define SYSCOUNT_LAT_ROWS 512

struct syscount_latency {
	__u64 min_inv; /* ~(smallest time seen); 0: none */
	__u64 max;     /* largest time seen */
	__u64 buckets[SYSCOUNT_LAT_BUCKETS];
};

/* Failures per syscall slot and errno (--errors). */
struct syscount_errno_key {
	__u32 slot;
	__u32 err; /* positive errno */
};
#define SYSCOUNT_ERRNO_ENTRIES 4096

struct syscount_comm {
	char comm[16];
};

/* Everything that could not be recorded, counted instead of lost. */
enum syscount_drop {
	SYSCOUNT_DROP_BREAKDOWN = 0, /* breakdown map full: call in totals only */
	SYSCOUNT_DROP_COMM = 1,      /* comm map full: process shown without a name */
	SYSCOUNT_DROP_LATENCY = 2,   /* no per-thread slot: call not timed (raw_tp: nor
				      * checked for failure) */
	SYSCOUNT_DROP_FOLLOW = 3,    /* raw_tp: a child that could not be followed */
	SYSCOUNT_DROP_ERRNO = 4,     /* errno map full: failure not broken down */
	SYSCOUNT_DROP_COUNT = 5,
};

#endif
