#!/bin/bash
# blk-vs-linux.sh - RayOS `blk bench` against Linux+fio (../shared/bench/linux-peer.sh) on the
# same disk image and the same QEMU drive/device options (q35, virtio-blk-pci, cache=none,
# aio=threads, -smp 2 -m 1G), RUNS times each; prints every run, the medians and the ratios.
# Not part of `make test` (it takes minutes and its figures vary with the host).
#
#   tools/bench/blk-vs-linux.sh [IMAGE]      default: a fresh 256 MiB random image in $WORK
# Env: RUNS=3  SECONDS_PER_TEST=5  ACCEL=tcg  PEER=/work/shared/bench/linux-peer.sh
#      WORK=/tmp/blk-vs-linux  RAYOS_BUILD=build
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}; SECONDS_PER_TEST=${SECONDS_PER_TEST:-5}; ACCEL=${ACCEL:-tcg}
PEER=${PEER:-/work/shared/bench/linux-peer.sh}; WORK=${WORK:-/tmp/blk-vs-linux}
export RAYOS_BUILD=${RAYOS_BUILD:-build} RAYOS_ACCEL=$ACCEL
mkdir -p "$WORK"
img=${1:-$WORK/disk.img}
[ -f "$img" ] || dd if=/dev/urandom of="$img" bs=1M count=256 status=none

for run in $(seq "$RUNS"); do
    ACCEL=$ACCEL NOWRITE=1 RUNTIME=$SECONDS_PER_TEST "$PEER" "$img" | sed "s/^/LINUX $run /"
done > "$WORK/linux.txt"

for run in $(seq "$RUNS"); do
    /usr/bin/python3 - "$img" "$SECONDS_PER_TEST" <<'PY' | sed "s/^/RAYOS $run /"
import sys
sys.path.insert(0, "tests/system")
from rayos_qemu import RayOS
img, seconds = sys.argv[1], int(sys.argv[2])
with RayOS(machine="q35", mem="1G", extra=["-smp", "2"],
           drives=[f"file={img},if=none,id=d0,format=raw,cache=none,aio=threads"],
           devices=["virtio-blk-pci,drive=d0"]) as vm:
    print(vm.run(f"blk bench vda {seconds}", timeout=60 + 10 * seconds), end="")
    vm.poweroff()
PY
done > "$WORK/rayos.txt"

cat "$WORK/linux.txt" "$WORK/rayos.txt"
/usr/bin/python3 tools/bench/compare.py "$WORK/linux.txt" "$WORK/rayos.txt" 1.3 2.0 3.0
