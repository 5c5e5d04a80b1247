#!/usr/bin/env bash
# Issue 12: the Debian package's whole life on this host, for real. Builds the
# package target, runs lintian on the .deb, preseeds the debconf answer yes,
# installs it non-interactively and checks the tools, docs, man page, the
# audit units (systemd-analyze verify on the installed copies, timer
# enabled), syscount as root:bpfready 0750 with cap_bpf,cap_perfmon, and an
# ordinary user of the group counting a command with /usr/bin/syscount; then
# dpkg-reconfigure to no (capabilities gone) and back to yes (back), an
# upgrade (the same .deb again: the answer and the capabilities stay), remove
# and purge, and compares the host with its state before: groups, users,
# capabilities under /usr/bin and /usr/sbin, unit files and their links,
# deb-systemd-helper state, /var/lib/bpfready, /etc/default/bpfready,
# /run/bpfready, the textfile directory, dpkg and debconf state.
#
#   tests/package/package_cycle.sh BUILD_DIR
#
# BPFREADY_PACKAGE_DEB=FILE installs that .deb instead of building one.
# Exit status: 0 passed, 1 failed, 77 skipped (not root, not Debian, or a
# bpfready package or tracefs-setup journal already on the host), a failure
# instead when BPFREADY_REQUIRE_SYSTEM_TESTS is set. It changes the live host
# (always restored, also on failure), so ctest runs it alone (RUN_SERIAL).
set -euo pipefail

build=${1:?usage: package_cycle.sh BUILD_DIR}

