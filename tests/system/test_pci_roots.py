"""More than one PCI root bus (issue 15 item 7), in QEMU.

q35 with two pxb-pcie expander roots (buses 40 and 80, each with a PCIe root port; a virtio-blk
disk behind the one on bus 40): no bridge from bus 0 leads to them.  With ACPI, RayOS reads
the host bridges and their _BBN from the DSDT and scans each root without probing.  With
`-machine acpi=off` SeaBIOS builds its own DSDT, which names only the main root: RayOS sees
three host bridge functions on bus 0 for one root bus and probes every other bus of segment 0
for a peer root bus, as Linux does on x86, finding the same roots.  Either way `lspci -n` must equal QEMU's
own model (QMP query-pci) and the disk behind the expander must bind."""
import re

from rayos_qemu import RayOS
from test_pci import qemu_functions, rayos_functions

PXB_DEVICES = [
    "pxb-pcie,id=pxb1,bus_nr=0x40,bus=pcie.0",
    "pcie-root-port,id=rp9,bus=pxb1,chassis=9,slot=9",
    "virtio-blk-pci,drive=d0,bus=rp9",
    "pxb-pcie,id=pxb2,bus_nr=0x80,bus=pcie.0",
    "pcie-root-port,id=rp10,bus=pxb2,chassis=10,slot=10,addr=0x3",
]
DRIVES = ["file=null-co://,format=raw,if=none,id=d0"]


def boot(machine, cmdline=""):
    return RayOS(machine=machine, qmp=True, drives=DRIVES, devices=PXB_DEVICES,
                 extra=["-nic", "none"], cmdline=cmdline)


def check_roots(vm):
    expected = qemu_functions(vm)
    assert {bus for bus, *_ in expected} == {0x00, 0x40, 0x41, 0x80}
    assert rayos_functions(vm.run("lspci -n")) == expected
    assert re.search(rf"pci: {len(expected)} functions on 5 buses in \d+ us", vm.boot_log)
    assert "pci: 3 root buses" in vm.boot_log
    assert re.search(r"^0000:41:00\.0: bound to virtio-pci$|device: 0000:41:00\.0: bound to "
                     r"virtio-pci", vm.boot_log, re.M), vm.boot_log
    tree = vm.run("devices")
    for root in ("pci0000:00", "pci0000:40", "pci0000:80"):
        assert re.search(rf"^{root} \[root\]$", tree, re.M), tree
    assert re.search(r"^  0000:40:00\.0 \[pci\] 1b36:000c PCI bridge -> pciehp$", tree, re.M)
    assert re.search(r"^    0000:41:00\.0 \[pci\] 1af4:1042 SCSI storage controller -> "
                     r"virtio-pci\n      virtio\d+ \[virtio\] .* -> virtio-blk$", tree, re.M), tree
    # A PCI-to-PCI bridge's Subsystem line comes from its subsystem-ID capability.
    port = vm.run("lspci -v").split("40:00.0 ", 1)[1].split("\n\n", 1)[0]
    assert port.startswith("PCI bridge: Red Hat, Inc. QEMU PCIe Root port (prog-if 00 [Normal "
                           "decode])\n\tSubsystem: Red Hat, Inc. Device 0000\n"), port
    assert "Bus: primary=40, secondary=41, subordinate=41" in port
    assert "problems found" not in vm.boot_log


def test_expander_roots_from_acpi():
    with boot("q35") as vm:
        assert "pci: ACPI: 3 host bridges, 0 with a root bus that needs AML to read" in vm.boot_log
        assert "probing for peer root buses" not in vm.boot_log
        assert "pci: 3 root buses\n" in vm.boot_log
        check_roots(vm)
        assert vm.poweroff() == 0


def test_expander_roots_by_probing_without_acpi():
    with boot("q35,acpi=off") as vm:
        assert "pci: ACPI: 1 host bridges, 0 with a root bus that needs AML to read" in vm.boot_log
        assert re.search(r"pci: 0000:40: peer root bus \(no bridge leads to it\)", vm.boot_log)
        assert re.search(r"pci: 0000:80: peer root bus \(no bridge leads to it\)", vm.boot_log)
        # Buses 00, 40, 41, 80 and 81 (behind the root port) are reached; 40 answers at its
        # first slot, 80 at its fourth; the other 251 buses are probed at all 32 slots.
        assert re.search(r"pci: 3 root buses; probing for peer root buses \(more host bridge "
                         r"functions than root buses\) took \d+ us of the scan \(8037 reads\)",
                         vm.boot_log), vm.boot_log
        check_roots(vm)


def test_forced_probe_on_one_root_finds_nothing_more():
    with RayOS(machine="q35", cmdline="pci=probe") as vm:
        # Bus 0 scanned; the other 255 buses probed at 32 slots each, nothing answers.
        assert re.search(r"pci: 1 root buses; probing for peer root buses \(pci=probe\) took "
                         r"\d+ us of the scan \(8160 reads\)", vm.boot_log), vm.boot_log
        assert "peer root bus (no bridge" not in vm.boot_log
        assert vm.poweroff() == 0


def test_pci_expander_on_pc_through_mechanism_one():
    """The conventional PCI expander on the pc machine (no ECAM): described as a PNP0A03 host
    bridge with its _BBN, scanned through configuration mechanism #1."""
    devices = ["pxb,id=pxb1,bus_nr=0x20,bus=pci.0",
               "pci-bridge,id=br5,bus=pxb1,chassis_nr=5,addr=0x1",
               "e1000,bus=br5,addr=0x2,netdev=n0"]
    with RayOS(machine="pc", qmp=True, devices=devices,
               extra=["-nic", "none", "-netdev", "user,id=n0"]) as vm:
        expected = qemu_functions(vm)
        assert (0x22, 2, 0, 0x0200, 0x8086, 0x100e) in expected
        assert rayos_functions(vm.run("lspci -n")) == expected
        assert re.search(r"pci: \d+ functions on \d+ buses in \d+ us \(mechanism #1\)",
                         vm.boot_log)
        assert "pci: ACPI: 2 host bridges, 0 with a root bus that needs AML to read" in vm.boot_log
        assert "pci: 2 root buses\n" in vm.boot_log
        assert vm.poweroff() == 0
