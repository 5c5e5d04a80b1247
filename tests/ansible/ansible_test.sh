#!/usr/bin/env bash
# Issue 12, item 7: the Ansible role setup/ansible/roles/bpfready and the
# fleet audit setup/ansible/fleet-audit.yml, run with Debian's ansible.
#
# (a) The fleet audit over an inventory of local hosts (ansible_connection=
#     local), each pointed at a fixture root under tests/fixtures/hosts with
#     the host variable bpfready_root, plus the live host, hosts whose
#     ebpf_diag is missing, crashes, hangs or gets a bad option, one where
#     the role fails, one that cannot be reached, and one whose kernel
#     release holds a terminal escape. The fact runs the build's ebpf_diag and lives in a
#     directory of this test per host (never /etc). The report must list every
#     host with the verdict `ebpf_diag --root FIXTURE --quiet` gives, the
#     failing checks and the fix of its --json, and the broken hosts as
#     "unknown" with their error.
# (b) The role with the package: BUILD/bpfready_*.deb (built with
#     `cmake --build BUILD --target package` when missing) installed on this
#     machine with non-root profiling and a test user; the user is in the
#     group, /usr/bin/syscount has its capabilities, the fact is in
#     ansible_local; a second run changes nothing, a third turns profiling
#     off through dpkg-reconfigure. Then the package is purged, the user and
#     the fact removed, and the host compared with its state before.
#
#   tests/ansible/ansible_test.sh BUILD_DIR
# Exit status: 0 passed, 1 failed, 77 skipped (not root, or no
# ansible-playbook), a failure instead when BPFREADY_REQUIRE_SYSTEM_TESTS is set.
set -euo pipefail

