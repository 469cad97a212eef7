"""The root by identity: root=PARTUUID=<uuid> on the command line and [boot] root = PARTUUID=...
in the configuration, as Linux spells it (GPT: the unique partition GUID; MBR: the disk
signature and the partition number); lsblk shows the PARTUUID column."""
import os
import re
import subprocess
import uuid

from disk_images import default_disk, mtools
from rayos_qemu import BUILD, RayOS

MiB = 1024 * 1024


def part_uuid(disk, number=1):
    return subprocess.run(["sfdisk", "--part-uuid", disk, str(number)], check=True,
                          capture_output=True, text=True).stdout.strip().lower()


def set_part_uuid(disk, value, number=1):
    subprocess.run(["sfdisk", "--quiet", "--part-uuid", disk, str(number), value], check=True,
                   capture_output=True)


def boot(disks, cmdline=""):
    drives = [f"file={d},format=raw,if=none,id=d{i}" for i, d in enumerate(disks)]
    devices = [f"virtio-blk-pci,drive=d{i}" for i in range(len(disks))]
    return RayOS(drives=drives, devices=devices, cmdline=cmdline)


def lsblk_partuuid(vm, name):
    row = [l for l in vm.command("lsblk").splitlines() if l.split() and l.split()[0] == name][0]
    return row.split()[7]


def two_disks(tmp_path):
    first = default_disk(tmp_path, "first.img")
    second = default_disk(tmp_path, "second.img")
    set_part_uuid(first, str(uuid.uuid4()))
    set_part_uuid(second, str(uuid.uuid4()))
    return first, second


def test_command_line_partuuid_picks_the_second_disk(tmp_path):
    first, second = two_disks(tmp_path)
    wanted = part_uuid(second)
    with boot([first, second], cmdline=f"root=PARTUUID={wanted.upper()}") as vm:
        assert f"root: root is vdb1 (root=PARTUUID={wanted.upper()} on the command line)" \
            in vm.boot_log, vm.boot_log[-2000:]
        assert lsblk_partuuid(vm, "vdb1") == wanted
        assert lsblk_partuuid(vm, "vda1") == part_uuid(first)
        assert "PARTUUID" in vm.command("lsblk").splitlines()[0]
        assert vm.poweroff() == 0


def test_configured_partuuid_switches_root(tmp_path):
    first, second = two_disks(tmp_path)
    wanted = part_uuid(second)
    config = os.path.join(tmp_path, "RAYOS.CFG")
    with open(config, "wb") as f:
        f.write(f"[boot]\nroot = PARTUUID={wanted}\n".encode())
    mtools("mcopy", "-o", config, "::/BOOT/RAYOS.CFG", image=first)
    with boot([first, second]) as vm:
        assert "root: root is vdb1 ([boot] root in /BOOT/RAYOS.CFG on vda1)" in vm.boot_log, \
            vm.boot_log[-2000:]
        assert vm.poweroff() == 0


def test_unknown_partuuid_is_said_and_the_root_is_in_memory(tmp_path):
    disk = default_disk(tmp_path)
    with boot([disk], cmdline="root=PARTUUID=01234567-89ab-cdef-0123-456789abcdef") as vm:
        assert "the command line names root PARTUUID=01234567-89ab-cdef-0123-456789abcdef: " \
            "no partition has that PARTUUID" in vm.boot_log, vm.boot_log[-2000:]
        assert "using an in-memory root" in vm.boot_log
        assert vm.poweroff() == 0


def test_mbr_partuuid_is_signature_and_number(tmp_path):
    disk = os.path.join(tmp_path, "mbr.img")
    with open(disk, "wb") as f:
        f.truncate(48 * MiB)
    subprocess.run(["sfdisk", "--quiet", disk], check=True, text=True, capture_output=True,
                   input="label: dos\nlabel-id: 0x1234abcd\nstart=2048, size=16M, type=6\n"
                         "size=16M, type=c\n")
    rayfs = os.path.join(BUILD, "rayfs")
    subprocess.run([rayfs, "mkfs", disk + "@2", "--label", "SECOND"], check=True,
                   capture_output=True)
    subprocess.run([rayfs, "mkdir", disk + "@2", "/BOOT"], check=True, capture_output=True)
    with boot([disk], cmdline="root=PARTUUID=1234ABCD-02") as vm:
        assert "root: root is vda2 (root=PARTUUID=1234ABCD-02 on the command line)" in vm.boot_log
        assert lsblk_partuuid(vm, "vda1") == "1234abcd-01"
        assert lsblk_partuuid(vm, "vda2") == "1234abcd-02"
        assert re.search(r"^vda2\s.*\s/$", vm.command("df"), re.M), vm.command("df")
        assert vm.poweroff() == 0
