#!/usr/bin/env python3
"""Figures for docs/PERFORMANCE.md "Modules": kernel image size and boot time with the storage
drivers built in against NVMe and IDE as modules, and the time to load, link and probe the NVMe
module under TCG.  Builds a second kernel with every driver built in (build/bench-builtin),
then boots each kernel RUNS times on q35 with the default disk (a snapshot) and one NVMe
namespace:
  modules, autoload   the modules come from /BOOT/MODULES once the root is mounted
  modules, boot       the modules are boot modules (-initrd), as the test harness passes them
  built in            build/bench-builtin/rayos.elf
usage: tools/bench/modules.py [RUNS]"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "system"))
from rayos_qemu import RayOS  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
BUILTIN = "build/bench-builtin"


def sizes(elf):
    out = subprocess.run(["size", elf], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])
    return text, data, bss


def boot(kernel, boot_modules, nvme_image):
    drives = ["file=build/disk.img,format=raw,if=none,id=root,snapshot=on",
              f"file={nvme_image},format=raw,if=none,id=n0"]
    devices = ["virtio-blk-pci,drive=root", "nvme,serial=bench,drive=n0"]
    with RayOS(machine="q35", drives=drives, devices=devices, kernel=kernel,
               boot_modules=boot_modules) as vm:
        log = vm.boot_log
        vm.poweroff()
    ready = float(re.search(r"boot: ready in (\d+\.\d+) ms", log).group(1))
    load = re.search(r"module: loaded nvme .*linked in (\d+) us, init and probe (\d+) us", log)
    return ready, (int(load.group(1)), int(load.group(2))) if load else None


def main():
    subprocess.run(["make", "-s", f"BUILD={BUILTIN}", "DRIVER_nvme=y", "DRIVER_ide=y",
                    f"{BUILTIN}/rayos.elf"], check=True)
    print("kernel image (text, data, bss bytes):")
    print("  modules  ", sizes("build/rayos.elf"))
    print("  built in ", sizes(f"{BUILTIN}/rayos.elf"))
    for ko in sorted(os.listdir("build/modules")):
        if ko.endswith(".ko"):
            print(f"  {ko}: {os.path.getsize(os.path.join('build/modules', ko))} bytes in the file")
    with tempfile.TemporaryDirectory() as tmp:
        image = os.path.join(tmp, "n.img")
        with open(image, "wb") as f:
            f.truncate(16 << 20)
        # kernel=None means build/rayos.elf; a kernel path turns the boot modules off.
        cases = [("modules, autoload", os.path.abspath("build/rayos.elf"), False),
                 ("modules, boot", None, True),
                 ("built in", os.path.abspath(f"{BUILTIN}/rayos.elf"), False)]
        for name, kernel, boot_modules in cases:
            results = [boot(kernel, boot_modules, image) for _ in range(RUNS)]
            ready = [r[0] for r in results]
            line = f"{name:18} boot ready: median {statistics.median(ready):.1f} ms " \
                   f"(min {min(ready):.1f}, max {max(ready):.1f})"
            loads = [r[1] for r in results if r[1]]
            if loads:
                line += f"; nvme linked in median {statistics.median(l[0] for l in loads)} us, " \
                        f"init+probe median {statistics.median(l[1] for l in loads)} us"
            print(line, flush=True)


main()
