#!/usr/bin/python3
"""Boot time with one CPU against more: boots the kernel with the default disk (snapshot) under
TCG, alternating -smp 1 and -smp N, and prints each boot's `boot: ready in X ms`, when the last
AP came online, and the medians.  Not part of `make test`.

    tools/bench/smp-boot.py [--kernel build/rayos.elf] [--disk build/disk.img] [--runs 7]
                            [--cpus 4]
"""
import argparse
import re
import statistics
import subprocess


def boot(kernel, disk, cpus):
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", "256M",
           "-smp", str(cpus), "-display", "none", "-no-reboot", "-serial", "stdio",
           "-monitor", "none", "-kernel", kernel, "-append", "exit_on_panic",
           "-drive", f"file={disk},format=raw,if=none,id=d0,snapshot=on",
           "-device", "virtio-blk-pci,drive=d0"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = last_ap = None
    for line in proc.stdout:
        m = re.search(r"boot: ready in ([\d.]+) ms", line)
        n = re.search(r"the last at ([\d.]+) ms", line)
        if n:
            last_ap = float(n.group(1))
        if m:
            ready = float(m.group(1))
            break
    proc.kill()
    proc.wait()
    return ready, last_ap


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", default="build/rayos.elf")
    parser.add_argument("--disk", default="build/disk.img")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cpus", type=int, default=4)
    args = parser.parse_args()
    results = {1: [], args.cpus: []}
    for run in range(args.runs):
        for cpus in (1, args.cpus):
            ready, last_ap = boot(args.kernel, args.disk, cpus)
            results[cpus].append(ready)
            extra = f", last AP online at {last_ap} ms" if last_ap else ""
            print(f"run {run + 1}: -smp {cpus}: ready in {ready} ms{extra}", flush=True)
    for cpus, values in results.items():
        values = [v for v in values if v is not None]
        print(f"-smp {cpus}: median {statistics.median(values):.1f} ms "
              f"(min {min(values):.1f}) over {len(values)} boots")


if __name__ == "__main__":
    main()
