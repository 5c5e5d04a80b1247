# shellcheck shell=bash
# The pieces of the kernel matrix (setup/test-kernels.sh), sourced by it:
#   kernel_package SPEC         which Debian package a KERNEL argument names
#   fetch_kernel PACKAGE        apt-get download + dpkg -x into the cache, depmod -b
#   make_initramfs DIR OUT      busybox, the root disk's modules, the kernel config
#   stage_rootfs STAGE          the guest's root tree: what the tests need, no more
#   make_image STAGE IMAGE      an ext4 image of that tree (mke2fs -d)
#   boot_kernel DIR             boots one kernel under qemu and collects its results
# The caller sets SOURCE_DIR, BUILD_DIR, CACHE, SCRATCH, IMAGE, TEST_TIMEOUT,
# GTEST_FILTER, BOOT_TIMEOUT, GUEST_CPUS, GUEST_MEMORY and KERNEL_APPEND.
# Nothing here installs a package or writes outside the build directory,
# the kernel cache and a scratch directory the caller removes.

# Modules the guest needs before it can mount its root disk (Debian builds
# virtio-blk as a module even in its cloud kernels; ext4 is built in).
INITRAMFS_MODULES=(virtio_pci virtio_blk ext4)

# Host packages copied whole into the guest (minus documentation): the
# shells, coreutils and util-linux (mount, runuser, setpriv, findmnt), the
# account tools (useradd, groupadd, gpasswd; with PAM, which runuser uses),
# setcap/getcap, strace, bpftool (the tests list loaded programs with it),
# systemd (systemd-analyze verify checks the shipped units; it does not run)
# and the small tools the tests and hooks call.
GUEST_PACKAGES=(
  dash bash coreutils util-linux mount login passwd libcap2-bin strace
  grep sed findutils tar gzip procps diffutils bpftool systemd
  libpam-modules libpam-modules-bin libpam-runtime
)

# Tests the guests leave out (a --gtest_filter): only ones whose outcome
# cannot depend on the kernel and that cost minutes under emulation. The
# native suites of CI run them. BPFREADY_KERNELS_GTEST_FILTER replaces it
# ('*' runs everything).
#   FailureAtEachStepOfApplyRevertsCleanly: tracefs-setup's rollback with a
#   failure injected into each of its ~40 user-space steps (3 min under TCG).
# shellcheck disable=SC2034 # used by setup/test-kernels.sh
DEFAULT_GTEST_FILTER='-TracefsSetupSystem.FailureAtEachStepOfApplyRevertsCleanly'

# Host files copied as they are: account and PAM configuration.
GUEST_HOST_FILES=(
  /etc/login.defs /etc/default/useradd /etc/pam.d /etc/security /etc/shells
  /etc/os-release /usr/lib/os-release /etc/debian_version /etc/ld.so.conf /etc/ld.so.conf.d
  /etc/environment /etc/skel
)

note() { echo "test-kernels: $*"; }
die() {
  echo "test-kernels: error: $*" >&2
  exit 1
}

# --- kernels -----------------------------------------------------------------

# The newest package apt knows whose name matches the extended regex $1.
newest_package() {
  apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$1" | sort -V | tail -n 1
}

apt_updated=no
apt_update_once() {
  [ "$apt_updated" = no ] || return 0
  apt_updated=yes
  note "apt-get update (a kernel package was not found)"
  apt-get update -q >/dev/null || die "apt-get update failed"
}

# kernel_package SPEC: the Debian package a KERNEL argument stands for.
kernel_package() {
  local spec=$1 pattern
  case $spec in
    6.1 | 6.1-cloud) pattern='^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
    6.1-amd64 | 6.1-generic) pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
    6.12 | 6.12-cloud) pattern='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' ;;
    6.12-amd64 | 6.12-generic) pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
    linux-image-*) pattern="^${spec//./\\.}\$" ;;
    *)
      echo "test-kernels: unknown kernel '$spec' (one of 6.1, 6.1-amd64, 6.12, 6.12-amd64, or a linux-image-* package name)" >&2
      exit 2
      ;;
  esac
  local package
  package=$(newest_package "$pattern")
  if [ -z "$package" ]; then
    apt_update_once
    package=$(newest_package "$pattern")
  fi
  [ -n "$package" ] || die "no Debian package matches kernel '$spec' (pattern $pattern)"
  echo "$package"
}