# shellcheck source=tests/support/test_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/test_lib.sh"
step() { echo "== $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root: it installs, reconfigures and purges the package"
if [ ! -r /etc/debian_version ] || ! command -v dpkg >/dev/null; then skip "not a Debian host"; fi
for tool in debconf-set-selections lintian getcap runuser systemd-analyze debconf-communicate; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (setup/install-deps.sh)"
done
installed=$(dpkg-query -W -f='${db:Status-Status}' bpfready 2>/dev/null || true)
if [ -n "$installed" ] && [ "$installed" != not-installed ]; then
  skip "a bpfready package is on this host already (dpkg status: $installed); purge it first: dpkg -P bpfready"
fi
[ ! -e /var/lib/bpfready/tracefs-setup.json ] ||
  skip "a tracefs-setup journal exists (/var/lib/bpfready/tracefs-setup.json): the package would revert that setup; run 'tracefs-setup revert' first"

textfile_dir=/var/lib/prometheus/node-exporter
user="bpfr_pk$$_$RANDOM"
work=$(mktemp -d /tmp/bpfready-package-XXXXXX)
user_made=""
cleanup() {
  local state
  state=$(dpkg-query -W -f='${db:Status-Status}' bpfready 2>/dev/null || true)
  if [ -n "$state" ] && [ "$state" != not-installed ]; then
    echo "cleanup: purging bpfready (state $state)" >&2
    DEBIAN_FRONTEND=noninteractive dpkg -P bpfready >&2 || true
  fi
  # A preseeded answer of a package that never got installed.
  echo PURGE | debconf-communicate bpfready >/dev/null 2>&1 || true
  if [ -n "$user_made" ]; then userdel "$user" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "FAIL: line $LINENO: a command failed" >&2' ERR

# The host state the package may touch. Other test users (bpfr_*) come and
# go with the other tests on a shared machine and are left out.
snapshot() {
  echo "## groups"; getent group | grep -v '^bpfr_' | sort
  echo "## users"; getent passwd | grep -v '^bpfr_' | sort
  echo "## capabilities"; getcap -r /usr/bin /usr/sbin 2>/dev/null | sort
  echo "## bpfready files"
  stat -c '%n %a %U:%G' /usr/bin/ebpf_diag /usr/bin/syscount /usr/sbin/tracefs-setup /usr/share/doc/bpfready 2>&1 | sort
  echo "## unit files and links"
  find /etc/systemd/system /lib/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked -printf '%p %y %l\n' 2>/dev/null | sort
  echo "## /var/lib/bpfready"; find /var/lib/bpfready -printf '%p %m %u:%g\n' 2>&1 | sort
  echo "## /etc/default/bpfready"; cat /etc/default/bpfready 2>&1
  echo "## /run/bpfready"; find /run/bpfready 2>&1 | sort
  echo "## $textfile_dir"; find "$textfile_dir" /var/lib/prometheus -maxdepth 1 -printf '%p %m %u:%g\n' 2>&1 | sort
  echo "## dpkg"; dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' bpfready 2>&1
  echo "## debconf"; debconf-show bpfready 2>&1
}
snapshot >"$work/before" || true  # a missing path is part of the state

# The package.
if [ -n "${BPFREADY_PACKAGE_DEB:-}" ]; then
  deb=$BPFREADY_PACKAGE_DEB
else
  step "cmake --build $build --target package"
  cmake --build "$build" --target package >"$work/package.log" 2>&1 || fail "building the package failed: $(tail -20 "$work/package.log")"
  deb=$(find "$build" -maxdepth 1 -name 'bpfready_*_amd64.deb' -newer "$work/before" | head -n 1)
  [ -n "$deb" ] || deb=$(find "$build" -maxdepth 1 -name 'bpfready_*_amd64.deb' | head -n 1)
fi
[ -f "$deb" ] || fail "no package in $build (bpfready_*_amd64.deb)"
version=$(dpkg-deb -f "$deb" Version)
echo "package: $deb (version $version)"
dpkg-deb -f "$deb" Depends

step "lintian $deb"
lintian_status=0
lintian --fail-on error,warning --display-info "$deb" >"$work/lintian" 2>&1 || lintian_status=$?
cat "$work/lintian"
contents=$(dpkg-deb -c "$deb")
[ "$lintian_status" -eq 0 ] || fail "lintian reports errors or warnings that are not overridden (exit $lintian_status)"
grep -q '\./usr/share/lintian/overrides/bpfready$' <<<"$contents" || fail "no lintian overrides file in the package"

export DEBIAN_FRONTEND=noninteractive

# syscount: group-only, with exactly the two capabilities.
check_caps_on() {
  [ "$(stat -c '%a %U:%G' /usr/bin/syscount)" = "750 root:bpfready" ] ||
    fail "$1: /usr/bin/syscount is $(stat -c '%a %U:%G' /usr/bin/syscount), not 750 root:bpfready"
  local caps
  caps=$(getcap /usr/bin/syscount)
  case $caps in
    *cap_perfmon,cap_bpf=ep | *cap_bpf,cap_perfmon=ep) ;;
    *) fail "$1: /usr/bin/syscount has capabilities '$caps', not cap_bpf,cap_perfmon=ep" ;;
  esac
  echo "$1: /usr/bin/syscount 750 root:bpfready, $caps"
}
check_caps_off() {
  [ "$(stat -c '%a %U:%G' /usr/bin/syscount)" = "755 root:root" ] ||
    fail "$1: /usr/bin/syscount is $(stat -c '%a %U:%G' /usr/bin/syscount), not 755 root:root"
  [ -z "$(getcap /usr/bin/syscount)" ] || fail "$1: /usr/bin/syscount still has $(getcap /usr/bin/syscount)"
  [ ! -e /var/lib/bpfready/tracefs-setup.json ] || fail "$1: the tracefs-setup journal is still there"
  echo "$1: /usr/bin/syscount 755 root:root, no capabilities"
}
user_counts() {
  local out
  out=$(runuser -u "$user" -- /usr/bin/syscount -- /bin/true 2>&1) || fail "$1: $user cannot run syscount: $out"
  if ! grep -q 'syscalls in' <<<"$out" || ! grep -q '^execve ' <<<"$out"; then fail "$1: no report from syscount: $out"; fi
  echo "$1: $user counted /bin/true: $(head -n 1 <<<"$out")"
}
had_group=""
if getent group bpfready >/dev/null; then had_group=1; fi

