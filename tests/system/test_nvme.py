"""NVMe under QEMU: a 512-byte and a 4096-byte LBA namespace on two controllers, data written
by `blk write` checked byte for byte on the host, FAT partitions made on the host read
back as blocks and mounted."""
import re

import pytest

from rayos_qemu import RayOS
from storage_images import (MiB, drive, lsblk_rows, make_fat_image, make_image, mount_and_cat,
                            xxd)

FILE_TEXT = b"NVMe carries this FAT file from the host.\n" * 50


def hexdump_bytes(out):
    return bytes.fromhex("".join(line[10:49] for line in out.splitlines()).replace(" ", ""))


def test_512_and_4096_byte_namespaces(tmp_path):
    small = make_image(tmp_path / "n0.img", 16 * MiB, patches=[(9 * 512 + 8, b"nvme host text")])
    big = make_image(tmp_path / "n1.img", 16 * MiB, sector_size=4096)
    with RayOS(machine="q35",
               drives=[drive(small, "n0"), drive(big, "n1")],
               devices=["nvme,serial=rayos1,drive=n0",
                        "nvme,serial=rayos2,drive=n1,logical_block_size=4096,"
                        "physical_block_size=4096"]) as vm:
        log = vm.boot_log
        assert re.search(r"nvme0: QEMU NVMe Ctrl \(serial rayos1.*MSI-X completion", log), log
        assert "namespace 1: 16 MiB, 512-byte blocks -> nvme0n1" in log, log
        assert "namespace 1: 16 MiB, 4096-byte blocks -> nvme1n1" in log, log
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["nvme0n1"][1:7] == ["16M", "512", "512", "0", "disk", "nvme"], rows
        assert rows["nvme1n1"][1:7] == ["16M", "4096", "4096", "0", "disk", "nvme"], rows
        assert vm.run("blk read nvme0n1 9") == xxd(small, 9 * 512, 512)
        # Block 3 of the 4 KiB namespace is byte 12288: the pattern says "sector 00000003".
        assert vm.run("blk read nvme1n1 3") == xxd(big, 3 * 4096, 4096)
        # Large transfers need PRP lists (more than two pages per command).
        assert vm.run("blk read nvme1n1 100 40") == xxd(big, 100 * 4096, 40 * 4096)
        assert "1000 blocks at 50 filled with 0x6e" in vm.run("blk write nvme0n1 50 0x6e 1000")
        assert "300 blocks at 7 filled with 0x4b" in vm.run("blk write nvme1n1 7 0x4b 300")
        assert "1 blocks at 4095 filled with 0x99" in vm.run("blk write nvme1n1 4095 0x99")
        assert "(-22)" in vm.run("blk write nvme1n1 4096 1")
        assert vm.poweroff() == 0
    data = small.read_bytes()
    assert data[50 * 512:1050 * 512] == b"\x6e" * (1000 * 512)
    assert data[49 * 512:49 * 512 + 16] == b"sector 00000049."
    assert data[1050 * 512:1050 * 512 + 16] == b"sector 00001050."
    data = big.read_bytes()
    assert data[7 * 4096:307 * 4096] == b"\x4b" * (300 * 4096)
    assert data[6 * 4096:6 * 4096 + 16] == b"sector 00000006."
    assert data[307 * 4096:307 * 4096 + 16] == b"sector 00000307."
    assert data[4095 * 4096:] == b"\x99" * 4096


def test_fat_partitions_on_512_and_4096_byte_namespaces(tmp_path):
    disks = {}
    for name, block in (("f0", 512), ("f1", 4096)):
        path = tmp_path / f"{name}.img"
        disks[name] = (path, block, *make_fat_image(path, 64 * MiB, "HELLO.TXT", FILE_TEXT, block))
    with RayOS(machine="q35",
               drives=[drive(disks["f0"][0], "f0"), drive(disks["f1"][0], "f1")],
               devices=["nvme,serial=fat512,drive=f0",
                        "nvme,serial=fat4k,drive=f1,logical_block_size=4096,"
                        "physical_block_size=4096"]) as vm:
        rows = lsblk_rows(vm.run("lsblk"))
        for disk, (path, block, part_offset, file_offset) in zip(["nvme0n1", "nvme1n1"],
                                                                disks.values()):
            assert rows[f"{disk}p1"][5] == "part", rows
            volume = path.parent / (path.name + ".fat")
            assert vm.run(f"blk read {disk}p1 0") == xxd(volume, 0, block)
            assert (file_offset - part_offset) % block == 0
            file_block = (file_offset - part_offset) // block
            out = vm.run(f"blk read {disk}p1 {file_block}")
            assert out == xxd(volume, file_block * block, block)
            assert hexdump_bytes(out).startswith(FILE_TEXT[:block])
            assert mount_and_cat(vm, f"{disk}p1", f"/{disk}", "HELLO.TXT") == FILE_TEXT.decode()
        assert vm.poweroff() == 0


