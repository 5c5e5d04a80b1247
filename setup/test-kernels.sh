#!/usr/bin/env bash
# The kernel matrix: proves bpfready on the kernels people run, not only on
# the host's. Builds the project with its tests, boots each kernel under
# qemu (KVM when /dev/kvm works, TCG otherwise) with the kernel's default
# settings, and runs inside it, as root: the system tests, the privilege
# tests and an end-to-end scenario (ebpf_diag and exact syscount counts as
# root and as an ordinary user with only cap_bpf,cap_perfmon).
#
#   ./setup/test-kernels.sh [KERNEL...]
#
# KERNEL is 6.1 (Debian 12's cloud kernel, newest ABI apt knows), 6.1-amd64
# (its generic flavour), 6.12 (the 6.12 cloud kernel of bookworm-security),
# 6.12-amd64, or a linux-image-* package name. Default: 6.1 6.12.
#
# Kernels are Debian packages fetched with apt-get download and unpacked
# with dpkg -x into the cache; nothing is installed on the host.
# Prints one line per kernel; exits 1 when any kernel fails a test or cannot
# boot, 2 on a usage error. Logs: BUILD/kernels/RELEASE/ (console.log, one
# log per test and scenario step). See docs/kernel-matrix.md.
#
# Environment:
#   BPFREADY_KERNELS_BUILD_DIR     build directory (default build-kernels)
#   BPFREADY_KERNEL_CACHE          downloaded and unpacked kernels (default /var/cache/bpfready-kernels)
#   BPFREADY_KERNELS_JOBS          guests booted at once (default 2)
#   BPFREADY_KERNELS_TIMEOUT       seconds one guest may take, boot to power-off (default 1200)
#   BPFREADY_KERNELS_TEST_TIMEOUT  seconds one test may take in the guest (default 300)
#   BPFREADY_KERNELS_GTEST_FILTER  --gtest_filter for the guests' suites (default: all but one
#                                  kernel-independent test that takes minutes; '*' for all)
#   BPFREADY_KERNELS_NO_KVM=1      use TCG even where /dev/kvm exists
#   BPFREADY_KERNELS_APPEND        more kernel parameters for the guests (e.g. lockdown=confidentiality)
#   BPFREADY_KERNELS_CPUS          vCPUs per guest (default 1; see the note at GUEST_CPUS)
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

kernels=()
for arg in "$@"; do
  case $arg in
    -h | --help)
      usage
      exit 0
      ;;
    -*)
      echo "test-kernels: unknown option $arg (see --help)" >&2
      exit 2
      ;;
    *) kernels+=("$arg") ;;
  esac
done
[ "${#kernels[@]}" -gt 0 ] || kernels=(6.1 6.12)

cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    exec sudo --preserve-env=BPFREADY_KERNELS_BUILD_DIR,BPFREADY_KERNEL_CACHE,BPFREADY_KERNELS_JOBS,BPFREADY_KERNELS_TIMEOUT,BPFREADY_KERNELS_TEST_TIMEOUT,BPFREADY_KERNELS_GTEST_FILTER,BPFREADY_KERNELS_NO_KVM,BPFREADY_KERNELS_APPEND,BPFREADY_KERNELS_CPUS \
      "$0" "$@"
  fi
  echo "test-kernels: needs root (to stage root-owned files for the guest); run it as root" >&2
  exit 2
fi

SOURCE_DIR=$(pwd -P)
# shellcheck source=tests/kernels/lib.sh
. "$SOURCE_DIR/tests/kernels/lib.sh"

