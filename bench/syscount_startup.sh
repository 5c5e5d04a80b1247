#!/bin/bash
# syscount's start-up cost against strace's: the wall time (and the CPU time,
# user + system, which a busy host stretches less)
# of `syscount -o /dev/null -- /bin/true` and of
# `strace -f -c -o /dev/null /bin/true`, run alternately, RUNS times each,
# medians printed with their ratios. Prints figures; asserts nothing.
#
# usage: bench/syscount_startup.sh [BUILD_DIR] [RUNS]
#   BUILD_DIR  a configured and built tree (default: build-sc next to this script)
#   RUNS       runs of each (default 10)
# Run as root or as a user allowed to run syscount (the file capabilities).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build-sc}" && pwd)
runs=${2:-10}
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
  "$timed" "$syscount" -o /dev/null -- /bin/true >> "$work/syscount"
  "$timed" strace -f -c -o /dev/null /bin/true >> "$work/strace"
done

sc_wall=$(cut -d' ' -f1 "$work/syscount" | median)
st_wall=$(cut -d' ' -f1 "$work/strace" | median)
sc_cpu=$(cut -d' ' -f2 "$work/syscount" | median)
st_cpu=$(cut -d' ' -f2 "$work/strace" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
echo "start-up: $runs alternating runs each, medians ($(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
printf '  %-46s %8.2f ms wall  %6.1f ms CPU\n' "syscount -o /dev/null -- /bin/true" "$sc_wall" "$sc_cpu"
printf '  %-46s %8.2f ms wall  %6.1f ms CPU\n' "strace -f -c -o /dev/null /bin/true" "$st_wall" "$st_cpu"
echo "  ratio syscount / strace: $(ratio "$sc_wall" "$st_wall") wall (goal <= 1.5), $(ratio "$sc_cpu" "$st_cpu") CPU"
