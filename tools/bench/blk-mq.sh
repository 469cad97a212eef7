#!/bin/bash
# blk-mq.sh - multi-queue block figures: RayOS `blk bench` with one hardware queue and one job
# against two queues and two jobs pinned to the two CPUs (-smp 2), and Linux + fio with two jobs
# on the same QEMU line (../shared/bench/linux-peer.sh, NUMJOBS=2 SMP=2), RUNS times each, plus
# the host-side ceiling (`qemu-img bench` on the same file).  Prints every run and the medians.
# Not part of `make test` (it takes minutes and its figures vary with the host).
#
#   tools/bench/blk-mq.sh virtio|nvme [IMAGE]   default: a fresh 256 MiB random image in $WORK
# Env: RUNS=5  SECONDS_PER_TEST=5  ACCEL=tcg  PEER=/work/shared/bench/linux-peer.sh
#      WORK=/tmp/blk-mq  RAYOS_BUILD=build
set -euo pipefail
cd "$(dirname "$0")/../.."
KIND=${1:?usage: blk-mq.sh virtio|nvme [IMAGE]}
RUNS=${RUNS:-5}; SECONDS_PER_TEST=${SECONDS_PER_TEST:-5}; ACCEL=${ACCEL:-tcg}
PEER=${PEER:-/work/shared/bench/linux-peer.sh}; WORK=${WORK:-/tmp/blk-mq}/$KIND
export RAYOS_BUILD=${RAYOS_BUILD:-build} RAYOS_ACCEL=$ACCEL
mkdir -p "$WORK"
img=${2:-$WORK/disk.img}
[ -f "$img" ] || dd if=/dev/urandom of="$img" bs=1M count=256 status=none

case $KIND in
virtio)
    # linux-peer.sh attaches $img itself as virtio-blk with BLK_OPTS.
    linux_env=(BLK_OPTS=",num-queues=2"); linux_args=()
    drive="file=$img,if=none,id=d0,format=raw,cache=none,aio=threads"
    device="virtio-blk-pci,drive=d0,num-queues=2"; rayos_dev=vda; one_queue=virtio_blk.queues=1 ;;
nvme)
    # The NVMe disk is a copy (QEMU's image lock forbids opening the peer's file twice).
    cp "$img" "$WORK/under-test.img"
    drive="file=$WORK/under-test.img,if=none,id=s0,format=raw,cache=none,aio=threads"
    device="nvme,serial=bench,drive=s0"; rayos_dev=nvme0n1; one_queue=nvme.queues=1
    linux_env=(DEV=/dev/nvme0n1 MODS=nvme); linux_args=(-drive "$drive" -device "$device") ;;
*) echo "unknown kind $KIND" >&2; exit 2 ;;
esac

rayos() { # CMDLINE JOBS: the bench, then the host CPU time each QEMU thread group spent in it
    /usr/bin/python3 - "$drive" "$device" "$rayos_dev" "$SECONDS_PER_TEST" "$1" "$2" <<'PY'
import glob, os, sys
sys.path.insert(0, "tests/system")
from rayos_qemu import RayOS
drive, device, disk, seconds, cmdline, jobs = sys.argv[1:]

def cpu_seconds(pid):
    """Host CPU seconds per QEMU thread group (vCPUs, main loop, I/O workers)."""
    groups = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            name = open(task + "/comm").read().strip()
            fields = open(task + "/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group = ("vcpus" if name.endswith("/TCG") or name.endswith("/KVM") else
                 "workers" if name.startswith("worker") else
                 "main" if name.startswith("qemu-system") else "other")
        groups[group] = groups.get(group, 0) + (int(fields[11]) + int(fields[12])) / 100
    return groups

with RayOS(machine="q35", mem="1G", smp=2, cmdline=cmdline, drives=[drive], devices=[device],
           extra=["-name", "rayos,debug-threads=on"]) as vm:
    before = cpu_seconds(vm.child.pid)
    out = vm.run(f"blk bench {disk} {seconds} --jobs {jobs} --test randread-qd32",
                 timeout=60 + 10 * int(seconds))
    after = cpu_seconds(vm.child.pid)
    print(out, end="")
    print("THREADS " + " ".join(f"{g}={after[g] - before.get(g, 0):.2f}" for g in sorted(after)))
    vm.poweroff()
PY
}

: > "$WORK/runs.txt"
for run in $(seq "$RUNS"); do
    env ACCEL=$ACCEL NOWRITE=1 RUNTIME=$SECONDS_PER_TEST NUMJOBS=2 SMP=2 "${linux_env[@]}" \
        "$PEER" "$img" "${linux_args[@]}" | sed "s/^/LINUX2 $run /" >> "$WORK/runs.txt"
    rayos "$one_queue" 1 | sed "s/^/RAYOS1 $run /" >> "$WORK/runs.txt"
    rayos "" 2 | sed "s/^/RAYOS2 $run /" >> "$WORK/runs.txt"
    start=$(date +%s.%N)
    qemu-img bench -q -f raw -t none -i threads -d 32 -s 4096 -c 400000 "$img"
    end=$(date +%s.%N)
    echo "HOST $run iops=$(echo "400000 / ($end - $start)" | bc)" >> "$WORK/runs.txt"
done
cat "$WORK/runs.txt"
/usr/bin/python3 - "$WORK/runs.txt" "$SECONDS_PER_TEST" <<'PY'
import re, statistics, sys
text = open(sys.argv[1]).read()
def med(pattern):
    values = [float(v) for v in re.findall(pattern, text, re.M)]
    return statistics.median(values) if values else float("nan")
host = med(r"^HOST \d+ iops=(\d+)")
linux = med(r"^LINUX2 \d+ FIO randread_4k_qd32 bw_MBps=[\d.]+ iops=(\d+)")
one = med(r"^RAYOS1 \d+ blk-bench: randread 4k qd32: (\d+) IOPS")
two = med(r"^RAYOS2 \d+ blk-bench: randread 4k qd32: (\d+) IOPS")
print("randread 4k, QD32 per job, medians (IOPS):")
print(f"  Linux + fio, 2 jobs, 2 queues   {linux:8.0f}")
print(f"  RayOS, 1 job, 1 queue          {one:8.0f}")
print(f"  RayOS, 2 jobs, 2 queues         {two:8.0f}   {two / one:.2f}x one queue, "
      f"{two / linux:.2f}x Linux, {100 * two / host:.0f} % of the host ceiling")
print(f"  host ceiling (qemu-img bench)  {host:8.0f}")
# Where the host's time goes: CPU microseconds per request in each QEMU thread group.
seconds = float(sys.argv[2])
for tag, iops in (("RAYOS1", one), ("RAYOS2", two)):
    per = {}
    for line in re.findall(rf"^{tag} \d+ THREADS (.*)$", text, re.M):
        for group, value in (item.split("=") for item in line.split()):
            per.setdefault(group, []).append(float(value))
    if per and iops == iops:
        cost = ", ".join(f"{g} {1e6 * statistics.median(v) / (iops * seconds):.1f}"
                         for g, v in sorted(per.items()))
        print(f"  {tag}: host CPU us per request: {cost}")
