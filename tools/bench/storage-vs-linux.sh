#!/bin/bash
# storage-vs-linux.sh - RayOS `blk bench` against Linux+fio (../shared/bench/linux-peer.sh) on an
# AHCI, NVMe or IDE disk with the same QEMU drive/device options (q35, or pc for IDE; cache=none,
# aio=threads, -smp 2 -m 1G), RUNS times each; prints every run, the medians and the ratios.
# Not part of `make test` (it takes minutes and its figures vary with the host).
#
#   tools/bench/storage-vs-linux.sh ahci|nvme|ide [IMAGE]   default: a fresh 256 MiB random image
# Env: RUNS=3  SECONDS_PER_TEST=5  ACCEL=tcg  PEER=/work/shared/bench/linux-peer.sh
#      WORK=/tmp/storage-vs-linux  RAYOS_BUILD=build
#
# linux-peer.sh always attaches its image as virtio-blk on drive d0; the disk under test is a
# copy of the image on drive s0 (QEMU's image locking forbids opening one file twice).
set -euo pipefail
cd "$(dirname "$0")/../.."
KIND=${1:?usage: storage-vs-linux.sh ahci|nvme|ide [IMAGE]}
RUNS=${RUNS:-3}; SECONDS_PER_TEST=${SECONDS_PER_TEST:-5}; ACCEL=${ACCEL:-tcg}
PEER=${PEER:-/work/shared/bench/linux-peer.sh}; WORK=${WORK:-/tmp/storage-vs-linux}/$KIND
export RAYOS_BUILD=${RAYOS_BUILD:-build} RAYOS_ACCEL=$ACCEL
mkdir -p "$WORK"
img=${2:-$WORK/disk.img}
[ -f "$img" ] || dd if=/dev/urandom of="$img" bs=1M count=256 status=none
cp "$img" "$WORK/under-test.img"
drive="file=$WORK/under-test.img,if=none,id=s0,format=raw,cache=none,aio=threads"
machine=q35; machine_args=()
case $KIND in
ahci) device="ide-hd,drive=s0,bus=ide.0"; linux_dev=/dev/sda; mods="ahci sd_mod"; rayos_dev=sda ;;
nvme) device="nvme,serial=bench,drive=s0"; linux_dev=/dev/nvme0n1; mods="nvme"; rayos_dev=nvme0n1 ;;
ide) device="ide-hd,drive=s0,bus=ide.0"; linux_dev=/dev/sda; mods="ata_piix sd_mod"
     rayos_dev=hda; machine=pc; machine_args=(-machine pc) ;;  # PIIX3 IDE exists on pc only
*) echo "unknown kind $KIND" >&2; exit 2 ;;
esac

for run in $(seq "$RUNS"); do
    ACCEL=$ACCEL NOWRITE=1 RUNTIME=$SECONDS_PER_TEST DEV=$linux_dev MODS="$mods" \
        "$PEER" "$img" "${machine_args[@]}" -drive "$drive" -device "$device" |
        sed "s/^/LINUX $run /"
done > "$WORK/linux.txt"

for run in $(seq "$RUNS"); do
    /usr/bin/python3 - "$drive" "$device" "$rayos_dev" "$SECONDS_PER_TEST" "$machine" <<'PY' |
import sys
sys.path.insert(0, "tests/system")
from rayos_qemu import RayOS
drive, device, disk, seconds, machine = sys.argv[1:4] + [int(sys.argv[4]), sys.argv[5]]
with RayOS(machine=machine, mem="1G", extra=["-smp", "2"], drives=[drive], devices=[device]) as vm:
    print(vm.run(f"blk bench {disk} {seconds}", timeout=60 + 10 * seconds), end="")
    vm.poweroff()
PY
        sed "s/^/RAYOS $run /"
done > "$WORK/rayos.txt"

cat "$WORK/linux.txt" "$WORK/rayos.txt"
/usr/bin/python3 tools/bench/compare.py "$WORK/linux.txt" "$WORK/rayos.txt" 1.0 - 1.0
