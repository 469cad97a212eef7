"""AHCI on q35's built-in controller (8086:2922 at 00:1f.2): two SATA disks, data checked byte
for byte on the host, a FAT partition made on the host read back through the partition device,
an ATAPI drive reported but not driven, and injected I/O errors recovered by a port reset."""
import re

import pytest

from rayos_qemu import RayOS
from storage_images import (MiB, drive, lsblk_rows, make_fat_image, make_image, mount_and_cat,
                            xxd)

FILE_TEXT = b"A file the host put on a FAT volume, read through AHCI.\n" * 40


def sata(path, name, port, extra=""):
    return [drive(path, name, extra)], [f"ide-hd,drive={name},bus=ide.{port}"]


def test_two_sata_disks_read_write_and_fat_partition(tmp_path):
    plain = make_image(tmp_path / "plain.img", 16 * MiB,
                       patches=[(7 * 512 + 20, b"host text on the first SATA disk")])
    fat = tmp_path / "fat.img"
    part_offset, file_offset = make_fat_image(fat, 64 * MiB, "HELLO.TXT", FILE_TEXT)
    with RayOS(machine="q35",
               drives=[drive(plain, "s0"), drive(fat, "s1")],
               devices=["ide-hd,drive=s0,bus=ide.0", "ide-hd,drive=s1,bus=ide.1"]) as vm:
        log = vm.boot_log
        assert re.search(r"ahci: 0000:00:1f\.2: port 0: QEMU HARDDISK, 16 MiB, 512-byte sectors, "
                         r"NCQ depth 32 -> sda", log), log
        assert re.search(r"ahci: 0000:00:1f\.2: port 1: QEMU HARDDISK, 64 MiB, .* -> sdb", log), log
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["sda"][1:7] == ["16M", "512", "512", "0", "disk", "ahci"], rows
        assert rows["sdb"][1:7] == ["64M", "512", "512", "0", "disk", "ahci"], rows
        assert rows["sdb1"][5] == "part", rows
        assert vm.run("blk read sda 7") == xxd(plain, 7 * 512, 512)
        # More than one command's worth, across many PRD entries and NCQ tags.
        assert vm.run("blk read sda 30000 9") == xxd(plain, 30000 * 512, 9 * 512)
        out = vm.run("blk write sda 100 0xab 1000")
        assert "1000 blocks at 100 filled with 0xab" in out, out
        out = vm.run("blk write sda 32767 0x5c")
        assert "1 blocks at 32767 filled with 0x5c" in out, out
        assert "(-22)" in vm.run("blk write sda 32768 7")
        # The FAT boot sector and the file's bytes, where the host's tools put them.
        # blk read prints device-relative offsets: the partition compares with the volume file.
        volume = tmp_path / "fat.img.fat"
        assert vm.run(f"blk read sdb {part_offset // 512}") == xxd(fat, part_offset, 512)
        assert vm.run("blk read sdb1 0") == xxd(volume, 0, 512)
        assert (file_offset - part_offset) % 512 == 0
        file_block = (file_offset - part_offset) // 512
        assert FILE_TEXT[:16] in bytes.fromhex(
            "".join(l[10:49] for l in vm.run(f"blk read sdb1 {file_block}").splitlines()).replace(" ", ""))
        # And through the filesystem.
        assert mount_and_cat(vm, "sdb1", "/mnt", "HELLO.TXT") == FILE_TEXT.decode()
        assert vm.run(f"blk read sdb1 {file_block} 2") == xxd(volume, file_block * 512, 1024)
        assert vm.poweroff() == 0
    data = plain.read_bytes()
    assert data[100 * 512:1100 * 512] == b"\xab" * (1000 * 512)
    assert data[99 * 512:99 * 512 + 16] == b"sector 00000099."
    assert data[1100 * 512:1100 * 512 + 16] == b"sector 00001100."
    assert data[32767 * 512:] == b"\x5c" * 512


@pytest.mark.parametrize("cmdline,cpus", [("", 1), ("ahci.noncq", 2)])
def test_io_error_resets_the_port_retries_once_then_fails_only_that_request(tmp_path, cmdline,
                                                                            cpus):
    """Queued (NCQ) and non-queued commands: QEMU clears PxCI of a failed non-queued command
    before it raises TFES, so a completion read between the two must not pass for success."""
    bad = make_image(tmp_path / "bad.img", 4 * MiB)
    good = make_image(tmp_path / "good.img", 4 * MiB)
    config = tmp_path / "blkdebug.conf"
    config.write_text('[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "1000"\n')
    with RayOS(machine="q35", smp=cpus, cmdline=cmdline,
               drives=[f"file=blkdebug:{config}:{bad},format=raw,if=none,id=s0,cache=none",
                       drive(good, "s1"), "if=none,id=cd,media=cdrom"],
               devices=["ide-hd,drive=s0,bus=ide.0", "ide-hd,drive=s1,bus=ide.1",
                        "ide-cd,drive=cd,bus=ide.2"]) as vm:
        assert re.search(r"port 2: ATAPI device QEMU DVD-ROM \(not supported\)", vm.boot_log), \
            vm.boot_log
        out = vm.run("blk read sda 1000")
        assert "Input/output error (-5)" in out, out
        log = vm.run("dmesg")
        # One reset for the first failure, one for the retry, then the request fails.
        assert len(re.findall(r"sda: port 0 error: .*resetting the port", log)) == 2, log
        assert "sda: read at block 1000 failed" in log, log
        # The port still serves other blocks; the other disk never noticed.
        assert vm.run("blk read sda 999") == xxd(bad, 999 * 512, 512)
        assert vm.run("blk read sdb 1000") == xxd(good, 1000 * 512, 512)
        assert "filled with 0x11" in vm.run("blk write sda 1001 0x11")
        assert vm.poweroff() == 0
    assert bad.read_bytes()[1001 * 512:1002 * 512] == b"\x11" * 512


