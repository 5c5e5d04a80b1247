#!/usr/bin/env bash
# Wall time and peak memory of `ebpf_diag --json` next to `bpftool feature
# probe`, in the same run: RUNS runs of each, alternating (diag, bpftool,
# diag, ...), after one warm-up of each. Prints each command's median, the
# ratio of the medians, and the max RSS of each (GNU time's %M, the
# process's ru_maxrss; time itself is small, and a process's maxrss counts
# what its parent's copy held before exec, so the runs are not forked from
# Python). BASELINE=PATH adds a third command, another ebpf_diag build
# (e.g. main's), to the same alternation. ebpf_diag loads, attaches and triggers three programs end to
# end; bpftool only loads programs to learn which types and helpers the
# kernel accepts, and never attaches one.
#
# ebpf_diag leaves the release of its perf-event link (the kernel waits for
# RCU grace periods there) to a child process once its report is out; the
# "released" column is the time until that child is gone too, so the whole
# cost stays visible (the bench is the subreaper of that orphan).
#
#   sudo [BASELINE=OTHER_EBPF_DIAG] bench/ebpf_diag_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-10}
diag="$build/tools/ebpf_diag/ebpf_diag"
[ -x "$diag" ] || { echo "no $diag: build first" >&2; exit 2; }
command -v bpftool >/dev/null || { echo "bpftool missing: sudo setup/install-deps.sh" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: both tools probe the kernel for real" >&2; exit 2; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive number, not '$runs'" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time missing (package time)" >&2; exit 2; }
baseline=${BASELINE:-}
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "BASELINE=$baseline is not an executable" >&2; exit 2; }

python3 - "$diag" "$runs" "$baseline" <<'PY'
import ctypes, os, statistics, subprocess, sys, tempfile, time

diag, runs, baseline = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
commands = {"ebpf_diag --json": [diag, "--json"], "bpftool feature probe": ["bpftool", "feature", "probe"]}
if baseline:
    commands["baseline ebpf_diag --json"] = [baseline, "--json"]
rss_file = tempfile.NamedTemporaryFile(prefix="bpfready-bench-", suffix=".rss")

def run(argv):
    """(wall ms to the process's exit, ms until every orphan it left is gone too, max RSS KiB, exit status)"""
    start = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, _ = os.wait4(proc.pid, 0)
    exited = time.perf_counter()
    proc.returncode = os.waitstatus_to_exitcode(status)
    while True:  # orphans reparented to us: ebpf_diag's releasing child
        try:
            os.wait4(-1, 0)
        except ChildProcessError:
            break
    released = time.perf_counter()
    with open(rss_file.name) as f:
        rss = int(f.read().split()[-1])
    return (exited - start) * 1e3, (released - start) * 1e3, rss, proc.returncode

for argv in commands.values():
    run(argv)  # warm-up: page cache, first BTF parse
results = {name: [] for name in commands}
for _ in range(runs):
    for name, argv in commands.items():
        results[name].append(run(argv))

print(f"{runs} alternating runs of each (kernel {os.uname().release}, {os.cpu_count()} CPUs)")
print(f"{'command':<26} {'median ms':>10} {'min':>8} {'max':>8} {'released ms':>12} {'max RSS KiB':>12} {'exit':>5}")
medians = {}
for name, rows in results.items():
    wall = [r[0] for r in rows]
    medians[name] = statistics.median(wall)
    codes = sorted({r[3] for r in rows})
    print(f"{name:<26} {medians[name]:10.1f} {min(wall):8.1f} {max(wall):8.1f} "
          f"{statistics.median(r[1] for r in rows):12.1f} {max(r[2] for r in rows):12d} {','.join(map(str, codes)):>5}")
print(f"ratio of medians ebpf_diag/bpftool: {medians['ebpf_diag --json'] / medians['bpftool feature probe']:.2f}")
if baseline:
    print(f"ratio of medians baseline/bpftool: "
          f"{medians['baseline ebpf_diag --json'] / medians['bpftool feature probe']:.2f}")
print(f"ebpf_diag max RSS: {max(r[2] for r in results['ebpf_diag --json']) / 1024:.1f} MiB")
PY
