"""Devices in use are exclusive: raw block writes to a mounted device, to the disk of a mounted
partition, to another partition of that disk or to a device under a loop device are refused with
EBUSY unless forced; so are a second writable mount, `umount /` and detaching a loop device that
is mounted or holds another one."""
import subprocess

from disk_images import PARTITION_OFFSET, default_disk, fsck, mtools, virtio_drive
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


def fat_image(path, size_kib, files=()):
    subprocess.run(["truncate", "-s", f"{size_kib}K", str(path)], check=True)
    subprocess.run(["mkfs.fat", "-F", "12", str(path)], check=True, capture_output=True)
    for local, name in files:
        subprocess.run(["mcopy", "-i", str(path), str(local), f"::{name}"], check=True)


def extract(image, name, out):
    subprocess.run(["mcopy", "-n", "-i", str(image), f"::{name}", str(out)], check=True)
    return out


def test_losetup_d_is_refused_while_mounted_or_holding_another_loop_device(tmp_path):
    disk = default_disk(tmp_path)
    inner2 = tmp_path / "INNER2.IMG"
    fat_image(inner2, 512)
    inner = tmp_path / "INNER.IMG"
    fat_image(inner, 2048, [(inner2, "INNER2.IMG")])
    mtools("mcopy", str(inner), "::/VMS/INNER.IMG", image=disk)
    with boot(disk) as vm:
        assert vm.command("losetup /VMS/INNER.IMG") == "loop0\n"
        assert vm.command("mount loop0 /mnt") == ""
        assert vm.command("losetup -d loop0") == \
            f"losetup: loop0: {BUSY}: loop0 is mounted at /mnt\n"
        assert vm.command("losetup /mnt/INNER2.IMG") == "loop1\n"
        assert vm.command("umount /mnt") == f"umount: /mnt: {BUSY}\n"  # loop1 holds a file
        assert vm.command("mount loop1 /inner") == ""
        assert vm.command("losetup -d loop1") == \
            f"losetup: loop1: {BUSY}: loop1 is mounted at /inner\n"
        assert vm.command("blk write loop0 0 0") == \
            f"blk write: loop0: {BUSY}: loop0 is mounted at /mnt (--force writes anyway)\n"
        assert vm.command("echo first > /inner/A.TXT") == ""
        # The way out: unmount, then detach; then attach and mount again.
        assert vm.command("umount /inner") == ""
        assert vm.command("losetup -d loop1") == ""
        assert vm.command("losetup -d loop0") == \
            f"losetup: loop0: {BUSY}: loop0 is mounted at /mnt\n"
        assert vm.command("losetup /mnt/INNER2.IMG") == "loop1\n"
        assert vm.command("mount loop1 /inner") == ""
        assert vm.command("echo second > /inner/B.TXT") == ""
        assert vm.command("cat /inner/A.TXT") == "first\n"
        out = vm.command("losetup")
        assert "loop0: /VMS/INNER.IMG on vda1" in out and "loop1: /mnt/INNER2.IMG on loop0" in out
        # poweroff with everything attached: innermost unmounted first, all left clean.
        assert vm.poweroff() == 0
    assert fsck(disk)[0] == 0
    inner_after = extract(f"{disk}@@{PARTITION_OFFSET}", "/VMS/INNER.IMG", tmp_path / "in.img")
    assert inner_after.read_bytes()[37] & 1 == 0  # FAT12 dirty bit clear
    inner2_after = extract(inner_after, "INNER2.IMG", tmp_path / "in2.img")
    assert inner2_after.read_bytes()[37] & 1 == 0
    for image in (inner_after, inner2_after):
        result = subprocess.run(["fsck.fat", "-n", str(image)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
    for name, content in (("A.TXT", b"first\n"), ("B.TXT", b"second\n")):
        out = subprocess.run(["mtype", "-i", str(inner2_after), f"::{name}"],
                             capture_output=True, check=True).stdout
        assert out == content