# fetch_kernel PACKAGE: downloads and extracts PACKAGE into the cache (once)
# and sets KERNEL_DIR (the extracted tree), KERNEL_RELEASE and KERNEL_IMAGE.
fetch_kernel() {
  local package=$1 deb
  mkdir -p "$CACHE/debs" "$CACHE/trees"
  deb=$(find "$CACHE/debs" -maxdepth 1 -name "${package}_*.deb" | sort -V | tail -n 1)
  if [ -z "$deb" ]; then
    note "downloading $package"
    if ! (cd "$CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download "$package" >/dev/null); then
      # The index may name a version the mirror no longer has.
      apt_update_once
      (cd "$CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download "$package" >/dev/null) ||
        die "apt-get download $package failed"
    fi
    deb=$(find "$CACHE/debs" -maxdepth 1 -name "${package}_*.deb" | sort -V | tail -n 1)
    [ -n "$deb" ] || die "apt-get download $package left no .deb in $CACHE/debs"
  fi
  KERNEL_DIR=$CACHE/trees/$(basename "$deb" .deb)
  if [ ! -e "$KERNEL_DIR/.complete" ]; then
    rm -rf "$KERNEL_DIR" "$KERNEL_DIR.partial"
    dpkg -x "$deb" "$KERNEL_DIR.partial" || die "dpkg -x $deb failed"
    local release
    release=$(find "$KERNEL_DIR.partial/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | head -n 1)
    [ -n "$release" ] || die "$deb holds no /boot/vmlinuz-*"
    if [ -d "$KERNEL_DIR.partial/lib/modules/$release" ]; then
      depmod -b "$KERNEL_DIR.partial" "$release" || die "depmod -b for $release failed"
    fi
    echo "$release" >"$KERNEL_DIR.partial/.release"
    touch "$KERNEL_DIR.partial/.complete"
    mv "$KERNEL_DIR.partial" "$KERNEL_DIR"
  fi
  KERNEL_RELEASE=$(cat "$KERNEL_DIR/.release")
  KERNEL_IMAGE=$KERNEL_DIR/boot/vmlinuz-$KERNEL_RELEASE
}

# make_initramfs KERNEL_DIR OUT: a gzip'd cpio with busybox as /init's shell,
# the INITRAMFS_MODULES this kernel builds as modules (in dependency order,
# decompressed for busybox insmod) and the kernel's config for the guest's /boot.
make_initramfs() {
  local kdir=$1 out=$2 release root
  release=$(cat "$kdir/.release")
  root=$(mktemp -d "$SCRATCH/initramfs.XXXXXX")
  mkdir -p "$root/bin" "$root/modules" "$root/boot"
  cp /bin/busybox "$root/bin/busybox"
  cp "$SOURCE_DIR/tests/kernels/guest/stage1-init" "$root/init"
  chmod 0755 "$root/init"
  cp "$kdir/boot/config-$release" "$root/boot/"
  : >"$root/modules/order"
  local module deps line path name
  for module in "${INITRAMFS_MODULES[@]}"; do
    if ! deps=$(modprobe -d "$kdir" -S "$release" --show-depends "$module" 2>&1); then
      die "kernel $release has no module $module: $deps"
    fi
    while read -r line; do
      case $line in
        builtin\ *) continue ;;
        insmod\ *) path=$(echo "$line" | awk '{print $2}') ;;
        *) continue ;;
      esac
      name=$(basename "$path")
      name=${name%.xz}
      name=${name%.zst}
      name=${name%.gz}
      grep -qxF "$name" "$root/modules/order" && continue
      case $path in
        *.xz) xz -dc "$path" >"$root/modules/$name" ;;
        *.zst) zstd -qdc "$path" >"$root/modules/$name" ;;
        *.gz) gzip -dc "$path" >"$root/modules/$name" ;;
        *) cp "$path" "$root/modules/$name" ;;
      esac || die "cannot unpack module $path"
      echo "$name" >>"$root/modules/order"
    done <<<"$deps"
  done
  (cd "$root" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$out" ||
    die "cannot build the initramfs for $release"
  rm -rf "$root"
}

