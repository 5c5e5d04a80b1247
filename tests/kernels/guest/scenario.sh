#!/bin/sh
# scenario.sh OUTDIR: the end-to-end scenario of the kernel matrix, as root in
# the guest, on the kernel's default settings:
#   - ebpf_diag as root (ready), as an ordinary user without capabilities (not
#     ready) and with a cap_bpf,cap_perfmon copy (ready); never a model mismatch;
#   - syscount counting tests/support/syscount_maker exactly, as root and as
#     an ordinary user running a copy with only cap_bpf,cap_perfmon=ep while
#     tracefs stays at mode 0700; with each --flavour the binary accepts;
#   - no dropped events or names (a false "name dropped" is how a mis-compared
#     map-helper result shows, issue 8).
# Writes OUTDIR/STEP.log per step, OUTDIR/results.txt and OUTDIR/counts
# ("PASSED FAILED").
set -u
out=$1
mkdir -p "$out"
# shellcheck source=/dev/null # written by the host at staging time
. /etc/bpfready-guest.conf

diag=$BUILD_DIR/tools/ebpf_diag/ebpf_diag
syscount=$BUILD_DIR/tools/syscount/syscount
maker=$BUILD_DIR/tests/support/syscount_maker
user=bpfk_user
scratch=/tmp/bpfready-scenario
syscalls=getppid,getpgrp,getsid,fchdir,getpriority

passed=0
failed=0
: >"$out/results.txt"

say() { echo "BPFREADY-GUEST: $*" >/dev/console; }

# step NAME COMMAND...: runs a check function, output to OUTDIR/NAME.log.
step() {
  name=$1
  shift
  if "$@" >"$out/$name.log" 2>&1 </dev/null; then
    passed=$((passed + 1))
    echo "PASS $name" >>"$out/results.txt"
    say "scenario PASS $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name" >>"$out/results.txt"
    say "scenario FAIL $name: $(tail -n 1 "$out/$name.log")"
  fi
}

# expect_status WANT COMMAND...: runs COMMAND, shows its output, and fails
# unless it exits with WANT.
expect_status() {
  want=$1
  shift
  echo "+ $*"
  "$@"
  got=$?
  echo "exit status $got"
  if [ "$got" -ne "$want" ]; then
    echo "FAILED: expected exit status $want, got $got"
    return 1
  fi
}

no_mismatch() {  # FILE
  if grep -q 'MODEL MISMATCH\|"mismatch": *true' "$1"; then
    echo "FAILED: the model disagrees with the probe"
    return 1
  fi
}

as_user() { runuser -u "$user" -- "$@"; }

# diag_run RUNNER BINARY WANT NAME: ebpf_diag's text report and its JSON
# document, both with exit status WANT and no model mismatch.
diag_run() {
  $1 "$2" >"$out/$4.txt" 2>&1
  rc=$?
  cat "$out/$4.txt"
  echo "exit status $rc"
  no_mismatch "$out/$4.txt" || return 1
  [ "$rc" -eq "$3" ] || { echo "FAILED: expected exit status $3, got $rc"; return 1; }
  $1 "$2" --json >"$out/$4.json" 2>&1
  rc=$?
  echo "--json: exit status $rc"
  no_mismatch "$out/$4.json" || return 1
  [ "$rc" -eq "$3" ] || { echo "FAILED: --json: expected exit status $3, got $rc"; return 1; }
}

tracefs_default_mode() {
  mode=$(stat -c %a /sys/kernel/tracing)
  echo "tracefs mode $mode"
  [ "$mode" = 700 ] || { echo "FAILED: tracefs is not at mode 0700"; return 1; }
}

# The counts syscount_maker makes (tests/support/syscount_maker.c): name,
# calls, failed calls.
expected_counts() {
  printf '%s\n' "fchdir 37 37" "getpgrp 500 0" "getppid 1000 0" "getpriority 11 11" "getsid 323 23"
}

# check_counts REPORT: the table rows of a text report equal the expectation.
check_counts() {
  awk 'NF >= 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { print $1, $2, $3 }' "$1" | sort >"$1.rows"
  expected_counts >"$1.expected"
  if ! cmp -s "$1.rows" "$1.expected"; then
    echo "FAILED: counts differ (got, then expected):"
    cat "$1.rows"
    echo "--"
    cat "$1.expected"
    return 1
  fi
  echo "counts exact:"
  cat "$1.rows"
}

