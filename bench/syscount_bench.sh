#!/bin/bash
# syscount benchmark: nanoseconds added per syscall by each way of counting
# syscalls, measured on a loop of getppid() calls, and the cost syscount puts
# on processes it does not trace. Prints figures; asserts nothing.
#
# usage (root): bench/syscount_bench.sh [BUILD_DIR] [N] [RUNS]
#   BUILD_DIR  a configured and built tree (default: build-sc next to this script)
#   N          getppid calls per run (default 5000000; strace gets N/50)
#   RUNS       rounds; each round runs every configuration once, and the
#              fastest run of each counts (default 5)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build-sc}" && pwd)
n=${2:-5000000}
runs=${3:-5}
# The loop runs on the last CPU, away from where most housekeeping lands.
cpu=$(( $(nproc) - 1 ))
strace_n=$((n / 50))

syscount=$build/tools/syscount/syscount
maker=$build/tests/support/syscount_maker
# The floor, an empty raw_tp/sys_enter program, and the loader that holds it
# attached: both built with the tree (bench/CMakeLists.txt).
floor=$build/bench/syscount_floor.bpf.o
attach=$build/bench/syscount_attach
libbpf_syscount=/usr/sbin/syscount
for tool in "$syscount" "$maker" "$attach"; do
  [[ -x $tool ]] || { echo "missing $tool: build the tree first" >&2; exit 2; }