# --- the guest's root --------------------------------------------------------

# copy_paths STAGE: copies the absolute paths on stdin (files and symlinks;
# directories and top-level entries are skipped) into STAGE under their canonical directory, so
# that /bin/x and /usr/bin/x land in one place whatever the host's usrmerge.
copy_paths() {
  local stage=$1 path dir canon
  local -A canonical=()
  while read -r path; do
    [ -e "$path" ] || [ -L "$path" ] || continue
    [ -d "$path" ] && [ ! -L "$path" ] && continue
    dir=$(dirname "$path")
    [ "$dir" != / ] || continue  # /bin, /lib...: the stage has the host's layout already
    canon=${canonical[$dir]:-}
    if [ -z "$canon" ]; then
      canon=$(readlink -f "$dir")
      canonical[$dir]=$canon
    fi
    echo "${canon#/}/$(basename "$path")"
  done | sort -u >"$SCRATCH/paths"
  tar -C / --no-recursion -cf - -T "$SCRATCH/paths" | tar -C "$stage" --keep-directory-symlink -xf - ||
    die "cannot copy host files into the guest root"
}

# add_library_closure STAGE: copies every shared library the ELF files of
# STAGE need (ldd, repeated until nothing is missing), and the loader.
add_library_closure() {
  local stage=$1 round=0 missing lib
  while :; do
    round=$((round + 1))
    [ "$round" -le 10 ] || die "the shared-library closure does not settle"
    find "$stage" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) -print0 |
      { xargs -0 -r ldd 2>/dev/null || true; } |
      awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' |
      sort -u >"$SCRATCH/libs"
    missing=()
    while read -r lib; do
      [ -e "$stage/$(readlink -f "$(dirname "$lib")")/$(basename "$lib")" ] || missing+=("$lib")
    done <"$SCRATCH/libs"
    [ "${#missing[@]}" -gt 0 ] || break
    for lib in "${missing[@]}"; do
      local dest
      dest=$stage/$(readlink -f "$(dirname "$lib")")
      mkdir -p "$dest"
      cp -L "$lib" "$dest/$(basename "$lib")" || die "cannot copy $lib"
    done
  done
}