build=$(cd "${1:?usage: ansible_test.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
diag="$build/tools/ebpf_diag/ebpf_diag"
ansible_dir="$src/setup/ansible"
fixtures="$src/tests/fixtures/hosts"

# shellcheck source=tests/support/test_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/test_lib.sh"

[ -x "$diag" ] || fail "no $diag: build first"
command -v ansible-playbook >/dev/null || skip "ansible-playbook is not installed (package ansible; setup/install-deps.sh)"
[ "$(id -u)" -eq 0 ] || skip "needs root: the live host's probes, and part (b) installs the package"

work=$(mktemp -d /tmp/bpfready-ansible-XXXXXX)
user="bpfr_a$$_$RANDOM"
user_made=""
installed=""
etc_ansible_before=""
facts_d_before=""
[ -e /etc/ansible ] && etc_ansible_before=1
[ -e /etc/ansible/facts.d ] && facts_d_before=1
# Part (b) installs the fact in /etc/ansible/facts.d: leave /etc/ansible as it was.
restore_etc_ansible() {
  rm -f /etc/ansible/facts.d/bpfready.fact
  if [ -z "$etc_ansible_before" ]; then
    rm -rf /etc/ansible
  elif [ -z "$facts_d_before" ]; then
    rmdir /etc/ansible/facts.d 2>/dev/null || true
  fi
}
cleanup() {
  if [ -n "$installed" ]; then
    apt-get purge -y -q bpfready >/dev/null 2>&1 || dpkg -P bpfready >/dev/null 2>&1 || true
  fi
  if [ -n "$user_made" ]; then
    userdel "$user" >/dev/null 2>&1 || true
    groupdel "$user" >/dev/null 2>&1 || true
  fi
  if [ -n "$installed" ]; then
    restore_etc_ansible
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Ansible's own state (temp files, ssh control sockets) stays in $work.
export ANSIBLE_HOME="$work/ansible-home" ANSIBLE_LOCAL_TEMP="$work/ansible-local" \
  ANSIBLE_REMOTE_TMP="$work/ansible-remote" ANSIBLE_SSH_CONTROL_PATH_DIR="$work/ansible-cp" \
  ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_FORKS=8 ANSIBLE_NOCOLOR=1 \
  ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_PIPELINING=true
: >"$work/ansible.cfg"

playbook() { ansible-playbook "$@" >"$work/playbook.log" 2>&1 || { cat "$work/playbook.log" >&2; return 1; }; }

ansible-playbook --syntax-check -i localhost, "$ansible_dir/fleet-audit.yml" "$ansible_dir/install.yml" \
  >"$work/syntax.log" 2>&1 || fail "ansible-playbook --syntax-check: $(cat "$work/syntax.log")"
if command -v ansible-lint >/dev/null; then
  (cd "$ansible_dir" && ansible-lint fleet-audit.yml install.yml roles/bpfready) || fail "ansible-lint"
else
  echo "note: ansible-lint is not installed; only --syntax-check ran"
fi

# ---- (a) the fleet audit --------------------------------------------------
# Kernel release with a terminal escape: the table must not pass it on.
cp -a "$fixtures/debian12-vm-6.18" "$work/hostile-root"
printf '6.1.0-\033[31mred\033]0;title\007\n' >"$work/hostile-root/proc/sys/kernel/osrelease"
# An ebpf_diag that prints half a report and dies of SIGSEGV.
printf '#!/bin/sh\nprintf %s\nkill -SEGV $$\n' "'{\"checks\": ['" >"$work/crashing_ebpf_diag"
# One that hangs (exec: the fact's timeout kills the sleep itself).
printf '#!/bin/sh\nexec sleep 30\n' >"$work/hanging_ebpf_diag"
chmod 0755 "$work/crashing_ebpf_diag" "$work/hanging_ebpf_diag"

inventory="$work/fleet.ini"
expect="$work/expected.tsv"
: >"$expect"
{
  echo "[fleet]"
  # Ready, not ready with a fix, not ready without a safe fix (container,
  # old kernel), ready with a perf_tp fix; the model's every fixture is the
  # unit tests' business, the report's shape is this test's.
  for name in debian12-vm-6.18 kernel-5.4 container-no-tracefs rhel8-4.18 ubuntu2204-paranoid4 hostile; do
    root="$fixtures/$name"
    [ "$name" = hostile ] && root="$work/hostile-root"
    host=fx-$name
    echo "$host bpfready_root=$root bpfready_facts_dir=$work/facts/$host"
    code=0
    "$diag" --root "$root" --quiet || code=$?
    case $code in
      0) status=ready ;;
      1) status=not_ready ;;
      *) fail "ebpf_diag --root $root --quiet exited $code" ;;
    esac
    printf '%s\t%s\t%s\t-\n' "$host" "$status" "$root" >>"$expect"
  done
  code=0
  "$diag" --quiet || code=$?
  [ "$code" -le 1 ] || fail "ebpf_diag --quiet (live) exited $code"
  echo "live bpfready_facts_dir=$work/facts/live"
  printf 'live\t%s\t/\t-\n' "$([ "$code" -eq 0 ] && echo ready || echo not_ready)" >>"$expect"
  echo "no-ebpf-diag bpfready_ebpf_diag=$work/missing/ebpf_diag bpfready_facts_dir=$work/facts/no-ebpf-diag"
  printf 'no-ebpf-diag\tunknown\t-\tcannot run %s\n' "$work/missing/ebpf_diag" >>"$expect"
  echo "crashing bpfready_ebpf_diag=$work/crashing_ebpf_diag bpfready_facts_dir=$work/facts/crashing"
  printf 'crashing\tunknown\t-\tebpf_diag was killed by signal 11\n' >>"$expect"
  echo "hanging bpfready_ebpf_diag=$work/hanging_ebpf_diag bpfready_fact_timeout=2 bpfready_facts_dir=$work/facts/hanging"
  printf 'hanging\tunknown\t-\tebpf_diag did not finish within 2 s\n' >>"$expect"
  # A usage error: exit 2 and no report.
  echo "bad-require bpfready_require=bogus bpfready_facts_dir=$work/facts/bad-require"
  printf 'bad-require\tunknown\t-\tebpf_diag exited 2 without a JSON report: ebpf_diag: --require: bogus\n' >>"$expect"
  # /proc refuses a new directory even to root: the role fails on this host.
  echo "role-fails bpfready_facts_dir=/proc/bpfready-no-such-dir"
  printf 'role-fails\tunknown\t-\tthe bpfready role failed\n' >>"$expect"
  if command -v ssh >/dev/null; then
    echo "unreachable ansible_connection=ssh ansible_host=127.0.0.1 ansible_ssh_common_args='-o ProxyCommand=false'"
    printf 'unreachable\tunknown\t-\tunreachable: \n' >>"$expect"
  fi
  echo "[fleet:vars]"
  echo "ansible_connection=local"
  echo "ansible_python_interpreter=/usr/bin/python3"
  echo "bpfready_ebpf_diag=$diag"
} >"$inventory"

report="$work/report"
playbook -i "$inventory" "$ansible_dir/fleet-audit.yml" -e "bpfready_report_dir=$report" ||
  fail "fleet-audit.yml failed"
python3 "$src/tests/ansible/check_fleet_report.py" "$report" "$expect" "$diag" ||
  { cat "$report/fleet-report.txt" >&2; fail "the fleet report does not match ebpf_diag"; }