# The default answer (nothing preseeded): no setup at all, then a purge that
# leaves the host as it was.
step "dpkg -i with the default answer; dpkg -P"
dpkg -i "$deb" >"$work/install" 2>&1 || fail "dpkg -i failed: $(cat "$work/install")"
cat "$work/install"
grep -q 'bpfready: non-root profiling is off' "$work/install" || fail "the postinst did not report the default answer no"
check_caps_off "installed with the default answer"
if [ -z "$had_group" ] && getent group bpfready >/dev/null; then fail "the default answer created the group bpfready"; fi
dpkg -P bpfready >"$work/purge" 2>&1 || fail "dpkg -P failed: $(cat "$work/purge")"
snapshot >"$work/after-default" || true
diff -u "$work/before" "$work/after-default" || fail "install and purge with the default answer changed the host (diff above)"

# Install with the answer yes, preseeded, non-interactively.
step "preseed yes; dpkg -i"
echo "bpfready bpfready/nonroot-profiling boolean true" | debconf-set-selections
dpkg -i "$deb" >"$work/install" 2>&1 || fail "dpkg -i failed: $(cat "$work/install")"
cat "$work/install"
grep -q 'bpfready: non-root profiling is on' "$work/install" || fail "the postinst did not apply the answer yes"
grep -Eq 'bpfready: (eBPF profiling is ready|eBPF profiling is not ready|ebpf_diag )' "$work/install" ||
  fail "the postinst printed no ebpf_diag verdict"

for binary in /usr/bin/ebpf_diag /usr/bin/syscount /usr/sbin/tracefs-setup; do
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then fail "$binary is not installed"; fi
done
/usr/bin/ebpf_diag --version | grep -q "$version" || fail "ebpf_diag --version does not say $version"
for doc in tracefs-setup.md ebpf_diag.md syscount.md packaging.md copyright changelog.gz; do
  [ -s "/usr/share/doc/bpfready/$doc" ] || fail "/usr/share/doc/bpfready/$doc is missing"
done
for page in ebpf_diag syscount tracefs-setup; do
  grep -q "/man8/$page\.8\.gz\$" <<<"$contents" || fail "the package has no man page $page(8)"
  man -w "$page" >/dev/null 2>&1 || fail "man -w $page does not find the installed page"
done
echo "man -w syscount: $(man -w syscount)"
for completion in ebpf_diag syscount tracefs-setup; do
  [ -s "/usr/share/bash-completion/completions/$completion" ] || fail "no bash completion for $completion"
done

step "audit units"
for unit in bpfready-audit.service bpfready-audit.timer; do
  [ -f "/lib/systemd/system/$unit" ] || fail "/lib/systemd/system/$unit is not installed"
done
verify=$(systemd-analyze verify /lib/systemd/system/bpfready-audit.service /lib/systemd/system/bpfready-audit.timer 2>&1) ||
  fail "systemd-analyze verify failed: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify is not clean: $verify"
[ "$(systemctl is-enabled bpfready-audit.timer 2>&1)" = enabled ] ||
  fail "bpfready-audit.timer is not enabled: $(systemctl is-enabled bpfready-audit.timer 2>&1)"
[ -L /etc/systemd/system/timers.target.wants/bpfready-audit.timer ] || fail "no timers.target.wants link"
# The service's command, as systemd would run it (RuntimeDirectory made by
# hand: PID 1 may not be systemd here).
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/bpfready-audit.service)
mkdir -p /run/bpfready "$textfile_dir"
status=0
read -r -a argv <<<"$exec_start"
"${argv[@]}" >/dev/null 2>&1 || status=$?
[ "$status" -le 1 ] || fail "the audit service's command exited $status: $exec_start"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' /run/bpfready/status.json ||
  fail "/run/bpfready/status.json is not a JSON document"
