#!/usr/bin/python3
"""Boot to prompt under TCG: boots one or more x86_64 kernels in turn (A, B, A, B, ...) with the
default disk, and prints per kernel the median and minimum of `boot: ready in X ms` (kernel
entry to the shell prompt) and, with --phases, of what initcall_debug logs: the time to the
calibrated clock and each init hook's duration.  Booting the kernels alternately spreads the
host's slow moments over all of them, which matters on a shared machine (docs/PERFORMANCE.md).

    tools/bench/boot-time.py [--runs 11] [--smp 1] [--phases] [--disk build/disk.img]
                             [--append "..."] [--aarch64] KERNEL[:OPTIONS] [KERNEL...]

KERNEL:OPTIONS adds kernel options for that entry only, so one kernel can be compared with
itself under another option: build/rayos.elf build/rayos.elf:nolockdep.

--aarch64 boots arm64 Images (build/aarch64/rayos.bin) on QEMU's virt machine with a GICv3 and
`-cpu max`, the default disk then being build/aarch64/disk.img.

The disk is attached with snapshot=on, so it is never written.
"""
import argparse
import collections
import re
import statistics
import sys

import pexpect

READY = re.compile(r"boot: ready in ([\d.]+) ms")
CALIBRATED = re.compile(r"\[\s*([\d.]+)\] time: (TSC|generic timer)")
INITCALL = re.compile(r"init: (\w+) \(level \d\) returned -?\d+ after (\d+) us")


def boot(kernel, disk, smp, append, aarch64):
    machine = ["-machine", "virt,gic-version=3", "-cpu", "max"] if aarch64 else ["-machine", "q35"]
    args = machine + ["-accel", "tcg", "-m", "256M", "-smp", str(smp), "-display", "none",
                      "-no-reboot", "-monitor", "none", "-serial", "stdio", "-kernel", kernel,
                      "-append", append,
                      "-drive", f"file={disk},format=raw,if=virtio,snapshot=on"]
    qemu = "qemu-system-aarch64" if aarch64 else "qemu-system-x86_64"
    child = pexpect.spawn(qemu, args, encoding="utf-8", timeout=60)
    try:
        child.expect("rayos> ")
        return child.before
    finally:
        child.terminate(force=True)


def phases(log):
    found = collections.OrderedDict()
    ready = READY.search(log)
    if not ready:
        raise RuntimeError("no 'boot: ready' line:\n" + log)
    calibrated = CALIBRATED.search(log)
    if calibrated:
        found["clock calibrated (since entry)"] = float(calibrated.group(1)) * 1000
    for m in INITCALL.finditer(log):
        found[m.group(1)] = int(m.group(2)) / 1000
    found["READY"] = float(ready.group(1))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kernels", nargs="+")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--smp", type=int, default=1)
    parser.add_argument("--disk")
    parser.add_argument("--aarch64", action="store_true", help="arm64 Images on QEMU virt")
    parser.add_argument("--append", default="")
    parser.add_argument("--phases", action="store_true",
                        help="boot with initcall_debug and show each hook's median")
    args = parser.parse_args()
    disk = args.disk or ("build/aarch64/disk.img" if args.aarch64 else "build/disk.img")
    append = (args.append + (" initcall_debug" if args.phases else "")).strip()
    results = {k: collections.OrderedDict() for k in args.kernels}
    for _ in range(args.runs):
        for kernel in args.kernels:
            path, _, options = kernel.partition(":")
            line = (append + " " + options).strip()
            for name, value in phases(boot(path, disk, args.smp, line, args.aarch64)).items():
                results[kernel].setdefault(name, []).append(value)
    for kernel, found in results.items():
        ready = sorted(found["READY"])
        print(f"{kernel}: boot to prompt median {statistics.median(ready):.1f} ms, "
              f"min {ready[0]:.1f} ms ({args.runs} boots, -smp {args.smp})")
        print("    " + " ".join(f"{v:.1f}" for v in ready))
        if args.phases:
            for name, values in found.items():
                if name != "READY" and statistics.median(values) >= 0.3:
                    print(f"    {name:32} median {statistics.median(values):6.1f} ms, "
                          f"min {min(values):6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
