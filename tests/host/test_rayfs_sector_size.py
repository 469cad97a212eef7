"""rayfs on partitions of disk images with 4096-byte logical blocks: the block size comes from
the table itself (a GPT header in block 1 of that size; for MBR, the block size at which the
partition starts with a boot sector), or from --sector-size."""
import struct
import subprocess
import uuid
import zlib

import pytest

from fatutil import rayfs, run

SECTOR = 4096
START = 256  # blocks of 4096 bytes: 1 MiB
BLOCKS = 8192  # 32 MiB


def fat_volume(tmp_path, sector_size):
    volume = tmp_path / "volume.fat"
    volume.unlink(missing_ok=True)
    run("mkfs.fat", "-S", str(sector_size), "-C", str(volume), str(BLOCKS * SECTOR // 1024))
    hello = tmp_path / "hello.txt"
    hello.write_bytes(b"hello from a 4K disk\n")
    run("mcopy", "-i", str(volume), str(hello), "::HELLO.TXT")
    return volume.read_bytes()


def gpt_4k(tmp_path):
    size = (START + BLOCKS + 64) * SECTOR
    disk = bytearray(size)
    total = size // SECTOR
    # protective MBR
    disk[446 + 4] = 0xEE
    disk[446 + 8:446 + 12] = (1).to_bytes(4, "little")
    disk[446 + 12:446 + 16] = min(total - 1, 0xFFFFFFFF).to_bytes(4, "little")
    disk[510:512] = b"\x55\xaa"
    entry = bytearray(128)
    entry[0:16] = uuid.UUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7").bytes_le
    entry[16:32] = uuid.uuid4().bytes_le
    entry[32:40] = START.to_bytes(8, "little")
    entry[40:48] = (START + BLOCKS - 1).to_bytes(8, "little")
    entry[56:56 + 8] = "data".encode("utf-16-le")
    entries = bytes(entry) + bytes(127 * 128)  # 128 entries = 4 blocks of 4096
    entries_blocks = len(entries) // SECTOR

    def header(current, backup, entries_lba):
        h = bytearray(92)
        h[0:8] = b"EFI PART"
        h[8:12] = (0x10000).to_bytes(4, "little")
        h[12:16] = (92).to_bytes(4, "little")
        struct.pack_into("<QQQQ", h, 24, current, backup, 2 + entries_blocks,
                         total - 2 - entries_blocks)
        h[56:72] = uuid.uuid4().bytes_le
        struct.pack_into("<QIII", h, 72, entries_lba, 128, 128, zlib.crc32(entries))
        h[16:20] = zlib.crc32(h).to_bytes(4, "little")
        return bytes(h)

    disk[SECTOR:SECTOR + 92] = header(1, total - 1, 2)
    disk[2 * SECTOR:2 * SECTOR + len(entries)] = entries
    backup_entries = total - 1 - entries_blocks
    disk[backup_entries * SECTOR:(total - 1) * SECTOR] = entries
    disk[(total - 1) * SECTOR:(total - 1) * SECTOR + 92] = header(total - 1, 1, backup_entries)
    volume = fat_volume(tmp_path, SECTOR)
    disk[START * SECTOR:START * SECTOR + len(volume)] = volume
    path = tmp_path / "gpt4k.img"
    path.write_bytes(bytes(disk))
    return path


def mbr_4k(tmp_path):
    disk = bytearray((START + BLOCKS) * SECTOR)
    disk[446 + 4] = 0x0C
    disk[446 + 8:446 + 12] = START.to_bytes(4, "little")
    disk[446 + 12:446 + 16] = BLOCKS.to_bytes(4, "little")
    disk[510:512] = b"\x55\xaa"
    volume = fat_volume(tmp_path, SECTOR)
    disk[START * SECTOR:START * SECTOR + len(volume)] = volume
    path = tmp_path / "mbr4k.img"
    path.write_bytes(bytes(disk))
    return path


@pytest.mark.parametrize("make", [gpt_4k, mbr_4k], ids=["gpt", "mbr"])
def test_4k_partition_is_found_from_the_table(tmp_path, make):
    disk = make(tmp_path)
    spec = f"{disk}@1"
    assert rayfs("cat", spec, "/HELLO.TXT").stdout == b"hello from a 4K disk\n"
    payload = tmp_path / "payload"
    payload.write_bytes(bytes(range(256)) * 300)
    rayfs("put", spec, payload, "/NEW.BIN")
    assert b"0 errors" in rayfs("check", spec).stdout
    # mtools at the partition's byte offset sees the same volume
    target = f"{disk}@@{START * SECTOR}"
    assert run("mtype", "-i", target, "::NEW.BIN").stdout == payload.read_bytes()
    # --sector-size says it explicitly; the wrong size is refused clearly
    assert rayfs("cat", "--sector-size", "4096", spec, "/HELLO.TXT").stdout == \
        b"hello from a 4K disk\n"
    p = rayfs("cat", "--sector-size", "512", spec, "/HELLO.TXT", check=False)
    assert p.returncode != 0
    assert b"rayfs: " in p.stderr


def test_sector_size_option_is_checked(tmp_path):
    disk = mbr_4k(tmp_path)
    p = rayfs("ls", "--sector-size", "1000", f"{disk}@1", "/", check=False)
    assert p.returncode != 0
    assert b"--sector-size: 512 or 4096" in p.stderr
