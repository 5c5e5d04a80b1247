#!/usr/bin/env bash
# Issue 12: the example alert rules (setup/prometheus/bpfready-alerts.yml)
# are valid (promtool check rules), fire for the hosts they should and stay
# silent for the others (promtool test rules over bpfready-alerts.test.yml),
# and name only series that ebpf_diag really writes: every bpfready_* name in
# the rules is a metric family of `ebpf_diag --prometheus`, read from its
# output over a fixture host.
#
#   tests/fleet/alert_rules.sh BUILD_DIR
# Exit status: 0 passed, 1 failed, 77 skipped (promtool missing), a failure
# instead when BPFREADY_REQUIRE_SYSTEM_TESTS is set.
set -euo pipefail

build=${1:?usage: alert_rules.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
rules="$source_dir/setup/prometheus/bpfready-alerts.yml"
diag="$build/tools/ebpf_diag/ebpf_diag"

# shellcheck source=tests/support/test_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/test_lib.sh"

[ -x "$diag" ] || fail "no $diag: build first"
command -v promtool >/dev/null || skip "promtool is not installed (package prometheus; setup/install-deps.sh)"

promtool check rules "$rules" || fail "promtool check rules rejects $rules"
# The test file names the rules relative to itself.
(cd "$here" && promtool test rules bpfready-alerts.test.yml) || fail "promtool test rules failed"

# The families ebpf_diag writes: with verdicts (debian12-vm-6.18, ready) and
# the same names when not ready (kernel-5.4).
families=""
for host in debian12-vm-6.18 kernel-5.4; do
  code=0
  out=$("$diag" --root "$source_dir/tests/fixtures/hosts/$host" --no-probe --prometheus) || code=$?
  [ "$code" -le 1 ] || fail "ebpf_diag --prometheus on $host exited $code"
  families+=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' <<<"$out")$'\n'
done
used=$(grep -v '^ *#' "$rules" | grep -o 'bpfready_[a-z_]*' | sort -u)
[ -n "$used" ] || fail "no bpfready_ series in $rules"
for name in $used; do
  grep -qx "$name" <<<"$families" || fail "$rules uses $name, which ebpf_diag --prometheus does not write"
done
grep -q 'node_textfile_mtime_seconds' "$rules" || fail "no staleness rule over node_textfile_mtime_seconds"
echo "PASS: $(grep -c -- '- alert:' "$rules") alert rules checked and tested; series used: $(tr "\n" " " <<<"$used")"
