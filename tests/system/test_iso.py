"""GRUB boots RayOS through Multiboot 2 from the ISO, with BIOS and with UEFI (OVMF)."""
import os
import re

import pytest

from rayos_qemu import BUILD, RayOS

ISO = os.path.join(BUILD, "rayos.iso")
OVMF = "/usr/share/ovmf/OVMF.fd"


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_grub_multiboot2_boot(firmware, tmp_path):
    assert os.path.exists(ISO), "make iso did not run"
    bios = OVMF if firmware == "uefi" else None
    nvme = tmp_path / "nvme.img"
    nvme.write_bytes(bytes(4 * 1024 * 1024))
    with RayOS(cdrom=ISO, bios=bios, boot_timeout=240,
               drives=[f"file={nvme},format=raw,if=none,id=n0"],
               devices=["nvme,drive=n0,serial=iso"]) as vm:
        log = vm.boot_log
        assert re.search(r"boot: multiboot2 from GRUB", log), log[-2000:]
        # Multiboot 2 hands over the RSDP; under OVMF it is an ACPI 2.0 RSDP with an XSDT.
        if firmware == "uefi":
            assert "acpi: RSDP rev 2, XSDT" in log
        assert re.search(r"boot: ready in \d+\.\d{3} ms", log)
        assert "MiB usable" in vm.run("dmesg")
        # The driver modules are GRUB's module lines too: NVMe (a module) drives its disk.
        assert re.search(r"^nvme\s", vm.run("lsmod"), re.M), vm.run("lsmod")
        assert "nvme0n1" in vm.run("lsblk")
        assert vm.poweroff() == 0
