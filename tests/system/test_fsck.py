"""The shell's fsck on a second disk: a FAT16 volume made by mkfs.fat and mtools, then damaged
(a cross-link, lost clusters, the dirty bit).  fsck reports it and changes nothing, fsck
--repair repairs it with the same library code as rayfs check --repair, the intact file
survives byte for byte, and fsck.fat -n finds nothing afterwards.  A mounted device is
refused."""
import hashlib
import re
import struct
import subprocess

from disk_images import default_disk, virtio_drive
from rayos_qemu import RayOS

BUSY = "Device or resource busy"


def damaged_fat16(path, tmp_path):
    subprocess.run(["truncate", "-s", "8M", str(path)], check=True)
    subprocess.run(["mkfs.fat", "-F", "16", "-s", "2", str(path)], check=True,
                   capture_output=True)
    env = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"}
    for name, size in (("KEEP.BIN", 7000), ("A.BIN", 5000), ("B.BIN", 5000)):
        local = tmp_path / name
        local.write_bytes(bytes((i * 31 + len(name)) % 256 for i in range(size)))
        subprocess.run(["mcopy", "-i", str(path), str(local), f"::/{name}"], check=True, env=env)
    raw = bytearray(path.read_bytes())
    reserved = struct.unpack_from("<H", raw, 14)[0]
    fat_sectors = struct.unpack_from("<H", raw, 22)[0]
    root = (reserved + 2 * fat_sectors) * 512

    def first(name):
        for at in range(root, root + 512 * 32, 32):
            if raw[at:at + 11] == name:
                return struct.unpack_from("<H", raw, at + 26)[0]
        raise AssertionError(name)

    def put(cluster, value):
        for copy in range(2):
            struct.pack_into("<H", raw, (reserved + copy * fat_sectors) * 512 + cluster * 2, value)

    put(first(b"B       BIN"), first(b"A       BIN") + 1)  # B runs into A
    for c in range(3000, 3004):
        put(c, 0xFFFF)  # lost
    raw[37] |= 1  # dirty
    path.write_bytes(bytes(raw))
    return hashlib.sha256((tmp_path / "KEEP.BIN").read_bytes()).hexdigest()


def test_fsck_checks_and_repairs_an_unmounted_volume(tmp_path):
    disk = default_disk(tmp_path)
    second = tmp_path / "second.img"
    keep = damaged_fat16(second, tmp_path)
    before = second.read_bytes()
    drive0, device0 = virtio_drive(disk)
    drive1, device1 = virtio_drive(second, index=1)
    with RayOS(drives=[drive0, drive1], devices=[device0, device1]) as vm:
        assert vm.command("fsck vda1") == \
            f"fsck: vda1: {BUSY}: vda1 is mounted at /\n"
        report = vm.command("fsck vdb")
        assert "cross-linked" in report and "lost clusters" in report, report
        assert re.search(r"; [1-9]\d* errors", report), report
        assert second.read_bytes() == before  # a check writes nothing
        repaired = vm.command("fsck --repair vdb")
        assert "fixed: " in repaired and "0 errors, 0 warnings" in repaired, repaired
        again = vm.command("fsck --repair vdb")
        assert again.startswith("0 repairs"), again
        assert vm.command("mount vdb /mnt") == ""
        out = vm.command("hexdump /mnt/KEEP.BIN")
        assert out.startswith("00000000:"), out
        assert vm.command("fsck vdb").startswith(f"fsck: vdb: {BUSY}")
        assert vm.command("umount /mnt") == ""
        assert vm.poweroff() == 0
    result = subprocess.run(["fsck.fat", "-n", str(second)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    env = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "keep.out"
    subprocess.run(["mcopy", "-i", str(second), "::/KEEP.BIN", str(out)], check=True, env=env)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == keep
