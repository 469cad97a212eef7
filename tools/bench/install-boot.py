#!/usr/bin/python3
"""Installed-disk figures under TCG: installs RayOS with `install` (from -kernel with the boot
files as modules) onto a blank disk, then boots that disk alone several times under SeaBIOS and
under OVMF, and prints per boot and as median the time from starting QEMU to the first prompt
(wall clock, read from the serial console) and the kernel's own `boot: ready in X ms`; and the
time `install` reports for itself.

    tools/bench/install-boot.py [--build build] [--runs 5]
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "system"))
os.environ.setdefault("RAYOS_ACCEL", "tcg")

import pexpect  # noqa: E402

from boot_disks import firmware_args  # noqa: E402
from rayos_qemu import RayOS  # noqa: E402


def install(build, target, root):
    payload = ",".join([os.path.join(build, "rayos.elf")] +
                       [os.path.join(build, "grub", f) for f in ("BOOTX64.EFI", "core.img",
                                                                 "boot.img")])
    with RayOS(drives=[f"file={root},format=raw,if=none,id=r",
                       f"file={target},format=raw,if=none,id=t"],
               devices=["virtio-blk-pci,drive=r", "virtio-blk-pci,drive=t"],
               extra=["-initrd", payload]) as vm:
        out = vm.command("install vdb", timeout=600)
        vm.poweroff()
    return float(re.search(r"install: done in (\d+\.\d+) s", out).group(1))


def boot_once(disk, firmware, tmp):
    args = ["-machine", "q35", "-accel", "tcg", "-m", "256M", "-display", "none", "-no-reboot",
            "-serial", "stdio", "-monitor", "none",
            "-drive", f"file={disk},format=raw,if=none,id=boot",
            "-device", "virtio-blk-pci,drive=boot"] + firmware_args(firmware, tmp)
    start = time.monotonic()
    child = pexpect.spawn("qemu-system-x86_64", args, encoding="utf-8", codec_errors="replace",
                          timeout=300)
    child.expect_exact("rayos> ")
    wall = (time.monotonic() - start) * 1000
    ready = float(re.search(r"boot: ready in (\d+\.\d+) ms", child.before).group(1))
    child.terminate(force=True)
    return wall, ready


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="rayos-install-bench-")
    root = os.path.join(tmp, "root.img")
    shutil.copyfile(os.path.join(args.build, "disk.img"), root)
    target = os.path.join(tmp, "target.img")
    with open(target, "wb") as f:
        f.truncate(128 << 20)
    seconds = install(args.build, target, root)
    print(f"install (128 MiB virtio disk, default payload): {seconds:.3f} s")
    for firmware in ("bios", "uefi"):
        walls, readies = [], []
        for _ in range(args.runs):
            wall, ready = boot_once(target, firmware, tmp)
            walls.append(wall)
            readies.append(ready)
        print(f"{firmware}: QEMU start to prompt " +
              ", ".join(f"{w:.0f}" for w in walls) + f" ms (median {statistics.median(walls):.0f});"
              " boot: ready " + ", ".join(f"{r:.1f}" for r in readies) +
              f" ms (median {statistics.median(readies):.1f})")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
