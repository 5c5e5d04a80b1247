#!/usr/bin/env bash
# Wall time and peak memory of `ebpf_diag --json` next to `bpftool feature
# probe`, measured in the same run. ebpf_diag loads, attaches and triggers
# two programs end to end; bpftool only probes which program and map types
# and helpers the kernel accepts.
#
#   sudo bench/ebpf_diag_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-20}
diag="$build/tools/ebpf_diag/ebpf_diag"
[ -x "$diag" ] || { echo "no $diag: build first" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine missing: sudo setup/install-deps.sh" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: both tools probe the kernel for real" >&2; exit 2; }

peak_kib() {  # max RSS of one run, from GNU time
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
hyperfine --warmup 3 --runs "$runs" -N --export-json "$out/h.json" \
  -n "ebpf_diag --json" "$diag --json" \
  -n "bpftool feature probe" "bpftool feature probe" >/dev/null

diag_kib=$(peak_kib "$diag" --json)
bpftool_kib=$(peak_kib bpftool feature probe)

python3 - "$out/h.json" "$diag_kib" "$bpftool_kib" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
diag, peer = results["ebpf_diag --json"], results["bpftool feature probe"]
mem = {"ebpf_diag --json": int(sys.argv[2]), "bpftool feature probe": int(sys.argv[3])}
print(f"{'command':<24} {'mean ms':>9} {'stddev':>8} {'median ms':>10} {'peak RSS KiB':>13}")
for name, r in (("ebpf_diag --json", diag), ("bpftool feature probe", peer)):
    print(f"{name:<24} {r['mean']*1e3:9.2f} {r['stddev']*1e3:8.2f} {r['median']*1e3:10.2f} {mem[name]:13d}")
print(f"ratio ebpf_diag/bpftool: wall time {diag['median']/peer['median']:.3f}, "
      f"peak memory {mem['ebpf_diag --json']/mem['bpftool feature probe']:.3f}")
PY
