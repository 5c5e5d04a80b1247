#!/bin/sh
# run-gtest.sh BINARY OUTDIR TIMEOUT [FILTER]: runs every test of a GoogleTest
# binary that FILTER (a --gtest_filter, default '*') selects
# in a process of its own, in the binary's directory, the way ctest runs the
# tests gtest_discover_tests found (tests/CMakeLists.txt): a test passes on
# exit 0, is skipped when its output says "[  SKIPPED ]", fails otherwise or
# when it outlives TIMEOUT seconds. Writes OUTDIR/NAME.log per test,
# OUTDIR/results.txt (STATUS NAME SECONDS) and OUTDIR/counts
# ("PASSED FAILED SKIPPED").
set -u
binary=$1
out=$2
limit=$3
filter=${4:-*}
suite=$(basename "$binary")
mkdir -p "$out"

say() { echo "BPFREADY-GUEST: $*" >/dev/console; }

passed=0
failed=0
skipped=0
: >"$out/results.txt"
# "Suite." lines open a suite, indented lines name its tests; the comments
# gtest adds to typed and parameterised tests follow the first field.
if ! "$binary" --gtest_list_tests --gtest_filter="$filter" >"$out/list.txt" 2>&1; then
  say "$suite: cannot list the tests (see $suite/list.txt)"
  echo "0 1 0" >"$out/counts"
  exit 1
fi
awk '/^[^ ]/ { suite = ($1 ~ /\.$/) ? $1 : ""; next }
     /^  / && suite != "" { print suite $1 }' "$out/list.txt" >"$out/tests.txt"
if [ ! -s "$out/tests.txt" ]; then
  say "$suite: no tests listed"
  echo "0 1 0" >"$out/counts"
  exit 1
fi

cd "$(dirname "$binary")" || exit 1
while read -r test; do
  log="$out/$(echo "$test" | tr '/' '_').log"
  began=$(date +%s)
  timeout -k 10 "$limit" "$binary" --gtest_filter="$test" --gtest_also_run_disabled_tests >"$log" 2>&1 </dev/null
  rc=$?
  seconds=$(($(date +%s) - began))
  if [ "$rc" -eq 0 ] && grep -q '\[  SKIPPED \]' "$log"; then
    status=SKIP
    skipped=$((skipped + 1))
  elif [ "$rc" -eq 0 ]; then
    status=PASS
    passed=$((passed + 1))
  else
    status=FAIL
    [ "$rc" -eq 124 ] && echo "run-gtest: timed out after $limit s" >>"$log"
    failed=$((failed + 1))
  fi
  echo "$status $test ${seconds}s" >>"$out/results.txt"
  say "$suite $status $test (${seconds}s)"
done <"$out/tests.txt"
echo "$passed $failed $skipped" >"$out/counts"