build=${BPFREADY_KERNELS_BUILD_DIR:-build-kernels}
mkdir -p "$build"
BUILD_DIR=$(cd "$build" && pwd -P)
CACHE=${BPFREADY_KERNEL_CACHE:-/var/cache/bpfready-kernels}
JOBS=${BPFREADY_KERNELS_JOBS:-2}
BOOT_TIMEOUT=${BPFREADY_KERNELS_TIMEOUT:-1200}
TEST_TIMEOUT=${BPFREADY_KERNELS_TEST_TIMEOUT:-300}
GTEST_FILTER=${BPFREADY_KERNELS_GTEST_FILTER:-$DEFAULT_GTEST_FILTER}
# A bad setting is a usage error (exit 2), like a bad argument.
bad_setting() {
  echo "test-kernels: $*" >&2
  exit 2
}
[[ $GTEST_FILTER =~ ^[][A-Za-z0-9_.*?:/-]+$ ]] || bad_setting "BPFREADY_KERNELS_GTEST_FILTER holds characters a gtest filter does not: '$GTEST_FILTER'"
KERNEL_APPEND=${BPFREADY_KERNELS_APPEND:-}
[[ -z $KERNEL_APPEND || $KERNEL_APPEND =~ ^[A-Za-z0-9_.,=-]+( [A-Za-z0-9_.,=-]+)*$ ]] ||
  bad_setting "BPFREADY_KERNELS_APPEND must be kernel parameters such as 'lockdown=confidentiality', not '$KERNEL_APPEND'"
# One vCPU per guest. With two, Debian's 6.1 guest under qemu's TCG locks up
# while ebpf_diag attaches its probes: both vCPUs stuck at the syscall
# tracepoint's jump-label site that text_poke_bp rewrites, which points at
# the emulation (docs/kernel-matrix.md). The host's native runs cover two
# CPUs. softlockup_panic=1 (lib.sh) ends such a guest at once, with its stack
# traces, instead of at the 20-minute limit. BPFREADY_KERNELS_CPUS=2 brings
# the second vCPU back.
GUEST_CPUS=${BPFREADY_KERNELS_CPUS:-1}
[[ $GUEST_CPUS =~ ^[1-8]$ ]] || bad_setting "BPFREADY_KERNELS_CPUS must be 1 to 8, not '$GUEST_CPUS'"
GUEST_MEMORY=2G
for pair in JOBS:BPFREADY_KERNELS_JOBS BOOT_TIMEOUT:BPFREADY_KERNELS_TIMEOUT TEST_TIMEOUT:BPFREADY_KERNELS_TEST_TIMEOUT; do
  number=${pair%%:*}
  [[ ${!number} =~ ^[1-9][0-9]*$ ]] || bad_setting "${pair#*:} must be a positive number, not '${!number}'"
done

