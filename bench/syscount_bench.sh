#!/bin/bash
# syscount benchmark: nanoseconds added per syscall by each way of counting
# syscalls, measured on a loop of getppid() calls, and the cost syscount puts
# on processes it does not trace; beside each row, the kernel's own figure
# for each BPF program (run_time_ns / run_cnt over the loop, with the BPF
# run-time statistics on), which resolves what the loop cannot where a
# syscall costs a microsecond; and the start-up cost against strace
# (bench/syscount_startup.sh). Prints figures; asserts nothing.
#
# usage (root): bench/syscount_bench.sh [BUILD_DIR] [N] [RUNS] [BASELINE]
#   BUILD_DIR  a configured and built tree (default: build-sc next to this script)
#   N          getppid calls per run (default 5000000; strace gets N/50)
#   RUNS       rounds; each round runs every configuration once, and the
#              fastest run of each counts (default 5)
#   BASELINE   optional: an older syscount binary, measured in the same
#              rounds (default and -L rows), for an A/B of a change
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build-sc}" && pwd)
n=${2:-5000000}
runs=${3:-5}
baseline=${4:-}
# The loop runs on the last CPU, away from where most housekeeping lands.
cpu=$(( $(nproc) - 1 ))
strace_n=$((n / 50))

syscount=$build/tools/syscount/syscount
maker=$build/tests/support/syscount_maker
# The floor, an empty raw_tp/sys_enter program, and the loader that holds it
# attached: both built with the tree (bench/CMakeLists.txt).
floor=$build/bench/syscount_floor.bpf.o
attach=$build/bench/syscount_attach
stats_hold=$build/bench/bpf_stats_hold
libbpf_syscount=/usr/sbin/syscount
for tool in "$syscount" "$maker" "$attach" "$stats_hold" "$libbpf_syscount" ${baseline:+"$baseline"}; do
  [[ -x $tool ]] || { echo "missing $tool: build the tree first" >&2; exit 2; }