[ -s "$textfile_dir/bpfready-root.prom" ] || fail "the audit wrote no $textfile_dir/bpfready-root.prom"
# What node_exporter's textfile collector will read must lint clean.
lint=$(promtool check metrics <"$textfile_dir/bpfready-root.prom" 2>&1) ||
  fail "promtool check metrics on the audit's textfile: $lint"
echo "audit command: exit $status, /run/bpfready/status.json and bpfready-root.prom written"

check_caps_on "installed with yes"
useradd -M -N -s /usr/sbin/nologin "$user" || fail "useradd $user failed"
user_made=1
gpasswd -a "$user" bpfready >/dev/null || fail "gpasswd -a $user bpfready failed"
user_counts "installed with yes"

step "dpkg-reconfigure: no"
echo "bpfready bpfready/nonroot-profiling boolean false" | debconf-set-selections
dpkg-reconfigure -fnoninteractive bpfready >"$work/reconf" 2>&1 || fail "dpkg-reconfigure failed: $(cat "$work/reconf")"
cat "$work/reconf"
check_caps_off "reconfigured to no"
out=$(runuser -u "$user" -- /usr/bin/syscount -- /bin/true 2>&1) && fail "$user still runs syscount after no: $out"

step "dpkg-reconfigure: yes"
echo "bpfready bpfready/nonroot-profiling boolean true" | debconf-set-selections
dpkg-reconfigure -fnoninteractive bpfready >"$work/reconf" 2>&1 || fail "dpkg-reconfigure failed: $(cat "$work/reconf")"
cat "$work/reconf"
check_caps_on "reconfigured to yes"

step "upgrade: dpkg -i of the same package again"
dpkg -i "$deb" >"$work/upgrade" 2>&1 || fail "the upgrade failed: $(cat "$work/upgrade")"
cat "$work/upgrade"
[ "$(debconf-show bpfready | sed -n 's/^[* ]*bpfready\/nonroot-profiling: //p')" = true ] ||
  fail "the upgrade lost the answer yes: $(debconf-show bpfready)"
check_caps_on "upgraded"
/usr/sbin/tracefs-setup status >"$work/status" 2>&1 || fail "tracefs-setup status after the upgrade: $(cat "$work/status")"
getent group bpfready | grep -q "$user" || gpasswd -a "$user" bpfready >/dev/null
user_counts "upgraded"
[ "$(systemctl is-enabled bpfready-audit.timer 2>&1)" = enabled ] || fail "the upgrade disabled the timer"

step "dpkg -r"
dpkg -r bpfready >"$work/remove" 2>&1 || fail "dpkg -r failed: $(cat "$work/remove")"
cat "$work/remove"
for path in /usr/bin/syscount /usr/bin/ebpf_diag /usr/sbin/tracefs-setup /var/lib/bpfready /run/bpfready \
  "$textfile_dir/bpfready-root.prom" /lib/systemd/system/bpfready-audit.timer; do
  [ ! -e "$path" ] || fail "$path is still there after dpkg -r"
done
[ "$(dpkg-query -W -f='${db:Status-Status}' bpfready)" = config-files ] || fail "not in state config-files after dpkg -r"

step "dpkg -P"
dpkg -P bpfready >"$work/purge" 2>&1 || fail "dpkg -P failed: $(cat "$work/purge")"
cat "$work/purge"
[ -z "$(debconf-show bpfready 2>/dev/null)" ] || fail "debconf still holds answers after purge: $(debconf-show bpfready)"
userdel "$user" || fail "userdel $user failed"
user_made=""

snapshot >"$work/after" || true
if ! diff -u "$work/before" "$work/after"; then
  fail "the host is not as it was before the install (diff above: - before, + after)"
fi
echo "PASS: $deb installed (yes), reconfigured no and yes, upgraded, removed and purged; lintian clean; the host is as before"
