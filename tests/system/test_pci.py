"""PCI enumeration in QEMU: lspci -n must list exactly the functions and IDs QEMU models
(QMP query-pci), on q35 (ECAM, PCIe root port, PCI bridge, multi-function device, 64-bit BAR)
and pc (configuration mechanism #1)."""
import re
import time

import pytest

from rayos_qemu import ARCH, RayOS, x86_only

# q35 with 14 functions: the chipset's five, a VGA, a PCIe root port with a virtio-blk disk
# (64-bit prefetchable BAR) behind it, a PCI bridge with two NICs behind it, and a
# multi-function device in slot 5.
Q35_DEVICES = [
    "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10",
    "virtio-blk-pci,drive=d0,bus=rp1",
    "pci-bridge,id=br1,chassis_nr=2,bus=pcie.0,addr=0x11",
    "e1000,bus=br1,addr=0x1,netdev=n0",
    "rtl8139,bus=br1,addr=0x2,netdev=n1",
    "virtio-rng-pci,multifunction=on,bus=pcie.0,addr=0x5.0",
    "virtio-balloon-pci,bus=pcie.0,addr=0x5.1",
    "pci-testdev,bus=pcie.0,addr=0x5.3",
]
COMMON_EXTRA = ["-nic", "none", "-netdev", "user,id=n0", "-netdev", "user,id=n1"]
DRIVES = ["file=null-co://,format=raw,if=none,id=d0"]

LSPCI_N = re.compile(r"^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) "
                     r"([0-9a-f]{4}): ([0-9a-f]{4}):([0-9a-f]{4})(?: \(rev ([0-9a-f]{2})\))?$")


def qemu_functions(vm):
    """(bus, slot, function, class, vendor, device) for every function QEMU models (query-pci
    has no revision; the revision is checked against the boot log instead)."""
    found = set()

    def walk(devices):
        for d in devices:
            found.add((d["bus"], d["slot"], d["function"], d["class_info"]["class"],
                       d["id"]["vendor"], d["id"]["device"]))
            bridge = d.get("pci_bridge")
            if bridge:
                walk(bridge.get("devices", []))

    for bus in vm.qmp("query-pci"):
        walk(bus["devices"])
    return found


def rayos_functions(text):
    found = set()
    for line in text.splitlines():
        m = LSPCI_N.match(line)
        assert m, f"not pciutils' numeric form: {line!r}"
        assert m.group(1) is None, "domain shown although every function is in domain 0"
        bus, slot, function = (int(m.group(i), 16) for i in (2, 3, 4))
        found.add((bus, slot, function, int(m.group(5), 16), int(m.group(6), 16),
                   int(m.group(7), 16)))
    return found


def boot_q35(cmdline=""):
    return RayOS(machine="q35", qmp=True, drives=DRIVES, devices=Q35_DEVICES,
                 extra=COMMON_EXTRA, cmdline=cmdline)


@pytest.mark.parametrize("cmdline,method", [
    ("", "ECAM"), pytest.param("pci=cam", "mechanism #1", marks=x86_only)])
def test_q35_lspci_matches_qemu(cmdline, method):
    with boot_q35(cmdline) as vm:
        summary = re.search(r"pci: (\d+) functions on (\d+) buses in (\d+) us \((.+)\)",
                            vm.boot_log)
        assert summary, vm.boot_log
        assert summary.group(4) == method
        expected = qemu_functions(vm)
        assert len(expected) >= 9  # q35 has 14 with its chipset, virt 9
        listing = vm.run("lspci -n")
        assert rayos_functions(listing) == expected
        assert int(summary.group(1)) == len(expected)
        assert int(summary.group(2)) == 3  # root bus, behind the root port, behind the bridge
        # Every function is logged at boot in one line.
        for bus, slot, function, *_ in expected:
            assert re.search(rf"pci: 0000:{bus:02x}:{slot:02x}\.{function} [0-9a-f]{{4}}:",
                             vm.boot_log)
        assert "problems found" not in vm.boot_log
        assert vm.poweroff() == 0


