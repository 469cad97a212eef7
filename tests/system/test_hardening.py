"""Careless commands and hostile bytes (issue 16): numbers, configuration edits, copies."""
import os

from disk_images import default_disk, fsck, read_file, virtio_drive
from rayos_qemu import RayOS


def boot(disk, cmdline=""):
    drive, device = virtio_drive(disk)
    return RayOS(drives=[drive], devices=[device], cmdline=cmdline)


def test_numbers_with_a_leading_zero_are_decimal(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        assert vm.command("mkimage /Z.IMG 0100K") == \
            "mkimage: /Z.IMG: 100K, contiguous, zero-filled\n"
        assert vm.command("mkimage /Y.IMG 08K") == "mkimage: /Y.IMG: 8K, contiguous, zero-filled\n"
        # LBA 010 is block 10 (byte 0x1400), not block 8.
        assert vm.command("blk read vda 010").startswith("00001400: ")
        assert vm.command("blk read vda 0x10").startswith("00002000: ")
        assert vm.command("blk read vda 18446744073709551626").startswith("usage: blk read")
        assert vm.poweroff() == 0
    assert len(read_file(disk, "/Z.IMG")) == 100 * 1024
    assert len(read_file(disk, "/Y.IMG")) == 8 * 1024