@pytest.mark.parametrize("cpus", [1, 2])
def test_controller_reset_keeps_the_disk_working(tmp_path, cpus):
    """A reset rebuilds every I/O queue pair (one per CPU, each with its MSI-X vector on its
    CPU), and each carries I/O again."""
    image = make_image(tmp_path / "r.img", 8 * MiB)
    with RayOS(machine="q35", smp=cpus, drives=[drive(image, "n0")],
               devices=["nvme,serial=reset,drive=n0"]) as vm:
        info = vm.run("blk info nvme0n1")
        queues = "1 queue" if cpus == 1 else f"{cpus} queues"
        assert re.search(rf"driver: 0000:00:0\d\.0 nvme0 namespace 1, QEMU NVMe Ctrl, {queues} of "
                         r"\d+, MSI-X completion", info), info
        assert "blk reset: nvme0n1 reset" in vm.run("blk reset nvme0n1")
        assert "nvme0n1: resetting the controller (-5" in vm.run("dmesg")
        # The rebuilt queues carry I/O again: thousands of commands, wrapping the rings.
        out = vm.run(f"blk bench nvme0n1 1 --jobs {cpus}", timeout=120)
        assert re.search(r"randread 4k qd32: \d+ IOPS", out) and "failed" not in out, out
        for lba in range(0, 30, 3):
            assert "filled with 0x3c" in vm.run(f"blk write nvme0n1 {lba} 0x3c")
        assert vm.run("blk read nvme0n1 4000 2") == xxd(image, 4000 * 512, 1024)
        info = vm.run("blk info nvme0n1")
        completed = re.findall(r"^hardware queue \d \(CPU \d\): (\d+) completed", info, re.M)
        assert len(completed) == (0 if cpus == 1 else cpus), info
        assert all(int(n) > 100 for n in completed), info
        assert "(0 off their queue's CPU)" in info, info
        assert vm.poweroff() == 0
    data = image.read_bytes()
    assert all(data[lba * 512:(lba + 1) * 512] == b"\x3c" * 512 for lba in range(0, 30, 3))
    assert data[512:528] == b"sector 00000001."


def test_io_error_fails_only_that_request(tmp_path):
    bad = make_image(tmp_path / "bad.img", 4 * MiB)
    config = tmp_path / "blkdebug.conf"
    config.write_text('[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "1000"\n')
    with RayOS(machine="q35",
               drives=[f"file=blkdebug:{config}:{bad},format=raw,if=none,id=e0,cache=none"],
               devices=["nvme,serial=err,drive=e0"]) as vm:
        out = vm.run("blk read nvme0n1 1000")
        assert "Input/output error (-5)" in out, out
        assert re.search(r"nvme0n1: read at block 1000 failed: status 0x\w+", vm.run("dmesg"))
        assert vm.run("blk read nvme0n1 999") == xxd(bad, 999 * 512, 512)
        assert "filled with 0x13" in vm.run("blk write nvme0n1 1001 0x13")
        assert vm.poweroff() == 0
    assert bad.read_bytes()[1001 * 512:1002 * 512] == b"\x13" * 512


def test_intx_completion(tmp_path):
    """nvme.nomsi: completions by the legacy interrupt line instead of MSI-X."""
    image = make_image(tmp_path / "intx.img", 8 * MiB)
    with RayOS(machine="q35", drives=[drive(image, "n0")], cmdline="nvme.nomsi",
               devices=["nvme,serial=intx,drive=n0"]) as vm:
        assert re.search(r"nvme0: .*, INTx completion", vm.boot_log), vm.boot_log
        assert "500 blocks at 9 filled with 0x5e" in vm.run("blk write nvme0n1 9 0x5e 500")
        assert vm.run("blk read nvme0n1 7000 3") == xxd(image, 7000 * 512, 3 * 512)
        out = vm.run("blk bench nvme0n1 1", timeout=120)
        assert re.search(r"randread 4k qd32: \d+ IOPS", out) and "failed" not in out, out
        assert vm.poweroff() == 0
    data = image.read_bytes()
    assert data[9 * 512:509 * 512] == b"\x5e" * (500 * 512)


def test_two_namespaces_on_one_controller(tmp_path):
    first = make_image(tmp_path / "ns1.img", 8 * MiB)
    second = make_image(tmp_path / "ns2.img", 8 * MiB, sector_size=4096)
    with RayOS(machine="q35", drives=[drive(first, "a"), drive(second, "b")],
               devices=["nvme,id=nvme0,serial=multi", "nvme-ns,drive=a,bus=nvme0,nsid=1",
                        "nvme-ns,drive=b,bus=nvme0,nsid=2,logical_block_size=4096,"
                        "physical_block_size=4096"]) as vm:
        assert "namespace 1: 8 MiB, 512-byte blocks -> nvme0n1" in vm.boot_log, vm.boot_log
        assert "namespace 2: 8 MiB, 4096-byte blocks -> nvme0n2" in vm.boot_log, vm.boot_log
        assert vm.run("blk read nvme0n2 5") == xxd(second, 5 * 4096, 4096)
        assert "filled with 0x01" in vm.run("blk write nvme0n1 3 0x01")
        assert "filled with 0x02" in vm.run("blk write nvme0n2 3 0x02")
        assert vm.poweroff() == 0
    assert first.read_bytes()[3 * 512:4 * 512] == b"\x01" * 512
    assert first.read_bytes()[4 * 512:4 * 512 + 16] == b"sector 00000004."
    assert second.read_bytes()[3 * 4096:4 * 4096] == b"\x02" * 4096


def test_unbind_and_bind_again(tmp_path):
    image = make_image(tmp_path / "u.img", 8 * MiB)
    with RayOS(machine="q35", drives=[drive(image, "n0")],
               devices=["nvme,serial=rebind,drive=n0,addr=05.0"]) as vm:
        out = vm.run("driver unbind 0000:00:05.0")
        assert "nvme0n1: removed" in out and "unbound from nvme" in out, out
        assert "nvme0n1" not in vm.run("lsblk")
        assert "no block device nvme0n1" in vm.run("blk read nvme0n1 1")
        out = vm.run("driver bind 0000:00:05.0 nvme")
        # The controller number is reused, so the disk keeps its name.
        assert "namespace 1: 8 MiB, 512-byte blocks -> nvme0n1" in out, out
        assert vm.run("blk read nvme0n1 1") == xxd(image, 512, 512)
        assert vm.poweroff() == 0
