"""Block layer under QEMU: partitions made by sfdisk (MBR with a logical partition, GPT) show
up in lsblk as devices of their own with the right sizes, and I/O stays inside them."""
import re
import subprocess

import pytest

from rayos_qemu import RayOS

MiB = 1024 * 1024


def sfdisk(path, size, script):
    with open(path, "wb") as f:
        f.truncate(size)
    subprocess.run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", str(path)],
                   input=script, text=True, check=True, capture_output=True)
    return path


def lsblk_lines(out):
    return {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}


def test_mbr_and_gpt_partitions(tmp_path):
    mbr = sfdisk(tmp_path / "mbr.img", 64 * MiB,
                 "label: dos\n"
                 "start=2048, size=16M, type=c\n"
                 "size=8M, type=83\n"
                 "type=5\n"
                 "size=4M, type=83\n")
    gpt = sfdisk(tmp_path / "gpt.img", 32 * MiB,
                 "label: gpt\n"
                 "size=10M, type=U, name=\"boot\"\n"
                 "size=6M, type=L, name=\"rootfs\"\n")
    before = mbr.read_bytes()
    with RayOS(drives=[f"file={mbr},format=raw,if=none,id=d0",
                       f"file={gpt},format=raw,if=none,id=d1"],
               devices=["virtio-blk-pci,drive=d0", "virtio-blk-pci,drive=d1"]) as vm:
        rows = lsblk_lines(vm.run("lsblk"))
        assert re.match(r"vda\s+64M\s+512\s+512\s+0\s+disk\s+virtio-blk", rows["vda"]), rows
        assert re.match(r"vda1\s+16M\s+512\s+512\s+0\s+part\s+virtio-blk\s+\S", rows["vda1"])
        assert "FAT32" in rows["vda1"], rows["vda1"]
        assert re.match(r"vda2\s+8M\s.*part", rows["vda2"]), rows
        assert re.match(r"vda5\s+4M\s.*part", rows["vda5"]), rows
        assert re.match(r"vdb1\s+10M\s.*part.*EFI System\s+boot$", rows["vdb1"]), rows
        assert re.match(r"vdb2\s+6M\s.*part.*Linux filesystem\s+rootfs$", rows["vdb2"]), rows
        # The last block of vda2 is writable; one past it is refused.
        last = 8 * MiB // 512 - 1
        assert "filled with 0x3c" in vm.run(f"blk write vda2 {last} 0x3c")
        assert "(-22)" in vm.run(f"blk write vda2 {last + 1} 0x3c")
        assert vm.poweroff() == 0
    data = mbr.read_bytes()
    vda2_start = 2048 + 16 * MiB // 512
    end = (vda2_start + last) * 512
    assert data[end:end + 512] == b"\x3c" * 512
    # Everything else, the extended partition's EBR right after vda2 included, is untouched.
    assert data[:end] == before[:end] and data[end + 512:] == before[end + 512:]


def test_bench_prints_one_line_per_test_and_guards_writes(tmp_path):
    disk = tmp_path / "bench.img"
    with open(disk, "wb") as f:
        f.truncate(16 * MiB)
    with RayOS(drives=[f"file={disk},format=raw,if=none,id=d0,cache=none",
                       f"file={disk},format=raw,if=none,id=d1,readonly=on,file.locking=off"],
               devices=["virtio-blk-pci,drive=d0", "virtio-blk-pci,drive=d1"]) as vm:
        out = vm.run("blk bench vda 1", timeout=120)
        lines = out.splitlines()
        assert len(lines) == 3, out
        assert re.fullmatch(r"blk-bench: seqread 128k qd32: \d+\.\d MB/s", lines[0]), out
        assert re.fullmatch(r"blk-bench: randread 4k qd1: \d+ IOPS", lines[1]), out
        assert re.fullmatch(r"blk-bench: randread 4k qd32: \d+ IOPS", lines[2]), out
        assert all(not re.search(r": 0(\.0)? ", line) for line in lines), out
        assert "read-only" in vm.run("blk bench vdb 1 --write")
        assert vm.poweroff() == 0
