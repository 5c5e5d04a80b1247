#!/usr/bin/env bash
# Builds bpfready with warnings as errors and runs the whole test suite:
# unit tests (fixture hosts, no privileges), system tests (real BPF loads,
# need root) and privilege tests (test users with file capabilities, need root).
#
#   ./setup/test.sh          (as root; as another user it re-runs itself through sudo)
#
# Set BPFREADY_REQUIRE_SYSTEM_TESTS=1 to make a system test that cannot run
# (not root) fail instead of skip; CI does.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
  exec sudo --preserve-env=BPFREADY_REQUIRE_SYSTEM_TESTS,BPFREADY_BUILD_DIR "$0" "$@"
fi

./setup/install-deps.sh
build=${BPFREADY_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFREADY_WERROR=ON -DBPFREADY_TESTS=ON
cmake --build "$build" -j"$(nproc)"

# Serial on purpose: system tests share tracefs, test users and the BPF subsystem.
ctest --test-dir "$build" --output-on-failure --timeout 300 2>&1 | tee "$build/ctest.log"
status=${PIPESTATUS[0]}
if grep -q '\*\*\*Skipped' "$build/ctest.log" && [ -n "${BPFREADY_REQUIRE_SYSTEM_TESTS:-}" ]; then
  echo "test.sh: tests were skipped, but BPFREADY_REQUIRE_SYSTEM_TESTS is set" >&2
  exit 1
fi
exit "$status"
