#!/bin/bash
# syscount's start-up cost against strace's: the wall time (and the CPU time,
# user + system, which a busy host stretches less)
# of `syscount -o /dev/null -- /bin/true` and of
# `strace -f -c -o /dev/null /bin/true`, run alternately, RUNS times each,
# medians printed with their ratios. Prints figures; asserts nothing.
#
# Two series. In the first, each run follows a pause of PAUSE seconds, as a
# run after anything else would. In the second, the runs follow each other
# with no pause: there a syscount run attaches within a kernel RCU grace
# period of the previous run's detach, and the kernel makes a tracepoint's
# first probe wait for that grace period (tracepoint_add_func, the 1->0->1
# transition; 5.14+), which is the previous run's cost, not this one's, and
# which strace, using no tracepoint, never pays.
#
# usage: bench/syscount_startup.sh [BUILD_DIR] [RUNS] [PAUSE]
#   BUILD_DIR  a configured and built tree (default: build-sc next to this script)
#   RUNS       runs of each, per series (default 10)
#   PAUSE      seconds before each run of the first series (default 0.1; a
#              grace period here takes 10-40 ms)
# Run as root or as a user allowed to run syscount (the file capabilities).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build-sc}" && pwd)
runs=${2:-10}
pause=${3:-0.1}
syscount=$build/tools/syscount/syscount
# "WALL_MS CPU_MS" of one run (bench/run_timed.c).
timed=$build/bench/run_timed
for tool in "$syscount" "$timed"; do
  [[ -x $tool ]] || { echo "missing $tool: build the tree first" >&2; exit 2; }
done
command -v strace > /dev/null || { echo "strace is not installed" >&2; exit 2; }

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

work=$(mktemp -d /tmp/syscount_startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
# One warm-up each: page cache, dynamic loader.
"$syscount" -o /dev/null -- /bin/true > /dev/null 2>&1 || { echo "syscount cannot run here" >&2; exit 2; }
strace -f -c -o /dev/null /bin/true > /dev/null 2>&1
for ((i = 0; i < runs; i++)); do
  sleep "$pause"
  "$timed" "$syscount" -o /dev/null -- /bin/true >> "$work/syscount"
  sleep "$pause"
  "$timed" strace -f -c -o /dev/null /bin/true >> "$work/strace"
done
for ((i = 0; i < runs; i++)); do
  "$timed" "$syscount" -o /dev/null -- /bin/true >> "$work/syscount_b2b"
  "$timed" strace -f -c -o /dev/null /bin/true >> "$work/strace_b2b"
done

column() { cut -d' ' -f"$2" "$work/$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
sc_wall=$(column syscount 1)
st_wall=$(column strace 1)
sc_cpu=$(column syscount 2)
st_cpu=$(column strace 2)
echo "start-up: $runs alternating runs each, medians ($(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), pid_max $(cat /proc/sys/kernel/pid_max))"
echo "  each run after a pause of ${pause} s:"
printf '  %-46s %8.2f ms wall  %6.1f ms CPU\n' "syscount -o /dev/null -- /bin/true" "$sc_wall" "$sc_cpu"
printf '  %-46s %8.2f ms wall  %6.1f ms CPU\n' "strace -f -c -o /dev/null /bin/true" "$st_wall" "$st_cpu"
echo "  ratio syscount / strace: $(ratio "$sc_wall" "$st_wall") wall (goal <= 1.5), $(ratio "$sc_cpu" "$st_cpu") CPU"
b2b_sc=$(column syscount_b2b 1)
b2b_st=$(column strace_b2b 1)
echo "  back to back, no pause (the previous run's grace period lands in the next attach):"
printf '  %-46s %8.2f ms wall  %6.1f ms CPU\n' "syscount -o /dev/null -- /bin/true" "$b2b_sc" "$(column syscount_b2b 2)"
printf '  %-46s %8.2f ms wall  %6.1f ms CPU\n' "strace -f -c -o /dev/null /bin/true" "$b2b_st" "$(column strace_b2b 2)"
echo "  ratio syscount / strace: $(ratio "$b2b_sc" "$b2b_st") wall"
