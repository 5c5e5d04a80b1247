# shellcheck shell=bash
# What the shell tests share: how they fail, and how they skip. A test that
# cannot run skips with exit 77 (ctest's SKIP_RETURN_CODE), but fails when
# BPFREADY_REQUIRE_SYSTEM_TESTS is set, as CI sets it: there a skip would
# hide a test that never ran.

fail() { echo "FAIL: $*" >&2; exit 1; }

skip() {
  [ -z "${BPFREADY_REQUIRE_SYSTEM_TESTS:-}" ] || fail "$* (BPFREADY_REQUIRE_SYSTEM_TESTS is set)"
  echo "SKIP: $*"
  exit 77
}