@x86_only
def test_q35_names_tree_and_details():
    with boot_q35() as vm:
        names = vm.run("lspci")
        assert ("00:1f.2 SATA controller: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port "
                "SATA Controller [AHCI mode] (rev 02)\n") in names
        assert "00:10.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port\n" in names
        assert re.search(r"^01:00\.0 SCSI storage controller: Red Hat, Inc\. Virtio 1\.0 block "
                         r"device \(rev 01\)$", names, re.M), names
        verbose = vm.run("lspci -v")
        block = verbose.split("01:00.0 ", 1)[1].split("\n\n", 1)[0]
        assert re.search(r"Memory at [0-9a-f]+ \(64-bit, prefetchable\) \[size=16K\]", block)
        assert re.search(r"MSI-X: Enable[+-] Count=", block), block
        assert "Vendor Specific Information" in block
        assert "Express (v2) Endpoint" in block
        port = verbose.split("00:10.0 ", 1)[1].split("\n\n", 1)[0]
        assert "Bus: primary=00, secondary=01, subordinate=01" in port
        assert "Express (v2) Root Port (Slot+)" in port
        tree = vm.run("devices")
        assert re.search(r"^pci0000:00 \[root\]$", tree, re.M), tree
        assert re.search(r"^  0000:00:10\.0 \[pci\] 1b36:000c PCI bridge -> pciehp$", tree, re.M), tree
        assert re.search(r"^  0000:00:11\.0 \[pci\] 1b36:0001 PCI bridge$", tree, re.M), tree
        assert re.search(r"^    0000:01:00\.0 \[pci\] 1af4:1042 SCSI storage controller -> virtio-pci\n"
                         r"      virtio\d+ \[virtio\] virtio block \(type 2\), modern transport"
                         r" -> virtio-blk$", tree, re.M), tree
        assert re.search(r"^    0000:02:01\.0 \[pci\] 8086:100e Ethernet controller$", tree,
                         re.M), tree
        # VirtIO functions no driver here handles still get their virtio device.
        assert re.search(r"^  0000:00:05\.0 \[pci\] 1af4:1005 .* -> virtio-pci\n"
                         r"    virtio\d+ \[virtio\] virtio entropy \(type 4\), modern transport$",
                         tree, re.M), tree
        assert re.search(r"^platform \[platform\] root$", tree, re.M), tree
        assert re.search(r"^  serial0 \[platform\] uart16550 io 0x3f8-0x3ff irq 4", tree, re.M)
        tables = vm.run("acpi")
        for signature in ["RSDT", "FACP", "DSDT", "APIC", "MCFG"]:
            assert re.search(rf"^{signature} 0x[0-9a-f]{{16}} +\d+ +\d+ BOCHS ", tables, re.M)
        assert vm.run("lspci -x") == "lspci: unknown option -x (usage: lspci [-n] [-v])\n"
        assert vm.poweroff() == 0


@x86_only
def test_pc_mechanism_one():
    with RayOS(machine="pc", qmp=True, drives=DRIVES,
               devices=["virtio-blk-pci,drive=d0", "pci-bridge,id=br1,chassis_nr=1",
                        "e1000,bus=br1,addr=0x3,netdev=n0"],
               extra=["-nic", "none", "-netdev", "user,id=n0"]) as vm:
        assert re.search(r"pci: \d+ functions on 2 buses in \d+ us \(mechanism #1\)",
                         vm.boot_log), vm.boot_log
        expected = qemu_functions(vm)
        assert rayos_functions(vm.run("lspci -n")) == expected
        names = vm.run("lspci")
        assert "00:01.1 IDE interface: Intel Corporation 82371SB PIIX3 IDE [Natoma/Triton II]\n" \
            in names
        # The legacy IDE channels answer on pc, so they are platform devices.
        tree = vm.run("devices")
        assert re.search(r"^  ide0 \[platform\] ide-legacy io 0x1f0-0x1f7 io 0x3f6-0x3f6 irq 14$",
                         tree, re.M), tree
        assert vm.poweroff() == 0


