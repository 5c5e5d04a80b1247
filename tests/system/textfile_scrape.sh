#!/usr/bin/env bash
# Issue 11: the Prometheus textfiles of two subjects, root (this process) and
# a test user (--user), written by `ebpf_diag --textfile` into one directory,
# pass `promtool check metrics` and scrape cleanly through a real
# node_exporter: no node_textfile_scrape_error 1, no "was collected before"
# error, both subjects' series present, every bpfready series labelled with
# its subject. The exporter listens on a free loopback port, runs only the
# textfile collector, and is stopped by this script.
#
#   tests/system/textfile_scrape.sh BUILD_DIR
# Exit status: 0 passed, 1 failed, 77 skipped (not root, or the exporter is
# missing), a failure instead when BPFREADY_REQUIRE_SYSTEM_TESTS is set.
set -euo pipefail

build=${1:?usage: textfile_scrape.sh BUILD_DIR}
diag="$build/tools/ebpf_diag/ebpf_diag"

# shellcheck source=tests/support/test_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/test_lib.sh"

[ -x "$diag" ] || fail "no $diag: build first"
[ "$(id -u)" -eq 0 ] || skip "needs root: it creates a test user and runs ebpf_diag --user"
exporter=$(command -v prometheus-node-exporter || command -v node_exporter || true)
[ -n "$exporter" ] || skip "prometheus-node-exporter is not installed (setup/install-deps.sh)"
command -v promtool >/dev/null || skip "promtool is not installed (package prometheus; setup/install-deps.sh)"
command -v curl >/dev/null || skip "curl is not installed"

dir=$(mktemp -d /tmp/bpfready-textfile-XXXXXX)
log=$(mktemp /tmp/bpfready-exporter-XXXXXX.log)
user="bpfr_p$$_$RANDOM"
exporter_pid=""
user_made=""
cleanup() {
  if [ -n "$exporter_pid" ]; then
    kill "$exporter_pid" 2>/dev/null || true
    wait "$exporter_pid" 2>/dev/null || true
  fi
  if [ -n "$user_made" ]; then
    userdel "$user" >/dev/null 2>&1 || true
    groupdel "$user" >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$log"
}
trap cleanup EXIT
chmod 0755 "$dir"

useradd -M -U -s /usr/sbin/nologin "$user" || fail "useradd $user failed"
user_made=1

# Exit status 0 or 1 is the verdict; 2 is an error.
write() {
  local code=0
  "$diag" "$@" --textfile "$dir" || code=$?
  [ "$code" -le 1 ] || fail "ebpf_diag $* --textfile $dir exited $code"
}
write
write --user "$user"
for subject in root "$user"; do
  file="$dir/bpfready-$subject.prom"
  [ -s "$file" ] || fail "no $file; the directory holds: $(ls -A "$dir")"
  promtool check metrics <"$file" || fail "promtool check metrics rejects $file"
done
[ "$(find "$dir" -type f | wc -l)" -eq 2 ] || fail "files left beside the two textfiles: $(ls -A "$dir")"

# A free loopback port: the kernel picks one, the probe socket closes, the
# exporter takes it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$exporter" --web.listen-address="127.0.0.1:$port" --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$dir" >"$log" 2>&1 &
exporter_pid=$!

metrics=""
for _ in $(seq 1 300); do
  kill -0 "$exporter_pid" 2>/dev/null || fail "the exporter stopped: $(cat "$log")"
  if metrics=$(curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null); then break; fi
  metrics=""
  sleep 0.1
done
[ -n "$metrics" ] || fail "no answer from the exporter on port $port: $(cat "$log")"
# node_exporter logs a scrape's gathering errors (the "was collected before"
# ones) while it answers, and still answers 200: a second scrape makes sure
# the first one's errors are in the log when it is read.
metrics=$(curl -sS --max-time 5 "http://127.0.0.1:$port/metrics") || fail "the second scrape failed: $(cat "$log")"

grep -q '^node_textfile_scrape_error 0$' <<<"$metrics" ||
  fail "the textfile collector reports an error: $(grep node_textfile_scrape_error <<<"$metrics") $(cat "$log")"
if grep -i 'collected before' <<<"$metrics$(cat "$log")"; then
  fail "duplicate series across the textfiles"
fi
for subject in root "$user"; do
  for family in bpfready_info bpfready_ready bpfready_verdict_ready bpfready_check_status bpfready_security_findings; do
    grep -Eq "^$family\{([^}]*,)?subject=\"$subject\"" <<<"$metrics" || fail "no $family series for $subject"
  done
  grep -q "node_textfile_mtime_seconds{file=\"[^\"]*bpfready-$subject.prom\"}" <<<"$metrics" ||
    fail "the exporter did not read bpfready-$subject.prom"
done
unlabelled=$(grep '^bpfready_' <<<"$metrics" | grep -v 'subject="' || true)
[ -z "$unlabelled" ] || fail "series without a subject label: $unlabelled"

kill "$exporter_pid"
wait "$exporter_pid" 2>/dev/null || true
exporter_pid=""
echo "PASS: $(grep -c '^bpfready_' <<<"$metrics") bpfready series of root and $user scraped through $exporter"
