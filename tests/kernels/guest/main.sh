#!/bin/sh
# bpfready kernel matrix, guest stage 2, run by busybox init (PID 1, which
# reaps orphans as systemd would) from the staged root image. Makes the mounts
# systemd would have made, records the kernel's settings (left at the
# kernel's defaults: no sysctl file is applied), runs the system tests, the
# privilege tests and the end-to-end scenario, measures what releasing a few
# perf-event tracepoints costs (bench/tracepoint_release; a measurement that
# never fails the guest), writes every log as a tar to the results disk
# (/dev/vdb) and powers the guest off.
#
# Settings come from /etc/bpfready-guest.conf, written by the host
# (tests/kernels/lib.sh): BUILD_DIR, SOURCE_DIR, TEST_TIMEOUT, GTEST_FILTER,
# RESULTS_DISK.
set -u
# shellcheck source=/dev/null # written by the host at staging time
. /etc/bpfready-guest.conf
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bpfready-guest/bin
export HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb
export BPFREADY_REQUIRE_SYSTEM_TESTS=1
here=$SOURCE_DIR/tests/kernels/guest
# The tracepoints whose release is measured after the tests: the syscall ones
# (raw and per-syscall), the one ebpf_diag's perf_tp probe attaches to, and
# two other task events.
TRACEPOINT_EVENTS='raw_syscalls/sys_enter raw_syscalls/sys_exit syscalls/sys_enter_getppid task/task_rename task/task_newtask sched/sched_process_fork'

say() { echo "BPFREADY-GUEST: $*" >/dev/console; }

finish() {
  say "writing results to $RESULTS_DISK"
  tar -C "$results" -cf "$RESULTS_DISK" . || say "cannot write the results disk"
  sync
  say "powering off"
  reboot -f
}

mount_fs() {  # TYPE TARGET OPTIONS
  mkdir -p "$2"
  mount -t "$1" -o "$3" "$1" "$2" || say "cannot mount $1 on $2"
}

mount -o remount,rw / 2>/dev/null
mount_fs proc /proc nosuid,nodev,noexec
mount_fs sysfs /sys nosuid,nodev,noexec
mount_fs tmpfs /run nosuid,nodev,mode=0755
mkdir -p /run/lock && chmod 1777 /run/lock
# /tmp stays on the root disk, as on Debian 12: a nosuid tmpfs there would
# void the file capabilities the tests set on copies in /tmp.
chmod 1777 /tmp
mount_fs devpts /dev/pts nosuid,noexec,gid=5,mode=0620,ptmxmode=0000
mount_fs tmpfs /dev/shm nosuid,nodev,mode=1777
for link in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do
  [ -e "/dev/${link%%:*}" ] || ln -sf "${link#*:}" "/dev/${link%%:*}"
done
mount_fs cgroup2 /sys/fs/cgroup nosuid,nodev,noexec,nsdelegate
mount_fs bpf /sys/fs/bpf nosuid,nodev,noexec,mode=0700
mount_fs securityfs /sys/kernel/security nosuid,nodev,noexec
mount_fs debugfs /sys/kernel/debug nosuid,nodev,noexec
mount_fs tracefs /sys/kernel/tracing nosuid,nodev,noexec
hostname bpfready-guest

results=/run/bpfready-results
mkdir -p "$results"
release=$(uname -r)
say "up: kernel $release"

{
  echo "release=$release"
  echo "cmdline=$(cat /proc/cmdline)"
  for key in kernel/perf_event_paranoid kernel/unprivileged_bpf_disabled kernel/kptr_restrict net/core/bpf_jit_enable; do
    echo "$key=$(cat "/proc/sys/$key" 2>/dev/null || echo '?')"
  done
  echo "tracefs_mode=$(stat -c %a /sys/kernel/tracing)"
  echo "btf=$(test -e /sys/kernel/btf/vmlinux && echo yes || echo no)"
  echo "lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null || echo '?')"
  echo "cpus=$(nproc)"
  echo "--- mounts"
  cat /proc/self/mounts
} >"$results/env.txt" 2>&1