for dir in "$work"/facts/*/; do
  [ "$(stat -c %a "$dir/bpfready.fact")" = 755 ] || fail "$dir/bpfready.fact is not mode 0755"
done
[ -e /etc/ansible/facts.d/bpfready.fact ] && [ -z "$etc_ansible_before" ] &&
  fail "the fleet audit wrote /etc/ansible/facts.d/bpfready.fact"
grep -q 'NOT READY' "$report/fleet-report.txt" || fail "the table shows no host NOT READY"

# Without bpfready_report_dir: a clear error before any host is touched.
printf '[one]\nlonely ansible_connection=local ansible_python_interpreter=/usr/bin/python3 bpfready_facts_dir=%s\n' \
  "$work/facts-lonely" >"$work/one.ini"
if ansible-playbook -i "$work/one.ini" "$ansible_dir/fleet-audit.yml" >"$work/playbook.log" 2>&1; then
  fail "fleet-audit.yml without bpfready_report_dir succeeded"
fi
grep -q 'bpfready_report_dir is not set' "$work/playbook.log" || fail "no clear error without bpfready_report_dir"
[ ! -e "$work/facts-lonely" ] || fail "fleet-audit.yml without bpfready_report_dir touched the host"
echo "PASS-part (a): the fleet report lists $(wc -l <"$expect") hosts with the verdicts ebpf_diag gives"

# ---- (b) the role installs the package -----------------------------------
deb=$(find "$build" -maxdepth 1 -name 'bpfready_*.deb' -printf '%T@ %p\n' | sort -rn | head -n1 | cut -d' ' -f2-)
if [ -z "$deb" ]; then
  cmake --build "$build" --target package >"$work/package.log" 2>&1 ||
    fail "cmake --build $build --target package: $(tail -n 20 "$work/package.log")"
  deb=$(find "$build" -maxdepth 1 -name 'bpfready_*.deb' | head -n1)
  [ -n "$deb" ] || fail "the package target made no $build/bpfready_*.deb"
fi
if dpkg-query -W -f '${Status}' bpfready 2>/dev/null | grep -q installed; then
  [ -z "${BPFREADY_REQUIRE_SYSTEM_TESTS:-}" ] || fail "bpfready is installed already; this test installs and purges it"
  echo "SKIP-part (b): the package bpfready is installed already; this part would purge it"
  exit 0
fi
if ! /usr/bin/python3 -c 'import apt' 2>/dev/null; then
  # The interpreter the inventory names; without python3-apt, Ansible's apt
  # module would install it: a change to the host.
  [ -z "${BPFREADY_REQUIRE_SYSTEM_TESTS:-}" ] || fail "python3-apt is missing (setup/install-deps.sh)"
  echo "SKIP-part (b): python3-apt is missing (setup/install-deps.sh); the role's apt task needs it"
  exit 0
fi
command -v getcap >/dev/null || fail "getcap is missing (package libcap2-bin)"
[ ! -e /usr/bin/syscount ] || fail "/usr/bin/syscount exists without the package; not touching it"

snapshot() {
  dpkg-query -W -f '${Package} ${Version} ${Status}\n'
  getent group | cut -d: -f1,4 | sort
  getent passwd | cut -d: -f1 | sort
  debconf-show bpfready 2>/dev/null || true
  ls -la /etc/ansible/facts.d 2>/dev/null || true
  ls -la /var/lib/bpfready 2>/dev/null || true
}
snapshot >"$work/before"

useradd -M -U -s /usr/sbin/nologin "$user" || fail "useradd $user failed"
user_made=1
printf '[this]\nthis-host ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' >"$work/this.ini"
role() {
  playbook -i "$work/this.ini" "$ansible_dir/install.yml" -e "bpfready_deb=$deb" \
    -e "{\"bpfready_users\": [\"$user\"]}" "$@"
}
recap_changed() { sed -n 's/^this-host *:.*changed=\([0-9]*\).*/\1/p' "$work/playbook.log"; }

installed=1
role -e bpfready_nonroot_profiling=true || fail "the role with non-root profiling failed"
id -nG "$user" | tr ' ' '\n' | grep -qx bpfready || fail "$user is not in the group bpfready: $(id -nG "$user")"
caps=$(getcap /usr/bin/syscount)
case $caps in
  *cap_perfmon,cap_bpf=ep* | *cap_bpf,cap_perfmon=ep*) ;;
  *) fail "/usr/bin/syscount has no cap_bpf,cap_perfmon=ep: '$caps'" ;;
esac
[ "$(stat -c %a /etc/ansible/facts.d/bpfready.fact)" = 755 ] || fail "the fact is not /etc/ansible/facts.d/bpfready.fact, mode 0755"
ansible -i "$work/this.ini" this-host -m ansible.builtin.setup -a filter=ansible_local >"$work/setup.log" 2>&1 ||
  fail "ansible -m setup: $(cat "$work/setup.log")"
python3 - "$work/setup.log" <<'EOF' || fail "the fact is not in ansible_local: $(cat "$work/setup.log")"
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
fact = json.loads(text[text.index("{"):])["ansible_facts"]["ansible_local"]["bpfready"]
assert isinstance(fact.get("ready"), bool) and fact.get("tool") == "ebpf_diag", fact
EOF

role -e bpfready_nonroot_profiling=true || fail "the role's second run failed"
[ "$(recap_changed)" = 0 ] || fail "the role's second run changed something: $(cat "$work/playbook.log")"

role -e bpfready_nonroot_profiling=false || fail "the role turning non-root profiling off failed"
caps=$(getcap /usr/bin/syscount)
[ -z "$caps" ] || fail "/usr/bin/syscount keeps capabilities after profiling was turned off: '$caps'"

apt-get purge -y -q bpfready >"$work/purge.log" 2>&1 || fail "apt-get purge bpfready: $(cat "$work/purge.log")"
installed=""
userdel "$user" || true
groupdel "$user" 2>/dev/null || true
user_made=""
restore_etc_ansible
snapshot >"$work/after"
diff -u "$work/before" "$work/after" >&2 || fail "the host differs from before the install (above)"
echo "PASS-part (b): the role installed $(basename "$deb") with non-root profiling for $user; purged, host as before"
