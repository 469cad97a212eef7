#!/usr/bin/python3
"""Boot-time PCI figures under TCG: boots a kernel several times and prints, per boot and as
median (min), the enumeration time, its BAR-sizing part, the reading of the root buses from the
DSDT, the peer-root-bus probe and the time to the prompt, from RayOS's boot log.

    tools/bench/pci-boot.py [--kernel build/rayos.elf] [--runs 7] [--machine q35-test]
                            [--append "pci=probe"]

Machines: q35-test (the 13 functions of tests/system/test_pci.py), q35 (QEMU's default
devices), q35-pxb (q35 with two pxb-pcie roots, as tests/system/test_pci_roots.py),
q35-pxb-noacpi (the same with -machine acpi=off), and virt-test (aarch64: the same devices as
q35-test on QEMU's virt, where RayOS numbers the buses and assigns every BAR itself; give
--kernel build/aarch64/rayos.bin).
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

TEST_DEVICES = [
    "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10",
    "virtio-blk-pci,drive=d0,bus=rp1",
    "pci-bridge,id=br1,chassis_nr=2,bus=pcie.0,addr=0x11",
    "e1000,bus=br1,addr=0x1,netdev=n0",
    "rtl8139,bus=br1,addr=0x2,netdev=n1",
    "virtio-rng-pci,multifunction=on,bus=pcie.0,addr=0x5.0",
    "virtio-balloon-pci,bus=pcie.0,addr=0x5.1",
    "pci-testdev,bus=pcie.0,addr=0x5.3",
]
PXB_DEVICES = [
    "pxb-pcie,id=pxb1,bus_nr=0x40,bus=pcie.0",
    "pcie-root-port,id=rp9,bus=pxb1,chassis=9,slot=9",
    "virtio-blk-pci,drive=d0,bus=rp9",
    "pxb-pcie,id=pxb2,bus_nr=0x80,bus=pcie.0",
    "pcie-root-port,id=rp10,bus=pxb2,chassis=10,slot=10,addr=0x3",
]
DRIVE = ["-drive", "file=null-co://,format=raw,if=none,id=d0"]
MACHINES = {
    "q35": ("q35", [], []),
    "q35-test": ("q35", TEST_DEVICES,
                 DRIVE + ["-nic", "none", "-netdev", "user,id=n0", "-netdev", "user,id=n1"]),
    "q35-pxb": ("q35", PXB_DEVICES, DRIVE + ["-nic", "none"]),
    "q35-pxb-noacpi": ("q35,acpi=off", PXB_DEVICES, DRIVE + ["-nic", "none"]),
    "virt-test": ("virt,gic-version=3", TEST_DEVICES,
                  DRIVE + ["-cpu", "max", "-nic", "none", "-netdev", "user,id=n0", "-netdev",
                           "user,id=n1"]),
}
FIGURES = [
    ("assignment (us)", r"pci: assigned in (\d+) us"),
    ("scan (us)", r"pci: \d+ functions on \d+ buses in (\d+) us"),
    ("BAR sizing (us)", r"pci: BAR sizing took (\d+) us"),
    ("ACPI roots (us)", r"needs AML to read \((\d+) us\)"),
    ("peer probe (us)", r"probing for peer root buses \(.*\) took (\d+) us"),
    ("boot (ms)", r"boot: ready in ([\d.]+) ms"),
]


def boot(kernel, machine, append):
    name, devices, extra = MACHINES[machine]
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "serial.log")
        qemu_system = "qemu-system-aarch64" if name.startswith("virt") else "qemu-system-x86_64"
        args = [qemu_system, "-machine", name, "-accel", "tcg", "-m", "256M",
                "-display", "none", "-no-reboot", "-monitor", "none", "-serial", f"file:{log}",
                "-kernel", kernel, "-append", append] + extra
        for d in devices:
            args += ["-device", d]
        qemu = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        text = ""
        try:
            deadline = time.time() + 60
            while time.time() < deadline and "boot: ready" not in text:
                time.sleep(0.2)
                text = open(log, errors="replace").read() if os.path.exists(log) else ""
        finally:
            qemu.kill()
            qemu.wait()
        return text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", default="build/rayos.elf")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--machine", default="q35-test", choices=sorted(MACHINES))
    parser.add_argument("--append", default="")
    args = parser.parse_args()
    values = {name: [] for name, _ in FIGURES}
    for _ in range(args.runs):
        text = boot(args.kernel, args.machine, args.append)
        row = []
        for name, pattern in FIGURES:
            m = re.search(pattern, text)
            if m:
                values[name].append(float(m.group(1)))
            row.append(m.group(1) if m else "-")
        print("  ".join(f"{n}={v}" for (n, _), v in zip(FIGURES, row)))
    for name, _ in FIGURES:
        v = values[name]
        if v:
            print(f"{name:18} median {statistics.median(v):9.1f}  min {min(v):9.1f}  "
                  f"({len(v)} boots)")


if __name__ == "__main__":
    main()
