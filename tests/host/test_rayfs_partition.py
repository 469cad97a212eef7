"""rayfs on partitions (disk.img@N) of sfdisk-made MBR and GPT disks, checked with mtools."""
import subprocess

import pytest

from fatutil import blank_image, fsck_clean, rayfs, run, sha


def sfdisk(image, script):
    p = subprocess.run(["sfdisk", "--no-reread", "--no-tell-kernel", str(image)],
                                     input=script.encode(), capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr


MBR_SCRIPT = """label: dos
start=2048, size=16384, type=c
start=18432, size=20480, type=83
start=40960, size=40960, type=5
start=43008, size=16384, type=6
start=61440, size=18432, type=b
"""

GPT_SCRIPT = """label: gpt
start=2048, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI"
start=18432, size=65536, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="data"
"""


@pytest.mark.parametrize("script,number,start", [(MBR_SCRIPT, 1, 2048), (MBR_SCRIPT, 2, 18432),
                                                 (MBR_SCRIPT, 5, 43008), (MBR_SCRIPT, 6, 61440),
                                                 (GPT_SCRIPT, 2, 18432)],
                         ids=["mbr1", "mbr2", "mbr5-logical", "mbr6-logical", "gpt2"])
def test_partition_access(tmp_path, script, number, start):
    disk = tmp_path / "disk.img"
    blank_image(disk, 48)
    sfdisk(disk, script)
    spec = f"{disk}@{number}"
    rayfs("mkfs", spec)
    data = tmp_path / "payload"
    data.write_bytes(bytes(range(256)) * 1000)
    rayfs("mkdir", spec, "/Part Dir")
    rayfs("put", spec, data, "/Part Dir/payload.bin")
    assert rayfs("cat", spec, "/part dir/PAYLOAD.BIN").stdout == data.read_bytes()
    out = tmp_path / "out.bin"  # a regular file: copied by extents at the partition's offset
    rayfs("get", spec, "/part dir/payload.bin", out)
    assert out.read_bytes() == data.read_bytes()
    # mtools sees the same files at the partition's byte offset
    target = f"{disk}@@{start * 512}"
    listing = run("mdir", "-i", target, "::/Part Dir").stdout.decode()
    assert "payload  bin" in listing
    assert run("mtype", "-i", target, "::/Part Dir/payload.bin").stdout == data.read_bytes()
    # the partition table itself is untouched and the other partitions too
    table = run("sfdisk", "--dump", disk).stdout.decode()
    assert "start=" in table
    assert b"0 errors" in rayfs("check", spec).stdout


def test_partition_errors(tmp_path):
    disk = tmp_path / "disk.img"
    blank_image(disk, 48)
    sfdisk(disk, GPT_SCRIPT)
    before = sha(disk)
    proc = rayfs("ls", f"{disk}@3", "/", check=False)
    assert proc.returncode != 0 and b"no partition 3" in proc.stderr
    proc = rayfs("ls", f"{disk}@1", "/", check=False)
    assert proc.returncode != 0 and b"not a valid FAT volume" in proc.stderr
    assert sha(disk) == before


def test_mkfs_fat_made_partition_and_backup_gpt(tmp_path):
    disk = tmp_path / "disk.img"
    blank_image(disk, 48)
    sfdisk(disk, GPT_SCRIPT)
    run("mkfs.fat", "-F", "16", "--offset", "18432", disk, str(65536 // 2))
    payload = tmp_path / "p"
    payload.write_bytes(b"partition payload")
    run("mcopy", "-i", f"{disk}@@{18432 * 512}", payload, "::/FROMM.TXT")
    assert rayfs("cat", f"{disk}@2", "/frommm.txt", check=False).returncode != 0
    assert rayfs("cat", f"{disk}@2", "/fromm.txt").stdout == b"partition payload"
    # destroy the primary GPT header: the backup at the last LBA is used
    raw = bytearray(disk.read_bytes())
    raw[512:512 + 92] = bytes(92)
    disk.write_bytes(bytes(raw))
    assert rayfs("cat", f"{disk}@2", "/fromm.txt").stdout == b"partition payload"
