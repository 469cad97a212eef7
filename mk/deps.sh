#!/bin/sh
# Checks for the Debian packages RayOS builds and tests with.  As root it installs what is
# missing with apt-get; otherwise it prints the exact command and stops.
missing=""
need() { # need PACKAGE TEST...
    pkg=$1; shift
    for probe in "$@"; do
        case $probe in
            /*) [ -e "$probe" ] || { missing="$missing $pkg"; return; } ;;
            *) command -v "$probe" >/dev/null 2>&1 || { missing="$missing $pkg"; return; } ;;
        esac
    done
}
need gcc gcc
need binutils ld nm
need make make
need clang clang
need libclang-rt-14-dev /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
need libcmocka-dev /usr/include/cmocka.h
need qemu-system-x86 qemu-system-x86_64
need qemu-system-arm qemu-system-aarch64
need qemu-utils qemu-img
# The second architecture (make test builds and boots aarch64 too).
need gcc-aarch64-linux-gnu aarch64-linux-gnu-gcc
need binutils-aarch64-linux-gnu aarch64-linux-gnu-ld aarch64-linux-gnu-objcopy
need qemu-system-arm qemu-system-aarch64
need ovmf /usr/share/ovmf/OVMF.fd /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_VARS_4M.fd
need grub-common grub-mkrescue grub-mkimage
need grub-pc-bin /usr/lib/grub/i386-pc /usr/lib/grub/i386-pc/boot.img
need grub-efi-amd64-bin /usr/lib/grub/x86_64-efi
need xorriso xorriso
need mtools mcopy
need dosfstools mkfs.fat fsck.fat
need fdisk sfdisk
need pci.ids /usr/share/misc/pci.ids
need pciutils lspci
need xxd xxd
need python3 /usr/bin/python3
need python3-pytest /usr/lib/python3/dist-packages/pytest
need python3-pexpect /usr/lib/python3/dist-packages/pexpect
need python3-pytest-xdist /usr/lib/python3/dist-packages/xdist
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >/tmp/rayos-apt.log 2>&1 || {
        tail -20 /tmp/rayos-apt.log; echo "deps: apt-get failed (log: /tmp/rayos-apt.log)"; exit 1; }
else
    echo "deps: missing packages. Run:"
    echo "  sudo apt-get install -y$missing"
    exit 1
fi