def test_q35_native_hotplug_add_remove_add():
    """device_add into an empty pcie-root-port slot is noticed (slot status polling),
    enumerated with BARs assigned from the port's windows; device_del presses the attention
    button, RayOS removes the function and powers the slot off, and only then does QEMU
    report DEVICE_DELETED.  A second card in the same slot powers it on again."""
    # q35's ACPI hot-plug would claim the slot; virt has no ACPI, its resources come from
    # RayOS's own assignment (a hot-plug reserve in the port's windows).
    acpi_off = ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"] \
        if ARCH == "x86_64" else []
    window32 = "fe" if ARCH == "x86_64" else "10"
    with RayOS(machine="q35", qmp=True,
               drives=["file=null-co://,format=raw,if=none,id=hp0",
                       "file=null-co://,format=raw,if=none,id=hp1"],
               devices=["pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10"],
               extra=acpi_off + ["-nic", "none"]) as vm:
        assert "pci: 0000:00:10.0: hot-plug slot, events by MSI-X" in vm.boot_log
        before = vm.run("lspci -n")
        assert "01:00.0" not in before
        assert "00:10.0 0604: 1b36:000c\n" in before

        vm.qmp("device_add", driver="virtio-blk-pci", drive="hp0", bus="rp1", id="disk0")
        vm.child.expect_exact("0000:00:10.0: hot-plug: 1 functions added", timeout=20)
        after = vm.run("lspci -n")
        assert rayos_set(after) == rayos_set(before) | {"01:00.0 0100: 1af4:1042 (rev 01)"}
        assert rayos_functions(after) == qemu_functions(vm)
        details = vm.run("lspci -v").split("01:00.0 ", 1)[1]
        # Assigned from the port's windows, then enabled by the virtio-blk driver that bound.
        assert re.search(rf"Memory at {window32}[0-9a-f]{{6}} \(32-bit, non-prefetchable\) "
                         r"\[size=4K\]", details), details
        assert re.search(r"Memory at [0-9a-f]+ \(64-bit, prefetchable\) \[size=16K\]",
                         details), details
        assert "Kernel driver in use: virtio-pci\n" in details
        log = vm.run("dmesg")
        assert "0000:00:10.0: hot-plug: card present in slot" in log
        assert "0000:00:10.0: hot-plug: slot powered on" in log
        assert re.search(r"0000:01:00\.0: BAR 4 assigned 0x[0-9a-f]+ \(16384 bytes\)", log)
        assert "device: 0000:01:00.0: bound to virtio-pci" in log
        assert re.search(r"device: virtio\d+: bound to virtio-blk", log), log

        vm.qmp("device_del", id="disk0")
        vm.child.expect_exact("0000:00:10.0: hot-plug: slot powered off", timeout=20)
        wait_deleted(vm, "disk0")
        assert vm.run("lspci -n") == before
        assert rayos_functions(before) == qemu_functions(vm)
        log = vm.run("dmesg")
        assert "0000:00:10.0: hot-plug: attention button pressed: removing" in log
        assert "0000:00:10.0: hot-plug: functions behind the slot removed" in log
        assert "device: 0000:01:00.0: unbound from virtio-pci" in log
        assert re.search(r"device: virtio\d+: unbound from virtio-blk", log), log

        vm.qmp("device_add", driver="virtio-blk-pci", drive="hp1", bus="rp1", id="disk1")
        vm.child.expect_exact("0000:00:10.0: hot-plug: 1 functions added", timeout=20)
        assert "01:00.0 0100: 1af4:1042 (rev 01)" in vm.run("lspci -n")
        assert vm.poweroff() == 0


def rayos_set(text):
    return set(text.splitlines())


def wait_deleted(vm, device_id, timeout=20):
    """QEMU sends DEVICE_DELETED for the virtio backend first, then for the device."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        event = vm._qmp.wait_event("DEVICE_DELETED", timeout=max(1, deadline - time.time()))
        if event["data"].get("device") == device_id:
            return
    raise AssertionError(f"no DEVICE_DELETED for {device_id}")


def test_driver_unbind_and_bind_by_hand():
    with boot_q35() as vm:
        drivers = vm.run("drivers")
        assert re.search(r"^virtio-pci\s+pci\s+0000:00:05\.0 0000:00:05\.1 0000:01:00\.0$",
                         drivers, re.M), drivers
        assert re.search(r"^virtio-blk\s+virtio\s+virtio\d+$", drivers, re.M), drivers
        out = vm.run("driver unbind 0000:01:00.0")
        assert "device: 0000:01:00.0: unbound from virtio-pci" in out
        assert out.endswith("0000:01:00.0 unbound from virtio-pci\n")
        assert vm.run("driver unbind 0000:01:00.0") == "driver: 0000:01:00.0 is not bound\n"
        drivers = vm.run("drivers")
        # The function's virtio device went with the transport, and with it the disk.
        assert re.search(r"^virtio-pci\s+pci\s+0000:00:05\.0 0000:00:05\.1$", drivers, re.M), drivers
        assert re.search(r"^virtio-blk\s+virtio\s+\(no devices\)$", drivers, re.M), drivers
        assert "Kernel driver in use" not in vm.run("lspci -v").split("01:00.0 ", 1)[1]
        out = vm.run("driver bind 0000:01:00.0 virtio-pci")
        assert out.endswith("0000:01:00.0 bound to virtio-pci\n"), out
        assert vm.run("driver bind 0000:01:00.0 virtio-pci") == \
            "driver: 0000:01:00.0 is already bound to virtio-pci\n"
        assert vm.run("driver bind 0000:02:01.0 virtio-pci") == \
            "driver: virtio-pci does not match 0000:02:01.0\n"
        assert vm.run("driver bind nosuch virtio-pci") == "driver: no device nosuch\n"
        assert vm.run("driver bind 0000:02:01.0 nosuch") == "driver: no driver nosuch\n"
        assert vm.run("driver").startswith("usage: driver bind DEVICE DRIVER")
        assert "    0000:01:00.0 [pci] 1af4:1042 SCSI storage controller -> virtio-pci\n" in \
            vm.run("devices")
        assert vm.poweroff() == 0
