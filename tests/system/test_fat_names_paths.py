"""The kernel's VFS and FAT on names other systems wrote and on ".", ".." and trailing slashes:
a second disk made with mkfs.fat and mtools, then hand-edited the way other systems (or an
attacker) leave entries, mounted and used from the shell."""
import os
import struct
import subprocess

from disk_images import virtio_drive
from rayos_qemu import RayOS

ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1")
LFN_OFFSETS = (1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30)


def checksum(short):
    total = 0
    for byte in short:
        total = (((total & 1) << 7) + (total >> 1) + byte) & 0xFF
    return total


def lfn_slot(units, short):
    slot = bytearray(32)
    slot[0], slot[11], slot[13] = 0x41, 0x0F, checksum(short)
    padded = list(units) + [0] + [0xFFFF] * 12
    for unit, offset in zip(padded, LFN_OFFSETS):
        struct.pack_into("<H", slot, offset, unit)
    return bytes(slot)


def make_disk(tmp_path):
    """Root: A:B.TXT (an 8.3 name RayOS refuses to create), ESC.TXT with the long name
    "x ESC [2J y" (falls back), C1.TXT with the long name "c U+009B d" (valid, printed
    escaped), directory D, file F."""
    image = str(tmp_path / "names.img")
    subprocess.run(["mkfs.fat", "-C", image, "8192"], check=True, capture_output=True)
    for name in ("AB.TXT", "ESC.TXT", "C1.TXT", "F"):
        local = tmp_path / name
        local.write_bytes(name.encode() + b" data\n")
        subprocess.run(["mcopy", "-i", image, str(local), "::" + name], check=True, env=ENV)
    subprocess.run(["mmd", "-i", image, "::D"], check=True, env=ENV)
    with open(image, "r+b") as f:
        boot = f.read(512)
        sector, _, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
        root = (reserved + fats * struct.unpack_from("<H", boot, 22)[0]) * sector
        f.seek(root)
        entries = [f.read(32) for _ in range(5)]  # AB, ESC, C1, F, D (mcopy order)
        ab, esc, c1, rest = entries[0], entries[1], entries[2], entries[3:]
        ab = b"A:B     TXT" + ab[11:]
        out = [ab, lfn_slot([ord("x"), 0x1B, ord("["), ord("2"), ord("J"), ord("y")], esc[:11]),
               esc, lfn_slot([ord("c"), 0x9B, ord("d")], c1[:11]), c1, *rest]
        f.seek(root)
        f.write(b"".join(out))
    return image


def test_foreign_names_and_dot_paths_in_the_kernel(tmp_path):
    image = make_disk(tmp_path)
    drive, device = virtio_drive(image)
    with RayOS(drives=[drive], devices=[device]) as vm:
        vm.run("mkdir /mnt")
        assert "mounted vda (fat)" in vm.run("mount vda /mnt")
        listing = vm.command("ls /mnt")
        assert listing.splitlines() == ["A:B.TXT", "ESC.TXT", "c\\xc2\\x9bd", "F", "D/"], listing
        assert "\x1b[2J" not in vm.output and "\x9b" not in vm.output
        assert vm.command("cat /mnt/A:B.TXT") == "AB.TXT data\n"
        assert vm.command("cat /mnt/esc.txt") == "ESC.TXT data\n"
        # ".", ".." and trailing slashes as rmdir(2), unlink(2), mkdir(2), open(2) say
        assert vm.command("rmdir /mnt/D/.") == "rmdir: /mnt/D/.: Invalid argument\n"
        assert vm.command("rmdir /mnt/D/..") == "rmdir: /mnt/D/..: Directory not empty\n"
        assert vm.command("rm /mnt/D/.") == "rm: /mnt/D/.: Invalid argument\n"
        assert vm.command("rm /mnt/F/") == "rm: /mnt/F/: Not a directory\n"
        assert vm.command("mkdir /mnt/D/.") == "mkdir: /mnt/D/.: File exists\n"
        assert vm.command("stat /mnt/F/..").endswith(": Not a directory\n")
        assert vm.command("cat /mnt/D/..") == "cat: /mnt/D/..: Is a directory\n"
        assert vm.command("ls /mnt/D/..").splitlines()[-1] == "D/"
        assert vm.command("ls /..").strip() != ""  # the root, as in POSIX
        assert vm.command("umount /mnt") == ""
        vm.poweroff()
    # nothing was changed by the failed commands
    listing = subprocess.run(["mdir", "-b", "-i", image, "::"], capture_output=True,
                             env=ENV).stdout.decode()
    assert "::/D/" in listing and "::/F" in listing


def damaged_disk(tmp_path):
    """FILE.BIN of three 2 KiB clusters whose chain ends after the second (issue 14 item 1)."""
    image = str(tmp_path / "damaged.img")
    subprocess.run(["mkfs.fat", "-F", "16", "-s", "4", "-C", image, "16384"], check=True,
                   capture_output=True)
    local = tmp_path / "FILE.BIN"
    local.write_bytes(b"x" * (3 * 2048 - 100))
    subprocess.run(["mcopy", "-i", image, str(local), "::FILE.BIN"], check=True, env=ENV)
    with open(image, "r+b") as f:
        boot = f.read(512)
        sector, _, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
        fat_sectors = struct.unpack_from("<H", boot, 22)[0]
        f.seek((reserved + fats * fat_sectors) * sector + 26)
        first = struct.unpack("<H", f.read(2))[0]
        for i in range(fats):
            f.seek((reserved + i * fat_sectors) * sector + 2 * (first + 1))
            f.write(struct.pack("<H", 0xFFFF))
    return image


def test_kernel_export_paths_refuse_a_short_chain(tmp_path):
    image = damaged_disk(tmp_path)
    drive, device = virtio_drive(image)
    with RayOS(drives=[drive], devices=[device]) as vm:
        vm.run("mkdir /mnt")
        assert "mounted vda (fat)" in vm.run("mount vda /mnt")
        bad = "/mnt/FILE.BIN: Structure needs cleaning\n"
        assert vm.command("cat /mnt/FILE.BIN") == "cat: " + bad
        assert vm.command("hexdump /mnt/FILE.BIN") == "hexdump: " + bad
        assert vm.command("cp /mnt/FILE.BIN /copy") == "cp: " + bad
        assert vm.command("stat /copy").endswith("No such file or directory\n")  # no partial copy
        assert vm.command("losetup /mnt/FILE.BIN").startswith("losetup: /mnt/FILE.BIN:")
        assert vm.command("losetup") == ""
        vm.poweroff()