SCRATCH=$(mktemp -d /tmp/bpfready-kernels.XXXXXX)
guests=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pidfile
  for pidfile in "$BUILD_DIR"/kernels/*/qemu.pid "$SCRATCH"/*.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
  if [ "${#guests[@]}" -gt 0 ]; then
    kill "${guests[@]}" 2>/dev/null || true
    wait "${guests[@]}" 2>/dev/null || true
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

./setup/install-deps.sh >/dev/null
for tool in qemu-system-x86_64 busybox mke2fs depmod modprobe apt-get dpkg cmake; do
  command -v "$tool" >/dev/null || die "$tool is missing (./setup/install-deps.sh installs it)"
done

started=$(date +%s)
# Which package each KERNEL names, before the build, so that a typo fails at once.
packages=()
for spec in "${kernels[@]}"; do
  packages+=("$(kernel_package "$spec")")
done

note "building in $BUILD_DIR"
# ccache as the compiler launcher for a new build directory; one configured
# before (e.g. setup/test.sh's, which CI reuses) keeps its configuration, so
# that it is not rebuilt for a launcher.
launcher=()
if command -v ccache >/dev/null && [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFREADY_WERROR=ON -DBPFREADY_TESTS=ON \
  "${launcher[@]}" >"$SCRATCH/cmake.log" 2>&1 || {
  cat "$SCRATCH/cmake.log" >&2
  die "cmake configure failed"
}
cmake --build "$BUILD_DIR" -j"$(nproc)" >"$SCRATCH/build.log" 2>&1 || {
  tail -n 40 "$SCRATCH/build.log" >&2
  die "the build failed"
}
note "built in $(($(date +%s) - started)) s"
for binary in tests/system_tests tests/privilege_tests tools/ebpf_diag/ebpf_diag tools/syscount/syscount \
  tests/support/syscount_maker; do
  [ -x "$BUILD_DIR/$binary" ] || die "the build made no $binary"
done

# One kernel at a time in the cache (flock), so parallel runs share it safely.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
declare -A image_of dir_of
releases=()
for index in "${!kernels[@]}"; do
  spec=${kernels[$index]}
  package=${packages[$index]}
  fetch_kernel "$package"
  image_of[$KERNEL_RELEASE]=$KERNEL_IMAGE
  dir_of[$KERNEL_RELEASE]=$KERNEL_DIR
  releases+=("$KERNEL_RELEASE")
  note "$spec: $package ($KERNEL_RELEASE)"
done
flock -u 9
note "kernels ready after $(($(date +%s) - started)) s"

mkdir -p "$BUILD_DIR/kernels"
IMAGE=$BUILD_DIR/kernels/rootfs.img
note "staging the guest root"
stage_rootfs "$SCRATCH/root"
make_image "$SCRATCH/root" "$IMAGE"
rm -rf "$SCRATCH/root"
note "guest root image: $IMAGE ($(du -m --apparent-size "$IMAGE" | cut -f1) MB), ready after $(($(date +%s) - started)) s"

# run_guest RELEASE: boots it and writes DIR/result ("PASS|FAIL LINE").
run_guest() {
  local release=$1 dir=$BUILD_DIR/kernels/$1 began verdict=PASS line counts trouble
  began=$(date +%s)
  KERNEL_IMAGE=${image_of[$release]}
  if ! boot_kernel "$dir"; then
    [ -f "$dir/summary.txt" ] || verdict=FAIL
  fi
  local wall=$(($(date +%s) - began))
  if [ ! -f "$dir/summary.txt" ]; then
    line="no results: the guest did not boot or finish (see $dir/console.log)"
    trouble=$(console_trouble "$dir/console.log")
    [ -z "$trouble" ] || line+="; its kernel said: $trouble"
    verdict=FAIL
  else
    line=""
    local part p f s
    for part in system_tests privilege_tests scenario; do
      counts=$(sed -n "s/^$part=//p" "$dir/summary.txt")
      read -r p f s <<<"$counts"
      if ! [[ ${p:-x} =~ ^[0-9]+$ && ${f:-x} =~ ^[0-9]+$ ]]; then
        line+="$part missing  "
        verdict=FAIL
        continue
      fi
      [ "$f" -eq 0 ] && [ "$p" -gt 0 ] || verdict=FAIL
      if [ "$part" = scenario ]; then
        line+="$(printf '%s %d/%d  ' "$part" "$p" "$f")"
      else
        line+="$(printf '%s %d/%d/%d  ' "$part" "$p" "$f" "${s:-0}")"
      fi
    done
  fi
  printf '%s %-34s %s  %s  %dm%02ds\n' "$verdict" "$release" "$verdict" "$line" $((wall / 60)) $((wall % 60)) \
    >"$dir/result"
}

for release in "${releases[@]}"; do
  dir=$BUILD_DIR/kernels/$release
  rm -rf "$dir"
  mkdir -p "$dir"
  make_initramfs "${dir_of[$release]}" "$dir/initramfs.gz"
done
[ "$GTEST_FILTER" = '*' ] || note "guests run the tests of --gtest_filter=$GTEST_FILTER (BPFREADY_KERNELS_GTEST_FILTER)"
first=${releases[0]}
choose_accelerator "${image_of[$first]}" "$BUILD_DIR/kernels/$first/initramfs.gz"
note "booting ${#releases[@]} kernel(s), $JOBS at a time, accelerator ${ACCEL[1]}"
for release in "${releases[@]}"; do
  dir=$BUILD_DIR/kernels/$release
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
    wait -n || true
  done
  note "$release: booting (console: $dir/console.log)"
  run_guest "$release" &
  guests+=($!)
done
wait "${guests[@]}" || true
guests=()

echo
echo "kernel matrix: system_tests and privilege_tests as passed/failed/skipped, scenario as passed/failed"
status=0
for release in "${releases[@]}"; do
  result=$BUILD_DIR/kernels/$release/result
  if [ ! -f "$result" ]; then
    printf '%-34s FAIL  the runner left no result\n' "$release"
    status=1
    continue
  fi
  read -r verdict rest <"$result"
  echo "$rest"
  [ "$verdict" = PASS ] || status=1
done
echo "kernel matrix: $([ "$status" -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - started)) s; logs in $BUILD_DIR/kernels/"
exit "$status"
