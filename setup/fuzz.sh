#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan) and runs
# each for SECONDS_EACH seconds (default 30), starting from a copy of its
# committed seed corpus (tests/fuzz/corpus/NAME) and its regression inputs
# (tests/fuzz/regressions/NAME, if any), with its dictionary
# (tests/fuzz/dict/NAME.dict, if any).
#
#   ./setup/fuzz.sh [SECONDS_EACH] [NAME...]      (default: every harness)
#
# A finding (crash, sanitizer report, uncaught exception, timeout, leak,
# out-of-memory) fails the run: the exit status is 1, the reproducer is kept
# in BUILD/fuzz-findings/NAME/, and `BUILD/tests/fuzz/fuzz_NAME REPRODUCER`
# replays it. A harness that does not build fails the run too, after the
# others have run. The grown corpora stay in BUILD/fuzz-corpus/NAME.
#
# BPFREADY_FUZZ_BUILD_DIR: build directory (default build-fuzz).
# BPFREADY_FUZZ_JOBS: build jobs (default: every CPU).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS_EACH must be a positive integer, not '$seconds'" >&2; exit 2; }

# Every harness with the longest input it gets: a little above the largest
# real file of its kind, so that time goes into shapes, not sizes.
declare -A max_len=(
  [kernel_config]=16384 [kernel_config_gz]=8192 [proc_status]=4096 [sysctl_int]=64
  [lockdown]=128 [kernel_version]=128 [mountinfo]=8192 [text]=1024 [syscount_args]=1024
  [journal]=16384 [sysctl_conf]=4096 [group_record]=4096 [passwd_record]=4096
)
# Order: those over code that exists longest first, the newest parsers last.
all=(kernel_config kernel_config_gz proc_status sysctl_int lockdown kernel_version mountinfo text
     syscount_args journal sysctl_conf group_record passwd_record)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
for name in "${names[@]}"; do
  [ -n "${max_len[$name]:-}" ] || { echo "fuzz.sh: no harness '$name' (one of: ${all[*]})" >&2; exit 2; }
done

./setup/install-deps.sh
build=${BPFREADY_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${BPFREADY_FUZZ_JOBS:-$(nproc)}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
mkdir -p "$build"
if ! CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFREADY_FUZZ=ON \
       -DBPFREADY_TESTS=OFF "${launcher[@]}" >"$build/fuzz-configure.log" 2>&1; then
  cat "$build/fuzz-configure.log" >&2
  echo "fuzz.sh: configuring $build failed" >&2
  exit 1
fi

failed=()
built=()
for name in "${names[@]}"; do
  if cmake --build "$build" -j"$jobs" --target "fuzz_$name" >"$build/fuzz_$name.build.log" 2>&1; then
    built+=("$name")
  else
    echo "fuzz.sh: fuzz_$name does not build; see $build/fuzz_$name.build.log" >&2
    grep -m5 -E 'error' "$build/fuzz_$name.build.log" >&2 || true
    failed+=("$name (build)")
  fi
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/fuzz-logs"
printf '%-18s %12s  %s\n' harness executions result
for name in "${built[@]}"; do
  corpus="$build/fuzz-corpus/$name"
  findings="$build/fuzz-findings/$name"
  log="$build/fuzz-logs/$name.log"
  rm -rf "$corpus" "$findings"
  mkdir -p "$corpus" "$findings"
  cp tests/fuzz/corpus/"$name"/* "$corpus"/
  if [ -d "tests/fuzz/regressions/$name" ]; then cp tests/fuzz/regressions/"$name"/* "$corpus"/; fi
  dict=()
  [ -f "tests/fuzz/dict/$name.dict" ] && dict=(-dict="tests/fuzz/dict/$name.dict")
  status=0
  "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len="${max_len[$name]}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" "$corpus" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    printf '%-18s %12s  %s\n' "$name" "${execs:-?}" ok
    continue
  fi
  printf '%-18s %12s  %s\n' "$name" "${execs:-?}" "FINDING (exit $status)"
  failed+=("$name")
  grep -E '^(==[0-9]+==ERROR|SUMMARY|FUZZ FINDING|.*runtime error)' "$log" | head -5 | sed 's/^/    /'
  grep -E '^ +#[0-9]+ ' "$log" | head -12 | sed 's/^/    /'
  ls "$findings"/* 2>/dev/null | sed 's/^/    reproducer: /'
  echo "    log: $log"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings or build failures in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#built[@]} harness(es), ${seconds} s each, no findings"
