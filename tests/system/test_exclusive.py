"""Devices in use are exclusive: raw block writes to a mounted device, to the disk of a mounted
partition, to another partition of that disk or to a device under a loop device are refused with
EBUSY unless forced; so are a second writable mount, `umount /` and detaching a loop device that
is mounted or holds another one."""
import re

from disk_images import PARTITION_OFFSET, default_disk, fsck, virtio_drive
from rayos_qemu import RayOS

BUSY = "Device or resource busy"


def boot(disk):
    drive, device = virtio_drive(disk)
    return RayOS(drives=[drive], devices=[device])


def test_raw_writes_to_a_mounted_disk_are_refused_unless_forced(tmp_path):
    disk = default_disk(tmp_path)
    with open(disk, "rb") as f:
        before = f.read()
    with boot(disk) as vm:
        refused = {
            "blk bench vda1 1 --write": "blk bench: vda1",
            "blk write vda1 0 0": "blk write: vda1",
            "blk write vda1 100 0xff 8": "blk write: vda1",
            "blk write vda 0 0 4": "blk write: vda",
            "blk zero vda 2048 64": "blk zero: vda",
            "blk discard vda1 0 64": "blk discard: vda1",
        }
        for command, prefix in refused.items():
            out = vm.command(command)
            assert out == f"{prefix}: {BUSY}: vda1 is mounted at / (--force writes anyway)\n", \
                (command, out)
        # Reading is fine, and so is a read-only benchmark.
        assert "00100000:" in vm.command("blk read vda 2048")
        assert "seqread" in vm.command("blk bench vda1 1")
        # A second writable mount of the same bytes is refused.
        assert vm.command("mount vda1 /mnt") == \
            f"mount: vda1: {BUSY}: vda1 is mounted at /\n"
        assert vm.command("mount vda /mnt").startswith(f"mount: vda: {BUSY}: vda1 is mounted")
        assert vm.command("umount /") == \
            f"umount: /: {BUSY}: the root stays mounted until poweroff or reboot\n"
        assert "BOOT/" in vm.command("ls /")
        # A file under a loop device: the disk stays busy because of the loop device too.
        assert vm.command("mkimage /VMS/EXAMPLE.IMG 1M").startswith("mkimage:")
        assert vm.command("losetup /VMS/EXAMPLE.IMG") == "loop0\n"
        assert "filled with 0x5a" in vm.command("blk write loop0 1 0x5a")  # nothing mounted on it
        # --force is the explicit way: between the GPT and the partition, harmless.
        assert vm.command("blk write vda 100 0x77 2 --force") == \
            "blk write: vda: 2 blocks at 100 filled with 0x77\n"
        assert vm.command("ls /BOOT").startswith("RAYOS.CFG")
        assert vm.poweroff() == 0
    with open(disk, "rb") as f:
        after = f.read()
    assert after[100 * 512:102 * 512] == b"\x77" * 1024
    assert after[:100 * 512] == before[:100 * 512]  # the refused writes changed nothing
    assert after[102 * 512:PARTITION_OFFSET] == before[102 * 512:PARTITION_OFFSET]
    status, report = fsck(disk)
    assert status == 0, report