# stage_rootfs STAGE: the guest's root tree (see docs/kernel-matrix.md).
stage_rootfs() {
  local stage=$1 package dir
  mkdir -p "$stage"
  # The host's usrmerge layout, so paths in scripts and tests resolve alike.
  for dir in bin sbin lib lib64; do
    if [ -L "/$dir" ]; then
      ln -s "$(readlink "/$dir")" "$stage/$dir"
    else
      mkdir -p "$stage/$dir"
    fi
  done
  mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,run,tmp,root,home,boot,mnt,var/tmp,var/log,var/lib}
  mkdir -p "$stage/etc/systemd/system" "$stage/etc/default" "$stage/var/spool/mail"
  chmod 1777 "$stage/tmp" "$stage/var/tmp"
  chmod 0700 "$stage/root"

  for package in "${GUEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      die "host package $package is not installed (./setup/install-deps.sh installs it)"
    dpkg -L "$package"
  done | grep -Ev '^/usr/share/(doc|man|info|locale|lintian|bash-completion|zsh|fish)/' | copy_paths "$stage"
  local existing=()
  for dir in "${GUEST_HOST_FILES[@]}"; do
    [ -e "$dir" ] && existing+=("${dir#/}")
  done
  tar -C / -cf - "${existing[@]}" | tar -C "$stage" --keep-directory-symlink -xf - ||
    die "cannot copy the host's account configuration"
  [ -e "$stage/bin/sh" ] || ln -s dash "$stage/usr/bin/sh"

  # busybox: init (PID 1) and a fallback for anything else, last in PATH.
  mkdir -p "$stage/opt/bpfready-guest/bin"
  cp /bin/busybox "$stage/opt/bpfready-guest/bin/busybox"
  local applet
  for applet in $(busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$stage/opt/bpfready-guest/bin/$applet"
  done

  # Accounts: root and nobody only; the tests create their own users.
  cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
  cat >"$stage/etc/group" <<'EOF'
root:x:0:
tty:x:5:
shadow:x:42:
utmp:x:43:
users:x:100:
nogroup:x:65534:
EOF
  printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' >"$stage/etc/shadow"
  printf 'root:*::\ntty:*::\nshadow:*::\nutmp:*::\nusers:*::\nnogroup:*::\n' >"$stage/etc/gshadow"
  chmod 0640 "$stage/etc/shadow" "$stage/etc/gshadow"
  chgrp 42 "$stage/etc/shadow" "$stage/etc/gshadow"
  printf 'passwd: files\ngroup: files\nshadow: files\ngshadow: files\nhosts: files\n' >"$stage/etc/nsswitch.conf"
  echo bpfready-guest >"$stage/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 bpfready-guest\n' >"$stage/etc/hosts"
  ln -sf ../proc/self/mounts "$stage/etc/mtab"
  # No sysctl.d: the guest keeps its kernel's defaults.
  rm -rf "$stage/etc/sysctl.d" "$stage/etc/sysctl.conf" "$stage/usr/lib/sysctl.d"

  cat >"$stage/etc/inittab" <<EOF
::sysinit:/bin/sh $SOURCE_DIR/tests/kernels/guest/main.sh
::ctrlaltdel:/opt/bpfready-guest/bin/reboot -f
EOF
  cat >"$stage/etc/bpfready-guest.conf" <<EOF
BUILD_DIR='$BUILD_DIR'
SOURCE_DIR='$SOURCE_DIR'
TEST_TIMEOUT='$TEST_TIMEOUT'
GTEST_FILTER='$GTEST_FILTER'
RESULTS_DISK=/dev/vdb
EOF

  # The source tree (fixtures, hooks, the guest scripts) and the build tree
  # (tools, tests, helpers), each at its absolute path: the tests find them
  # through compiled-in paths.
  if git -C "$SOURCE_DIR" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$SOURCE_DIR" ls-files -co --exclude-standard | sed "s|^|${SOURCE_DIR#/}/|"
  else
    (cd / && find "${SOURCE_DIR#/}" \( -name '.git' -o -name 'build*' \) -prune -o \( -type f -o -type l \) -print)
  fi >"$SCRATCH/source-files"
  tar -C / -cf - -T "$SCRATCH/source-files" | tar -C "$stage" -xf - || die "cannot copy the source tree"
  tar -C / --exclude="${BUILD_DIR#/}/kernels" --exclude='CMakeFiles' --exclude='Testing' \
    --exclude='*.o' --exclude='*.a' -cf - "${BUILD_DIR#/}" | tar -C "$stage" -xf - ||
    die "cannot copy the build tree"

  add_library_closure "$stage"
}

# make_image STAGE IMAGE: an ext4 image of STAGE with room for the tests' writes.
make_image() {
  local stage=$1 image=$2 size
  size=$(($(du -sm "$stage" | cut -f1) + 512))
  rm -f "$image"
  mke2fs -q -F -t ext4 -L bpfready-guest -d "$stage" "$image" "${size}M" >/dev/null ||
    die "mke2fs -d failed for $image"
}

# console_trouble CONSOLE_LOG: the first line where the guest kernel
# reported a bug, a lockup or a panic, if any.
console_trouble() {
  grep -m 1 -E 'BUG:|Kernel panic|soft lockup|hard LOCKUP|blocked for more than|detected stalls|Oops' "$1" 2>/dev/null |
    sed 's/^\[ *[0-9.]*\] //'
}

# --- booting -----------------------------------------------------------------

# kvm_usable KERNEL_IMAGE INITRAMFS: whether a guest boots under KVM here.
# /dev/kvm can exist and still fail under nested virtualisation: qemu then
# stops with "KVM internal error" in the kernel's decompressor, or the guest
# never prints a line, and qemu pauses instead of exiting. So this boots the
# initramfs to its first line (bpfready.probe), which takes a second or two
# under a working KVM, and gives up after 20 s.
kvm_usable() {
  [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -z "${BPFREADY_KERNELS_NO_KVM:-}" ] || return 1
  local log=$SCRATCH/kvm-probe pid deadline=$((SECONDS + 20)) verdict=1
  qemu-system-x86_64 -accel kvm -cpu max -smp 1 -m 512M -nodefaults -no-user-config -display none -nic none \
    -no-reboot -serial "file:$log.console" -kernel "$1" -initrd "$2" \
    -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init bpfready.probe" >"$log.qemu" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$log.pid"  # for the caller's cleanup
  while [ "$SECONDS" -lt "$deadline" ]; do
    if grep -q 'BPFREADY-GUEST: probe ok' "$log.console" 2>/dev/null; then
      verdict=0
      break
    fi
    grep -q 'KVM internal error\|failed to initialize kvm\|Could not access KVM' "$log.qemu" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -f "$log.pid"
  return "$verdict"
}

# ACCEL: qemu's accelerator options, set once by choose_accelerator.
choose_accelerator() {
  if kvm_usable "$@"; then
    ACCEL=(-accel kvm)
  else
    # Multi-threaded TCG: one host thread per guest CPU.
    ACCEL=(-accel "tcg,thread=multi")
  fi
}

# boot_kernel OUTDIR: boots KERNEL_IMAGE with OUTDIR/initramfs.gz and the root
# image, under a host-side timeout; leaves console.log, results/ and
# summary.txt in OUTDIR. Returns non-zero when the guest did not finish.
boot_kernel() {
  local dir=$1 status=0
  rm -rf "$dir/results" "$dir/results.img"
  mkdir -p "$dir/results"
  truncate -s 256M "$dir/results.img"
  timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 \
    "${ACCEL[@]}" -cpu max -smp "$GUEST_CPUS" -m "$GUEST_MEMORY" \
    -nodefaults -no-user-config -display none -nic none -no-reboot \
    -serial "file:$dir/console.log" \
    -kernel "$KERNEL_IMAGE" -initrd "$dir/initramfs.gz" \
    -append "console=ttyS0 panic=-1 softlockup_panic=1 rdinit=/init${KERNEL_APPEND:+ $KERNEL_APPEND}" \
    -drive "file=${IMAGE:?},format=raw,if=virtio,snapshot=on,cache=unsafe" \
    -drive "file=$dir/results.img,format=raw,if=virtio" \
    >"$dir/qemu.log" 2>&1 </dev/null &
  # The caller's cleanup stops the guest through this pid (timeout passes the
  # signal on to qemu).
  echo $! >"$dir/qemu.pid"
  wait $! || status=$?
  rm -f "$dir/qemu.pid"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "the guest did not finish within $BOOT_TIMEOUT s" >>"$dir/qemu.log"
  fi
  tar -C "$dir/results" -xf "$dir/results.img" 2>>"$dir/qemu.log" || true
  rm -f "$dir/results.img"
  [ -f "$dir/results/summary.txt" ] || return 1
  cp "$dir/results/summary.txt" "$dir/summary.txt"
  return "$status"
}