def test_lsblk_shows_a_disk_of_each_kind(tmp_path):
    images = {name: make_image(tmp_path / f"{name}.img", size * MiB)
              for name, size in (("ide", 4), ("sata", 6), ("nvme", 8), ("virtio", 10))}
    with RayOS(machine="pc",
               drives=[drive(path, name) for name, path in images.items()],
               devices=["ide-hd,drive=ide,bus=ide.0", "ich9-ahci,id=sata0",
                        "ide-hd,drive=sata,bus=sata0.0", "nvme,serial=mix,drive=nvme",
                        "virtio-blk-pci,drive=virtio"]) as vm:
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["hda"][1:7] == ["4M", "512", "512", "0", "disk", "ide"], rows
        assert rows["sda"][1:7] == ["6M", "512", "512", "0", "disk", "ahci"], rows
        assert rows["nvme0n1"][1:7] == ["8M", "512", "512", "0", "disk", "nvme"], rows
        assert rows["vda"][1:7] == ["10M", "512", "512", "0", "disk", "virtio-blk"], rows
        for disk, name in (("hda", "ide"), ("sda", "sata"), ("nvme0n1", "nvme"), ("vda", "virtio")):
            assert vm.run(f"blk read {disk} 5") == xxd(images[name], 5 * 512, 512)
        assert vm.poweroff() == 0


def test_port_reset_keeps_the_disk_working_and_physical_sector_size(tmp_path):
    image = make_image(tmp_path / "r.img", 4 * MiB)
    with RayOS(machine="q35", drives=[drive(image, "s0")],
               devices=["ide-hd,drive=s0,bus=ide.0,physical_block_size=4096"]) as vm:
        # IDENTIFY word 106: 8 logical sectors per physical one.
        assert "512-byte sectors (4096-byte physical), NCQ depth 32 -> sda" in vm.boot_log
        assert lsblk_rows(vm.run("lsblk"))["sda"][1:4] == ["4M", "512", "4096"]
        info = vm.run("blk info sda")
        assert "driver: 0000:00:1f.2 port 0, QEMU HARDDISK, NCQ depth 32, MSI completion" in info
        assert "blk reset: sda reset" in vm.run("blk reset sda")
        assert "sda: port 0: reset (-5)" in vm.run("dmesg")
        assert "filled with 0x42" in vm.run("blk write sda 20 0x42 64")
        assert vm.run("blk read sda 19") == xxd(image, 19 * 512, 512)
        assert vm.poweroff() == 0
    assert image.read_bytes()[20 * 512:84 * 512] == b"\x42" * (64 * 512)


def test_without_ncq_and_msi(tmp_path):
    """One READ/WRITE DMA EXT at a time, completed by INTx: the paths for HBAs and disks
    without NCQ or MSI, forced with ahci.noncq and ahci.nomsi."""
    image = make_image(tmp_path / "plain.img", 8 * MiB)
    with RayOS(machine="q35", drives=[drive(image, "s0")], cmdline="ahci.noncq ahci.nomsi",
               devices=["ide-hd,drive=s0,bus=ide.0"]) as vm:
        assert "512-byte sectors, no NCQ -> sda" in vm.boot_log, vm.boot_log
        assert "ahci: 0000:00:1f.2: 1 disk, INTx completion" in vm.boot_log, vm.boot_log
        assert "600 blocks at 40 filled with 0x9a" in vm.run("blk write sda 40 0x9a 600")
        assert vm.run("blk read sda 8000 40") == xxd(image, 8000 * 512, 40 * 512)
        out = vm.run("blk bench sda 1", timeout=120)
        assert re.search(r"randread 4k qd32: \d+ IOPS", out) and "failed" not in out, out
        assert vm.poweroff() == 0
    data = image.read_bytes()
    assert data[40 * 512:640 * 512] == b"\x9a" * (600 * 512)
    assert data[640 * 512:640 * 512 + 16] == b"sector 00000640."


def test_unbind_and_bind_again(tmp_path):
    image = make_image(tmp_path / "u.img", 8 * MiB)
    with RayOS(machine="q35", drives=[drive(image, "s0")],
               devices=["ide-hd,drive=s0,bus=ide.0"]) as vm:
        out = vm.run("driver unbind 0000:00:1f.2")
        assert "sda: removed" in out and "unbound from ahci" in out, out
        assert "sda" not in vm.run("lsblk")
        out = vm.run("driver bind 0000:00:1f.2 ahci")
        assert "port 0: QEMU HARDDISK, 8 MiB, 512-byte sectors, NCQ depth 32 -> sda" in out, out
        assert "filled with 0x61" in vm.run("blk write sda 9 0x61")
        assert vm.run("blk read sda 10") == xxd(image, 10 * 512, 512)
        assert vm.poweroff() == 0
    assert image.read_bytes()[9 * 512:10 * 512] == b"\x61" * 512