done
[[ -f $floor ]] || { echo "missing $floor: build the tree first" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run as root (the other tools need it)" >&2; exit 2; }
for tool in bpftool jq; do
  command -v "$tool" > /dev/null || { echo "$tool is needed to read the programs' statistics" >&2; exit 2; }
done
# bpftrace's tracepoints and libbpf-tools resolve events through tracefs.
mounted_tracefs=""
if [[ ! -d /sys/kernel/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing && mounted_tracefs=1
fi

work=$(mktemp -d /tmp/syscount_bench.XXXXXX)
cleanup() {
  [[ -z $tracer ]] || { kill -INT "$tracer" 2>/dev/null || true; wait "$tracer" 2>/dev/null || true; }
  [[ -z $holder ]] || { kill -INT "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; }
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
      grep -q "$pattern" "$work/tracer.out" 2> /dev/null && return 0
      kill -0 "$tracer" 2>/dev/null || break
      sleep 0.1
    done
    echo "tracer did not start: $*" >&2; cat "$work/tracer.out" >&2; exit 1
  fi
  sleep 1
}
stop_tracer() {
  # A command the tracer started first (as Ctrl-C would reach it through the
  # process group), then the tracer: nothing is left running.
  pkill -TERM -P "$tracer" 2>/dev/null || true
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  tracer=""
}

# --- the kernel's statistics of each program ------------------------------
# Held on (bench/bpf_stats_hold.c) for the whole run, off again after.
holder=""
"$stats_hold" > "$work/holder.out" 2>&1 &
holder=$!
for ((t = 0; t < 100; t++)); do grep -q enabled "$work/holder.out" && break; sleep 0.1; done
grep -q enabled "$work/holder.out" || { cat "$work/holder.out" >&2; exit 1; }

# Every loaded program as a JSON array. bpftool reports an error object when
# a program goes away while it lists them (another tool ending): it is asked
# again.
programs() {
  local json t
  for ((t = 0; t < 20; t++)); do
    json=$(bpftool prog show -j 2> /dev/null) || true
    jq -e 'type == "array"' <<< "$json" > /dev/null 2>&1 && { echo "$json"; return; }
    sleep 0.05
  done
  echo "bpftool cannot list the programs" >&2
  exit 1
}
known=" "
remember_programs() { known=" $(programs | jq -r '.[].id' | tr '\n' ' ') "; }
# Ids of the programs named $1 loaded since remember_programs: this run's,
# not another tool's of the same name.
new_ids() {
  programs | jq -r --arg n "$1" --arg k "$known" \
    '.[] | select(.name == $n) | .id as $id | select($k | contains(" \($id) ") | not) | $id' | tr '\n' ' '
}
# "RUN_CNT RUN_TIME_NS" of the program ids given, summed.
stats_of() {
  local id c t total_c=0 total_t=0
  for id in "$@"; do
    read -r c t < <(bpftool prog show id "$id" -j 2> /dev/null |
      jq -r 'if type == "object" and has("id") then "\(.run_cnt // 0) \(.run_time_ns // 0)" else "0 0" end')
    total_c=$((total_c + c)); total_t=$((total_t + t))
  done
  echo "$total_c $total_t"
}
declare -A runs_of time_of  # "ROW PROG" -> run_cnt, run_time_ns, summed over rounds
declare -A progs_of         # ROW -> the programs measured for it
declare -A fixed_ids        # PROG -> its ids, where a row has two of one name
# measure ROW PROG... -- COMMAND...: keeps the loop figure COMMAND prints for
# ROW, and what each PROG (loaded since remember_programs) cost during it.
measure() {
  local row=$1 prog; shift
  local -a names=()
  while [[ $1 != -- ]]; do names+=("$1"); shift; done; shift
  local -A ids=() before=()
  for prog in "${names[@]}"; do
    ids[$prog]=${fixed_ids[$prog]:-$(new_ids "$prog")}
    # shellcheck disable=SC2086  # a list of ids
    before[$prog]=$(stats_of ${ids[$prog]})
  done
  # Not in a subshell: COMMAND may wait for this shell's children.
  "$@" > "$work/figure"
  keep "$row" "$(cat "$work/figure")"
  progs_of[$row]="${names[*]}"
  local c0 t0 c1 t1
  for prog in "${names[@]}"; do
    read -r c0 t0 <<< "${before[$prog]}"
    # shellcheck disable=SC2086
    read -r c1 t1 <<< "$(stats_of ${ids[$prog]})"
    runs_of["$row $prog"]=$(( ${runs_of["$row $prog"]:-0} + c1 - c0 ))
    time_of["$row $prog"]=$(( ${time_of["$row $prog"]:-0} + t1 - t0 ))
  done
}

# syscount rows: the loop process waits on a FIFO while syscount attaches to
# it with -p (the same entry program as with a command, for a process it
# tracks), so that the statistics cover the loop and nothing of syscount's
# own start or end.
mkfifo "$work/go"
loop_pid=""
waiting_loop() {
  sh -c 'read -r _ < "$1"; exec taskset -c "$2" "$3" loop "$4"' sh "$work/go" "$cpu" "$maker" "$n" \
    > "$work/loop.out" 2> /dev/null &
  loop_pid=$!
}
release_loop() {
  echo go > "$work/go"
  wait "$loop_pid" || true
  grep -E '^[0-9]+(\.[0-9]+)?$' "$work/loop.out" | tail -n 1
}
# attach_syscount PROG BINARY OPTION...: BINARY -p the waiting loop, in the
# background (its pid in $started); returns once its program PROG, loaded
# since remember_programs, is linked.
started=""
attach_syscount() {
  local prog=$1 binary=$2; shift 2
  sc_runs=$((sc_runs + 1))
  "$binary" "$@" -o /dev/null -p "$loop_pid" > "$work/sc.$sc_runs.out" 2>&1 &
  started=$!
  local linked="" t
  for ((t = 0; t < 200; t++)); do
    linked=$(new_ids "$prog")
    [[ -n $linked ]] && bpftool link show -j | jq -e --arg k " $linked" \
      'any(.[]; .prog_id as $p | $k | contains(" \($p) "))' > /dev/null && return 0
    sleep 0.1
  done
  echo "syscount did not attach: $binary $*" >&2; cat "$work/sc.$sc_runs.out" >&2; exit 1
}
sc_runs=0
# Waits for the syscount of pid $1 (the command $2...), which must succeed.
syscount_done() {
  local pid=$1; shift
  wait "$pid" || { echo "syscount failed: $*" >&2; exit 1; }
}
# sc_row ROW PROG... -- SYSCOUNT_OPTION... (with SC, the binary, default
# the tree's). The first PROG is syscount's entry program: syscount_tally in
# the default mode, syscount_enter with options (and in the baseline).
# With FLOOR=first or FLOOR=last, the empty program is attached too, before
# or after syscount's: both then run on the very same calls, in that order.
sc_row() {
  local row=$1; shift
  local -a names=()
  while [[ $1 != -- ]]; do names+=("$1"); shift; done; shift
  waiting_loop
  remember_programs
  [[ ${FLOOR:-} != first ]] || start_tracer attached "$attach" "$floor" syscount_floor
  attach_syscount "${names[0]}" "${SC:-$syscount}" "$@"
  [[ ${FLOOR:-} != last ]] || start_tracer attached "$attach" "$floor" syscount_floor
  measure "$row" "${names[@]}" -- release_loop
  syscount_done "$started" "$@"
  [[ -z ${FLOOR:-} ]] || stop_tracer
}
# latency_pair_row ROW: syscount -L and the baseline's --latency on the same
# loop at once (which attaches first alternates between rounds), measured as
# programs new_enter, new_exit, base_enter and base_exit: the difference of
# the two is free of what moves between rounds.
latency_pair_row() {
  local row=$1 who
  local -a order=(new base) pids=()
  (( round % 2 == 0 )) || order=(base new)
  waiting_loop
  for who in "${order[@]}"; do
    remember_programs
    if [[ $who == new ]]; then
      attach_syscount syscount_enter "$syscount" --latency
    else
      attach_syscount syscount_enter "$baseline" --latency
    fi
    pids+=("$started")
    fixed_ids[${who}_enter]=$(new_ids syscount_enter)
    fixed_ids[${who}_exit]=$(new_ids syscount_exit)
  done
  measure "$row" new_enter new_exit base_enter base_exit -- release_loop
  fixed_ids=()
  syscount_done "${pids[0]}" "${order[0]}" --latency
  syscount_done "${pids[1]}" "${order[1]}" --latency
}
# bg_row ROW PATTERN PROG... -- TRACER...: the loop under a tracer that
# runs in the background (PATTERN in its output: attached).
bg_row() {
  local row=$1 pattern=$2; shift 2
  local -a names=()
  while [[ $1 != -- ]]; do names+=("$1"); shift; done; shift
  remember_programs
  start_tracer "$pattern" "$@"
  measure "$row" "${names[@]}" -- one "${loop[@]}"
  stop_tracer
}

declare -A added
# ns per run of program PROG of ROW over the whole run.
per_run() {
  awk -v c="${runs_of["$1 $2"]:-0}" -v t="${time_of["$1 $2"]:-0}" \
    'BEGIN { if (c > 0) printf "%.1f", t / c; else print "n/a" }'
}
row() {
  local prog shown=""
  added[$1]=$(awk -v a="$3" -v b="$base" 'BEGIN { print a - b }')
  for prog in ${progs_of[$1]:-}; do shown+="  $prog $(per_run "$1" "$prog")"; done
  printf '  %-46s %8.2f ns/call %+8.2f ns %s\n' "$2" "$3" "${added[$1]}" "$shown"
}

echo "syscount benchmark: $(uname -r), $(nproc) CPUs, N=$n getppid calls, $runs rounds, best per row"
echo "  command: $0 $*"
echo "  ns/call: measured by the loop itself, pinned to CPU $cpu; then what tracing adds; then each"
echo "  BPF program's own ns per run (kernel statistics over the loops of all rounds; the programs"
echo "  also run for the host's other processes' calls, about the same for every row)."
echo "  Every round measures every row once, so slow drift of the host hits all rows alike."

declare -A best
keep() {  # keep the lowest value seen for row $1
  best[$1]=$(awk -v a="$2" -v b="${best[$1]:-}" 'BEGIN { print (b == "" || a < b) ? a : b }')
}
loop=(taskset -c "$cpu" "$maker" loop "$n")
for ((round = 0; round < runs; round++)); do
  keep base "$(one "${loop[@]}")"
  bg_row floor attached syscount_floor -- "$attach" "$floor" syscount_floor
  bg_row floor_who attached floor_who -- "$attach" "$floor" floor_who
  bg_row floor_latency attached floor_lat_enter floor_lat_exit -- \
    "$attach" "$floor" floor_lat_enter floor_lat_exit

  sc_row sc syscount_tally --
  # The default and the floor on the same calls, each first in turn.
  FLOOR=$([[ $((round % 2)) == 0 ]] && echo first || echo last) \
    sc_row sc_paired syscount_tally syscount_floor --
  sc_row sc_errors syscount_enter syscount_exit -- --errors
  sc_row sc_latency syscount_enter syscount_exit -- --latency
  sc_row sc_both syscount_enter syscount_exit -- --errors --latency --by-thread
  # The fallback for kernels without typed tracepoints, forced here.
  if [[ -n $baseline ]]; then
    SC=$baseline sc_row base_sc syscount_enter --
    SC=$baseline sc_row base_sc_latency syscount_enter syscount_exit -- --latency
    latency_pair_row latency_paired
  fi
  sc_row sc_raw syscount_tally syscount_exit -- --flavour raw_tp
  sc_row sc_raw_latency syscount_enter syscount_exit -- --flavour raw_tp --latency

  bg_row lt "Tracing" sys_enter sys_exit -- stdbuf -oL "$libbpf_syscount"
  bg_row lt_latency "Tracing" sys_enter sys_exit -- stdbuf -oL "$libbpf_syscount" -L

  keep bpftrace "$(one bpftrace -q -e 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[args->id] = count(); } END { clear(@); }' -c "$(command -v taskset) -c $cpu $maker loop $n")"
  keep strace "$(one strace -f -c -o /dev/null -- taskset -c "$cpu" "$maker" loop "$strace_n")"

  bg_row unrelated "" syscount_tally -- "$syscount" -o /dev/null -- sleep 600
  bg_row unrelated_raw "" syscount_tally -- "$syscount" --flavour raw_tp -o /dev/null -- sleep 600
done
base=${best[base]}
row base "untraced" "$base"
row floor "empty raw_tp program (the floor)" "${best[floor]}"
row floor_who "floor + who calls (1 helper call)" "${best[floor_who]}"
row floor_latency "floor of timing: 2 hooks + 2 clock reads" "${best[floor_latency]}"
row sc "syscount (default)" "${best[sc]}"
row sc_paired "syscount (default) + the floor, same calls" "${best[sc_paired]}"
row sc_errors "syscount --errors" "${best[sc_errors]}"
row sc_latency "syscount -L (--latency)" "${best[sc_latency]}"
row sc_both "syscount --errors --latency --by-thread" "${best[sc_both]}"
if [[ -n $baseline ]]; then
  row base_sc "baseline syscount (default)" "${best[base_sc]}"
  row base_sc_latency "baseline syscount --latency" "${best[base_sc_latency]}"
  row latency_paired "syscount -L + baseline --latency, same calls" "${best[latency_paired]}"
fi
row sc_raw "syscount --flavour raw_tp (the fallback)" "${best[sc_raw]}"
row sc_raw_latency "syscount --flavour raw_tp --latency" "${best[sc_raw_latency]}"
row lt "libbpf-tools syscount" "${best[lt]}"
row lt_latency "libbpf-tools syscount -L" "${best[lt_latency]}"
row bpftrace "bpftrace: count by syscall id, /pid == cpid/" "${best[bpftrace]}"
row strace "strace -f -c (N=$strace_n)" "${best[strace]}"
row unrelated "unrelated process, syscount tracing another" "${best[unrelated]}"
row unrelated_raw "unrelated process, raw_tp syscount tracing another" "${best[unrelated_raw]}"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0 || a == "n/a" || b == "n/a") print "n/a"; else printf "%.2f", a / b }'; }
# A program that never ran (n/a: libbpf-tools loads sys_enter but uses it
# only with -L) adds nothing.
sum() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" && b == "n/a") print "n/a"; else print (a == "n/a" ? 0 : a) + (b == "n/a" ? 0 : b) }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", a - b }'; }
echo
echo "ratios from the loop (ns added / ns added by libbpf-tools, same run):"
echo "  syscount default   / syscount      : $(ratio "${added[sc]}" "${added[lt]}")"
echo "  syscount --errors  / syscount      : $(ratio "${added[sc_errors]}" "${added[lt]}")"
echo "  syscount -L        / syscount -L   : $(ratio "${added[sc_latency]}" "${added[lt_latency]}")"
echo "  syscount default   - floor         : $(minus "${added[sc]}" "${added[floor]}") ns   (goal within 10 ns)"
echo "  syscount default   - floor + who   : $(minus "${added[sc]}" "${added[floor_who]}") ns"
echo "  syscount -L        - timing floor  : $(minus "${added[sc_latency]}" "${added[floor_latency]}") ns"
echo "  unrelated process  - floor         : $(minus "${added[unrelated]}" "${added[floor]}") ns"
if [[ -n $baseline ]]; then
  echo "  syscount default   - baseline      : $(minus "${added[sc]}" "${added[base_sc]}") ns   (baseline: $baseline)"
  echo "  syscount -L        - baseline -L   : $(minus "${added[sc_latency]}" "${added[base_sc_latency]}") ns   (goal within 10 ns)"
fi
echo "ratios from the kernel's statistics (ns per run of the programs):"
echo "  syscount_tally (default) / libbpf-tools sys_enter : $(ratio "$(per_run sc syscount_tally)" "$(per_run lt sys_enter)")   (goal <= 0.5; n/a: it did not run)"
echo "  syscount_tally (default) / libbpf-tools sys_enter where it runs (-L): $(ratio "$(per_run sc syscount_tally)" "$(per_run lt_latency sys_enter)")"
echo "  syscount_tally (default) / libbpf-tools enter+exit: $(ratio "$(per_run sc syscount_tally)" "$(sum "$(per_run lt sys_enter)" "$(per_run lt sys_exit)")")   (what each counts with)"
echo "  syscount --errors enter+exit / libbpf-tools enter+exit: $(ratio "$(sum "$(per_run sc_errors syscount_enter)" "$(per_run sc_errors syscount_exit)")" "$(sum "$(per_run lt sys_enter)" "$(per_run lt sys_exit)")")"
echo "  syscount -L enter+exit / libbpf-tools -L enter+exit: $(ratio "$(sum "$(per_run sc_latency syscount_enter)" "$(per_run sc_latency syscount_exit)")" "$(sum "$(per_run lt_latency sys_enter)" "$(per_run lt_latency sys_exit)")")"
echo "  syscount -L enter+exit / timing floor enter+exit : $(ratio "$(sum "$(per_run sc_latency syscount_enter)" "$(per_run sc_latency syscount_exit)")" "$(sum "$(per_run floor_latency floor_lat_enter)" "$(per_run floor_latency floor_lat_exit)")")"
echo "  syscount_tally (default) / empty program          : $(ratio "$(per_run sc syscount_tally)" "$(per_run floor syscount_floor)")"
echo "  syscount_tally (default) - empty program          : $(minus "$(per_run sc syscount_tally)" "$(per_run floor syscount_floor)") ns per run"
echo "  floor + who calls        - empty program          : $(minus "$(per_run floor_who floor_who)" "$(per_run floor syscount_floor)") ns per run"
echo "  syscount_tally (default) - floor + who calls      : $(minus "$(per_run sc syscount_tally)" "$(per_run floor_who floor_who)") ns per run"
echo "  syscount_tally (default) - empty program, paired  : $(minus "$(per_run sc_paired syscount_tally)" "$(per_run sc_paired syscount_floor)") ns per run   (both on the same calls; $(per_run sc_paired syscount_tally) - $(per_run sc_paired syscount_floor))"
if [[ -n $baseline ]]; then
  echo "  syscount -L enter+exit - baseline -L enter+exit   : $(minus "$(sum "$(per_run sc_latency syscount_enter)" "$(per_run sc_latency syscount_exit)")" "$(sum "$(per_run base_sc_latency syscount_enter)" "$(per_run base_sc_latency syscount_exit)")") ns per call"
  echo "  syscount -L enter+exit - baseline -L, paired      : $(minus "$(sum "$(per_run latency_paired new_enter)" "$(per_run latency_paired new_exit)")" "$(sum "$(per_run latency_paired base_enter)" "$(per_run latency_paired base_exit)")") ns per call   (both on the same calls; goal within 10 ns)"
fi

# --- the default against the floor by the loop, in close pairs -----------
# The rows above are minutes apart, and with the statistics on every program
# run also pays the statistics' two clock reads. Here the statistics are off
# (this script's hold on them is released) and each pair runs the loop under
# the floor and under syscount's default right after each other, the order
# alternating: the median of the pairs' differences.
kill -INT "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
holder=""
pairs=${PAIRS:-15}
differences=()
for ((pair = 0; pair < pairs; pair++)); do
  order=(floor sc)
  (( pair % 2 == 0 )) || order=(sc floor)
  for who in "${order[@]}"; do
    if [[ $who == floor ]]; then
      start_tracer attached "$attach" "$floor" syscount_floor
      floor_loop=$(one "${loop[@]}")
      stop_tracer
    else
      waiting_loop
      remember_programs
      attach_syscount syscount_tally "$syscount"
      release_loop > "$work/figure"  # not in a subshell: it waits for the loop
      sc_loop=$(cat "$work/figure")
      syscount_done "$started" default
    fi
  done
  differences+=("$(awk -v a="$sc_loop" -v b="$floor_loop" 'BEGIN { print a - b }')")
done
echo
echo "syscount default - floor by the loop, $pairs close pairs (N=$n each, statistics $(
  [[ $(cat /proc/sys/kernel/bpf_stats_enabled 2> /dev/null) == 0 ]] && echo off || echo "on (held elsewhere)")):"
printf '%s\n' "${differences[@]}" | sort -g | awk '{ d[NR] = $1 } END {
  m = (NR % 2) ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2
  printf "  median %+.2f ns per call (goal within 10 ns), middle half %+.2f to %+.2f, all %+.2f to %+.2f\n",
    m, d[int(NR / 4) + 1], d[NR - int(NR / 4)], d[1], d[NR] }'

echo
"$here/syscount_startup.sh" "$build" 10
