"""PCI against hostile or unusual firmware descriptions, in QEMU.

An MCFG whose second segment's ECAM window lies over the kernel image (issue 16 item 11): QEMU
adds the crafted table (-acpitable) beside its own MCFG.  RayOS must refuse the window with a
warning naming the RAM it overlaps, enumerate segment 0 through ECAM as usual, and find nothing
in segment 1 (before the fix it "enumerated" phantom functions from kernel bytes and wrote all
ones into kernel memory while sizing their BARs)."""
import re
import struct

from rayos_qemu import RayOS


def test_mcfg_window_over_the_kernel_is_refused(tmp_path):
    body = tmp_path / "mcfg.bin"
    # 8 reserved bytes, then one entry: base 1 MiB (the kernel image), segment 1, buses 0-57.
    body.write_bytes(bytes(8) + struct.pack("<QHBB4x", 0x100000, 1, 0, 57))
    with RayOS(machine="q35", extra=["-acpitable", f"sig=MCFG,rev=1,data={body}"]) as vm:
        log = vm.boot_log
        assert re.search(r"pci: MCFG window segment 0001 buses 00-39 at 0x100000 not used: it "
                         r"overlaps usable RAM at 0x100000-0x[0-9a-f]+ in the memory map", log), log
        assert "pci: ECAM window segment 0000 buses 00-ff at 0xb0000000" in log
        assert re.search(r"pci: \d+ functions on 1 buses in \d+ us \(ECAM\)", log), log
        assert "0001:" not in log
        listing = vm.run("lspci -n")
        assert "00:1f.2 0106: 8086:2922 (rev 02)" in listing
        assert not re.search(r"^0001:", listing, re.M), listing
        assert vm.run("acpi").count("MCFG ") == 2  # both tables were seen
        assert vm.poweroff() == 0


def test_mcfg_window_duplicating_segment_0_is_refused(tmp_path):
    """A second MCFG entry for buses segment 0 already has (at another address): two views of
    the same configuration space.  The first window (QEMU's own) is kept."""
    body = tmp_path / "mcfg.bin"
    body.write_bytes(bytes(8) + struct.pack("<QHBB4x", 0xe0000000, 0, 0, 0xff))
    with RayOS(machine="q35", extra=["-acpitable", f"sig=MCFG,rev=1,data={body}"]) as vm:
        log = vm.boot_log
        assert ("pci: MCFG window segment 0000 buses 00-ff at 0xe0000000 not used: buses 00-ff "
                "of segment 0000 already have a window") in log, log
        assert "pci: ECAM window segment 0000 buses 00-ff at 0xb0000000" in log
        assert re.search(r"pci: \d+ functions on 1 buses in \d+ us \(ECAM\)", log), log
        assert "00:1f.2 0106: 8086:2922 (rev 02)" in vm.run("lspci -n")
        assert vm.poweroff() == 0


def test_host_bridge_with_a_method_bbn_makes_rayos_probe(tmp_path):
    """An SSDT declaring a host bridge whose _BBN is a method (the usual form on PC firmware
    that computes it; RayOS runs no AML): the namespace cannot name every root, so RayOS probes
    for peer root buses the way Linux does, and reads the rest of the namespace normally."""
    method = bytes([0x14, 0x09]) + b"_BBN" + bytes([0x00, 0xa4, 0x0a, 0x40])  # Return (0x40)
    hid = bytes([0x08]) + b"_HID" + bytes([0x0c, 0x41, 0xd0, 0x0a, 0x08])  # EisaId PNP0A08
    body = b"PCX1" + hid + method
    device = bytes([0x5b, 0x82, 1 + len(body)]) + body
    ssdt = tmp_path / "ssdt.bin"
    ssdt.write_bytes(device)
    with RayOS(machine="q35", extra=["-acpitable", f"sig=SSDT,rev=2,data={ssdt}"]) as vm:
        log = vm.boot_log
        assert "pci: ACPI: 2 host bridges, 1 with a root bus that needs AML to read" in log, log
        # Nothing answers on the other 255 buses of segment 0.
        assert re.search(r"pci: 1 root buses; probing for peer root buses \(a host bridge's root "
                         r"bus needs AML\) took \d+ us of the scan \(8160 reads\)", log), log
        assert "00:1f.2 0106: 8086:2922 (rev 02)" in vm.run("lspci -n")
        assert vm.poweroff() == 0
