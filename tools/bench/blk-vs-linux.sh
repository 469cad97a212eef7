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
/usr/bin/python3 - "$WORK/linux.txt" "$WORK/rayos.txt" <<'PY'
import re, statistics, sys
linux, rayos = open(sys.argv[1]).read(), open(sys.argv[2]).read()
def median(pattern, text):
    values = [float(v) for v in re.findall(pattern, text)]
    return statistics.median(values) if values else float("nan")
rows = [
    ("seqread 128k qd32 (MB/s)", r"FIO seqread_128k_qd32 bw_MBps=([\d.]+)",
     r"seqread 128k qd32: ([\d.]+) MB/s", 1.3),
    ("randread 4k qd1 (IOPS)", r"FIO randread_4k_qd1 bw_MBps=[\d.]+ iops=(\d+)",
     r"randread 4k qd1: (\d+) IOPS", 2.0),
    ("randread 4k qd32 (IOPS)", r"FIO randread_4k_qd32 bw_MBps=[\d.]+ iops=(\d+)",
     r"randread 4k qd32: (\d+) IOPS", 3.0),
]
print(f"{'test':28} {'Linux':>10} {'RayOS':>10} {'ratio':>7} {'goal':>6}")
for name, lp, rp, goal in rows:
    l, r = median(lp, linux), median(rp, rayos)
    print(f"{name:28} {l:10.1f} {r:10.1f} {r / l:7.2f} {goal:6.1f}")
PY