# syscount_exact FLAVOUR RUNNER SYSCOUNT MAKER REPORT: one counted run of the
# maker (exit status 7 is the maker's own), then the counts checked.
syscount_exact() {
  flavour_args=""
  [ "$1" = default ] || flavour_args="--flavour $1"
  runner=$2
  # shellcheck disable=SC2086 # flavour_args is empty or two words
  expect_status 7 $runner "$3" $flavour_args --errors --syscall "$syscalls" -o "$5" -- "$4" || { cat "$5" 2>/dev/null; return 1; }
  cat "$5"
  check_counts "$5"
}

# syscount_no_drops FLAVOUR: a per-process JSON report of the maker as root
# (remembering each process name), with every "dropped" counter 0.
syscount_no_drops() {
  flavour_args=""
  [ "$1" = default ] || flavour_args="--flavour $1"
  report=$out/syscount_root_$1.json
  # shellcheck disable=SC2086 # flavour_args is empty or two words
  expect_status 7 "$syscount" $flavour_args --json --by-process -o "$report" -- "$maker" || return 1
  cat "$report"
  awk '/"dropped": *\{/ { inside = 1; next }
       inside && /\}/ { inside = 0 }
       inside && /[0-9]/ { gsub(/[",]/, ""); if ($2 + 0 != 0) { print "FAILED: dropped " $1 " " $2; bad = 1 } }
       /"dropped_events": *[1-9]/ { print "FAILED: " $0; bad = 1 }
       END { exit bad }' "$report"
}

user_setup() {
  userdel "$user" >/dev/null 2>&1
  useradd -M -U -s /bin/sh "$user" &&
    rm -rf "$scratch" &&
    mkdir -m 0755 "$scratch" &&
    mkdir -m 0700 "$scratch/out" &&
    chown "$user:$user" "$scratch/out" &&
    install -m 0755 "$diag" "$scratch/ebpf_diag" &&
    install -m 0755 "$diag" "$scratch/ebpf_diag-caps" &&
    setcap cap_bpf,cap_perfmon=ep "$scratch/ebpf_diag-caps" &&
    install -m 0755 "$syscount" "$scratch/syscount" &&
    setcap cap_bpf,cap_perfmon=ep "$scratch/syscount" &&
    install -m 0755 "$maker" "$scratch/syscount_maker" &&
    getcap "$scratch/syscount" "$scratch/ebpf_diag-caps" &&
    id "$user"
}

# The flavours to run syscount with: each one its --flavour option accepts,
# or just its default when it has none.
flavours=default
if "$syscount" --help 2>&1 | grep -q -- '--flavour'; then
  flavours=$("$syscount" --help 2>&1 | grep -A3 -- '--flavour' | grep -ow 'auto\|tp_btf\|raw_tp' | sort -u | tr '\n' ' ')
  [ -n "$flavours" ] || flavours="auto tp_btf raw_tp"
fi
echo "syscount flavours: $flavours" >"$out/flavours.txt"

step diag_root diag_run "" "$diag" 0 diag_root
step user_setup user_setup
step tracefs_default_mode tracefs_default_mode
step diag_user_nocaps diag_run as_user "$scratch/ebpf_diag" 1 diag_user_nocaps
step diag_user_caps diag_run as_user "$scratch/ebpf_diag-caps" 0 diag_user_caps
for flavour in $flavours; do
  step "syscount_root_$flavour" syscount_exact "$flavour" "" "$syscount" "$maker" "$out/syscount_root_$flavour.txt"
  step "syscount_root_nodrops_$flavour" syscount_no_drops "$flavour"
  step "syscount_user_$flavour" syscount_exact "$flavour" as_user "$scratch/syscount" "$scratch/syscount_maker" \
    "$scratch/out/syscount_user_$flavour.txt"
  cp "$scratch/out/syscount_user_$flavour.txt" "$out/" 2>/dev/null
done
step tracefs_still_default_mode tracefs_default_mode
userdel "$user" >/dev/null 2>&1

echo "$passed $failed" >"$out/counts"
