#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of bpfready from
# Debian 12 packages. Idempotent: it only calls apt-get when something is
# missing. Run it as root, or as a user with sudo (it asks for it only when
# something has to be installed).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang llvm bpftool linux-libc-dev
  libbpf-dev libcap-dev libmount-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  # tests: GoogleTest, setcap/getcap, useradd, runuser/findmnt, unit verification, ground truth
  libgtest-dev libcap2-bin passwd util-linux systemd strace
  # ebpf_diag's textfiles scraped by a real node_exporter, and promtool's lint
  # (tests/system/textfile_scrape.sh)
  prometheus-node-exporter prometheus curl
  # the Debian package (cmake --build BUILD --target package): dpkg-shlibdeps
  # computes Depends, fakeroot and lintian check it, debconf-utils preseeds
  # the install-cycle test; scdoc renders the man pages, man-db finds them
  dpkg-dev fakeroot lintian debconf-utils scdoc man-db
  # bash completion (tests/completion) and the Ansible role and fleet audit
  # (tests/ansible); python3-yaml parses the shipped manifests in tests
  bash-completion ansible python3-yaml
  # the role's apt task needs python3-apt; the fleet test's unreachable host, ssh
  python3-apt openssh-client
  # benchmarks: the peers syscount is measured against
  libbpf-tools bpftrace hyperfine
  # fuzzing (setup/fuzz.sh): libFuzzer and the sanitizer runtimes of clang 14
  libclang-rt-14-dev
  # kernel matrix (setup/test-kernels.sh): qemu boots Debian's kernel packages,
  # busybox-static is the guest's init and shell helpers, e2fsprogs builds the
  # guest's ext4 image (mke2fs -d), kmod resolves module dependencies (depmod -b)
  qemu-system-x86 busybox-static e2fsprogs kmod
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    echo "install-deps: missing ${missing[*]}; installing through sudo"
    exec sudo "$0" "$@"
  fi
  echo "install-deps: missing ${missing[*]}; run this as root" >&2
  exit 2
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