done
[[ -f $floor ]] || { echo "missing $floor: build the tree first" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run as root (the other tools need it)" >&2; exit 2; }
# bpftrace's tracepoints and libbpf-tools resolve events through tracefs.
mounted_tracefs=""
if [[ ! -d /sys/kernel/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing && mounted_tracefs=1
fi

work=$(mktemp -d /tmp/syscount_bench.XXXXXX)
cleanup() {
  [[ -z $tracer ]] || { kill -INT "$tracer" 2>/dev/null || true; wait "$tracer" 2>/dev/null || true; }
  rm -rf "$work"
  [[ -z $mounted_tracefs ]] || umount /sys/kernel/tracing  # leave the host as it was
}
trap cleanup EXIT


# ns/call of one run of the loop, run by "$@".
one() {
  local v
  v=$("$@" 2>/dev/null | grep -E '^[0-9]+(\.[0-9]+)?$' | tail -n 1)
  [[ -n $v ]] || { echo "no result from: $*" >&2; exit 1; }
  echo "$v"
}

# Starts a tracer in the background; waits for PATTERN in its output (or a
# second when there is none) so that it is attached before measuring.
tracer=""
start_tracer() {
  local pattern=$1; shift
  "$@" > "$work/tracer.out" 2>&1 < /dev/null &
  tracer=$!
  if [[ -n $pattern ]]; then
    for ((t = 0; t < 200; t++)); do
      grep -q "$pattern" "$work/tracer.out" && return 0
      kill -0 "$tracer" 2>/dev/null || break
      sleep 0.1
    done
    echo "tracer did not start: $*" >&2; cat "$work/tracer.out" >&2; exit 1
  fi
  sleep 1
}
stop_tracer() {
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  tracer=""
}

declare -A added
row() {
  added[$1]=$(awk -v a="$3" -v b="$base" 'BEGIN { print a - b }')
  printf '  %-48s %8.2f ns/call  %+8.2f ns\n' "$2" "$3" "${added[$1]}"
}

echo "syscount benchmark: $(uname -r), $(nproc) CPUs, N=$n getppid calls, $runs rounds, best per row"
echo "  (ns/call is measured by the loop itself, pinned to CPU $cpu; the last column is what tracing adds)"
echo "  Every round measures every row once, so slow drift of the host hits all rows alike."

declare -A best
keep() {  # keep the lowest value seen for row $1
  best[$1]=$(awk -v a="$2" -v b="${best[$1]:-}" 'BEGIN { print (b == "" || a < b) ? a : b }')
}
loop=(taskset -c "$cpu" "$maker" loop "$n")
for ((round = 0; round < runs; round++)); do
  keep base "$(one "${loop[@]}")"

  start_tracer attached "$attach" "$floor"
  keep floor "$(one "${loop[@]}")"
  stop_tracer

  keep sc "$(one "$syscount" -o /dev/null -- "${loop[@]}")"
  keep sc_errors "$(one "$syscount" --errors -o /dev/null -- "${loop[@]}")"
  keep sc_latency "$(one "$syscount" --latency -o /dev/null -- "${loop[@]}")"
  keep sc_both "$(one "$syscount" --errors --latency --by-thread -o /dev/null -- "${loop[@]}")"
  # The fallback for kernels without typed tracepoints, forced here.
  keep sc_raw "$(one "$syscount" --flavour raw_tp -o /dev/null -- "${loop[@]}")"
  keep sc_raw_latency "$(one "$syscount" --flavour raw_tp --latency -o /dev/null -- "${loop[@]}")"

  start_tracer "Tracing" stdbuf -oL "$libbpf_syscount"
  keep lt "$(one "${loop[@]}")"
  stop_tracer
  start_tracer "Tracing" stdbuf -oL "$libbpf_syscount" -L
  keep lt_latency "$(one "${loop[@]}")"
  stop_tracer

  keep bpftrace "$(one bpftrace -q -e 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[args->id] = count(); } END { clear(@); }' -c "$(command -v taskset) -c $cpu $maker loop $n")"
  keep strace "$(one strace -f -c -o /dev/null -- taskset -c "$cpu" "$maker" loop "$strace_n")"

  start_tracer "" "$syscount" -o /dev/null -- sleep 600
  keep unrelated "$(one "${loop[@]}")"
  # Ending the traced command ends syscount.
  pkill -P "$tracer" -x sleep 2>/dev/null || true
  stop_tracer

  start_tracer "" "$syscount" --flavour raw_tp -o /dev/null -- sleep 600
  keep unrelated_raw "$(one "${loop[@]}")"
  pkill -P "$tracer" -x sleep 2>/dev/null || true
  stop_tracer
done

base=${best[base]}
row base "untraced" "$base"
row floor "empty raw_tp program (the floor)" "${best[floor]}"
row sc "syscount (default)" "${best[sc]}"
row sc_errors "syscount --errors" "${best[sc_errors]}"
row sc_latency "syscount --latency" "${best[sc_latency]}"
row sc_both "syscount --errors --latency --by-thread" "${best[sc_both]}"
row sc_raw "syscount --flavour raw_tp (the fallback)" "${best[sc_raw]}"
row sc_raw_latency "syscount --flavour raw_tp --latency" "${best[sc_raw_latency]}"
row lt "libbpf-tools syscount" "${best[lt]}"
row lt_latency "libbpf-tools syscount -L" "${best[lt_latency]}"
row bpftrace "bpftrace: count by syscall id, /pid == cpid/" "${best[bpftrace]}"
row strace "strace -f -c (N=$strace_n)" "${best[strace]}"
row unrelated "unrelated process, syscount tracing another" "${best[unrelated]}"
row unrelated_raw "unrelated process, raw_tp syscount tracing another" "${best[unrelated_raw]}"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
echo
echo "ratios (ns added / ns added by libbpf-tools syscount, same run):"
echo "  syscount default   / syscount      : $(ratio "${added[sc]}" "${added[lt]}")   (goal <= 0.55)"
echo "  syscount --errors  / syscount      : $(ratio "${added[sc_errors]}" "${added[lt]}")"
echo "  syscount --latency / syscount -L   : $(ratio "${added[sc_latency]}" "${added[lt_latency]}")   (goal <= 0.33)"
printf '  unrelated process - floor         : %+.2f ns   (goal within 1 ns)\n' \
  "$(awk -v a="${added[unrelated]}" -v b="${added[floor]}" 'BEGIN{print a-b}')"

echo
if command -v hyperfine > /dev/null; then
  hyperfine -N --warmup 3 --runs 30 --export-csv "$work/true.csv" \
    "$syscount -o /dev/null -- /bin/true" > /dev/null 2>&1
  awk -F, 'NR == 2 { printf "wall time of syscount -- /bin/true: %.1f ms mean, %.1f ms min (goal < 30 ms)\n", $2 * 1000, $7 * 1000 }' "$work/true.csv"
fi