start=$(date +%s)
for suite in system_tests privilege_tests; do
  say "suite $suite"
  sh "$here/run-gtest.sh" "$BUILD_DIR/tests/$suite" "$results/$suite" "$TEST_TIMEOUT" "$GTEST_FILTER"
done
say "scenario"
sh "$here/scenario.sh" "$results/scenario"

{
  echo "release=$release"
  for part in system_tests privilege_tests scenario; do
    echo "$part=$(cat "$results/$part/counts" 2>/dev/null || echo 'missing')"
  done
  echo "filter=$GTEST_FILTER"
  echo "guest_seconds=$(($(date +%s) - start))"
} >"$results/summary.txt"

# A measurement, not a test: what releasing a perf-event tracepoint costs on
# this kernel (bench/tracepoint_release.c; docs/ebpf_diag.md, Cost), after the
# tests so that it does not slow them. Its status goes into the summary but
# never into the verdict.
say "bench tracepoint_release"
# trace_grace_periods BENCH: which grace periods the releases wait for. Runs
# BENCH -n 1 on two events under the function_graph tracer, limited to the
# kernel's synchronous grace-period waits, and prints each call with its
# duration, in order: per event the perf event's close (unregistration), the
# link's close with a second event holding the tracepoint (detach), the
# holder's close (unregistration), and the link's close alone (both).
trace_grace_periods() {
  t=/sys/kernel/tracing
  grep -qw function_graph "$t/available_tracers" 2>/dev/null || {
    echo "--- no function_graph tracer: grace periods not traced"
    return 0
  }
  : >"$t/set_ftrace_filter"
  for fn in synchronize_rcu_tasks_trace synchronize_rcu_tasks synchronize_rcu synchronize_rcu_expedited \
    synchronize_srcu synchronize_srcu_expedited rcu_barrier_tasks_trace; do
    echo "$fn" >>"$t/set_ftrace_filter" 2>/dev/null
  done
  # An empty filter would trace every function of the kernel.
  grep -q . "$t/set_ftrace_filter" || {
    echo "--- none of the grace-period functions is traceable: not traced"
    return 0
  }
  echo "--- grace-period waits, traced (function_graph on: $(tr '\n' ' ' <"$t/set_ftrace_filter"))"
  for event in raw_syscalls/sys_enter task/task_rename; do
    echo "--- $event: tracepoint_release -n 1 $event"
    : >"$t/trace"
    echo function_graph >"$t/current_tracer"
    "$1" -n 1 "$event" >/dev/null
    # Stopped before it is read: changing the tracer empties the buffer.
    echo 0 >"$t/tracing_on"
    grep -E 'synchronize|rcu_barrier' "$t/trace"
    echo nop >"$t/current_tracer"
    echo 1 >"$t/tracing_on"
  done
  : >"$t/set_ftrace_filter"
}
bench=$BUILD_DIR/bench/tracepoint_release
bench_log=$results/tracepoint_release.log
if [ -x "$bench" ]; then
  {
    echo "kernel $release, $(nproc) CPU(s), $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "\$ tracepoint_release -n 5 $TRACEPOINT_EVENTS"
    # shellcheck disable=SC2086 # a list of event names, split on purpose
    timeout -k 10 300 "$bench" -n 5 $TRACEPOINT_EVENTS
  } >"$bench_log" 2>&1 </dev/null
  bench_status="exit $?"
  trace_grace_periods "$bench" >>"$bench_log" 2>&1 </dev/null
else
  echo "$bench is missing: the build made no bench/tracepoint_release" >"$bench_log"
  bench_status=missing
fi
echo "tracepoint_release=$bench_status" >>"$results/summary.txt"
while read -r line; do say "summary $line"; done <"$results/summary.txt"
finish
