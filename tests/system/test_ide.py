"""IDE under QEMU: PIIX3 (8086:7010) on -machine pc with master and slave disks, bus-master DMA
data checked on the host; the legacy-port fallback (an ISA IDE channel on q35, no PCI IDE);
a machine whose only disk is IDE takes its root filesystem from it."""
import re

from rayos_qemu import RayOS
from storage_images import (MiB, drive, lsblk_rows, make_fat_image, make_image, mount_and_cat,
                            xxd)

FILE_TEXT = b"IDE master and slave, from the host.\n" * 30


def ide_disk(name, unit, bus="ide.0"):
    return f"ide-hd,drive={name},bus={bus},unit={unit}"


def test_piix_master_and_slave_read_write_and_fat(tmp_path):
    master = make_image(tmp_path / "master.img", 8 * MiB, patches=[(3 * 512 + 40, b"master!")])
    slave = tmp_path / "slave.img"
    make_fat_image(slave, 40 * MiB, "HELLO.TXT", FILE_TEXT)
    with RayOS(machine="pc",
               drives=[drive(master, "i0"), drive(slave, "i1"), "if=none,id=cd,media=cdrom"],
               devices=[ide_disk("i0", 0), ide_disk("i1", 1), "ide-cd,drive=cd,bus=ide.1"]) as vm:
        log = vm.boot_log
        assert "ide: 0000:00:01.1 channel 1 master: ATAPI device QEMU DVD-ROM (not supported)" \
            in log, log
        assert re.search(r"ide: 0000:00:01\.1 channel 0 master: QEMU HARDDISK, 8 MiB, "
                         r"512-byte sectors, LBA48, DMA -> hda", log), log
        assert re.search(r"ide: 0000:00:01\.1 channel 0 slave: QEMU HARDDISK, 40 MiB, .* -> hdb",
                         log), log
        assert "ide: 0000:00:01.1: compatibility mode, bus-master DMA, 2 disks" in log, log
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["hda"][1:7] == ["8M", "512", "512", "0", "disk", "ide"], rows
        assert rows["hdb"][1:7] == ["40M", "512", "512", "0", "disk", "ide"], rows
        assert rows["hdb1"][5] == "part", rows
        # The disks hang under the IDE function, the partition under its disk.
        assert re.search(r"^  0000:00:01\.1 \[pci\] 8086:7010 IDE interface -> ide\n"
                         r"    hda \[block\] disk, 8M, ide\n    hdb \[block\] disk, 40M, ide\n"
                         r"      hdb1 \[block\] partition 1, 39M\n", vm.run("devices"), re.M)
        assert vm.run("blk read hda 3") == xxd(master, 3 * 512, 512)
        # Two commands (at most 128 KiB each), PRD entries split at 64 KiB lines.
        assert vm.run("blk read hda 1000 260") == xxd(master, 1000 * 512, 260 * 512)
        assert "700 blocks at 2000 filled with 0xd4" in vm.run("blk write hda 2000 0xd4 700")
        assert "1 blocks at 16383 filled with 0x3e" in vm.run("blk write hda 16383 0x3e")
        assert "(-22)" in vm.run("blk write hda 16384 1")
        assert "filled with 0x21" in vm.run("blk write hdb 5 0x21")
        assert mount_and_cat(vm, "hdb1", "/mnt", "HELLO.TXT") == FILE_TEXT.decode()
        assert vm.poweroff() == 0
    data = master.read_bytes()
    assert data[2000 * 512:2700 * 512] == b"\xd4" * (700 * 512)
    assert data[1999 * 512:1999 * 512 + 16] == b"sector 00001999."
    assert data[2700 * 512:2700 * 512 + 16] == b"sector 00002700."
    assert data[16383 * 512:] == b"\x3e" * 512
    assert slave.read_bytes()[5 * 512:6 * 512] == b"\x21" * 512


def test_legacy_ports_fallback_without_pci_ide(tmp_path):
    master = make_image(tmp_path / "legacy.img", 4 * MiB)
    slave = make_image(tmp_path / "legacy2.img", 4 * MiB)
    with RayOS(machine="q35", drives=[drive(master, "l0"), drive(slave, "l1")],
               devices=["isa-ide,iobase=0x1f0,iobase2=0x3f6,irq=14,id=legacyide",
                        ide_disk("l0", 0, "legacyide.0"), ide_disk("l1", 1, "legacyide.0")]) as vm:
        log = vm.boot_log
        assert "ide: legacy channel 0 master: QEMU HARDDISK, 4 MiB, 512-byte sectors, LBA48, " \
               "PIO -> hda" in log, log
        assert "ide: legacy channel 0 slave: QEMU HARDDISK, 4 MiB" in log, log
        assert "ide: ide0: legacy ports 0x1f0/0x3f6, 2 disks" in log, log
        assert re.search(r"^  ide0 \[platform\] ide-legacy .* -> ide-legacy\n"
                         r"    hda \[block\] disk, 4M, ide\n    hdb \[block\] disk, 4M, ide\n",
                         vm.run("devices"), re.M)
        assert vm.run("blk read hdb 77 2") == xxd(slave, 77 * 512, 1024)
        assert "300 blocks at 10 filled with 0x77" in vm.run("blk write hda 10 0x77 300")
        assert vm.poweroff() == 0
    data = master.read_bytes()
    assert data[10 * 512:310 * 512] == b"\x77" * (300 * 512)
    assert data[310 * 512:310 * 512 + 16] == b"sector 00000310."


def test_root_filesystem_on_the_only_disk_an_ide_disk(tmp_path):
    disk = tmp_path / "root.img"
    make_fat_image(disk, 40 * MiB, "HELLO.TXT", FILE_TEXT, extra_files=[("BOOT/RAYOS.CFG", b"")])
    with RayOS(machine="pc", drives=[drive(disk, "r0")], devices=[ide_disk("r0", 0)]) as vm:
        log = vm.boot_log
        assert "-> hda" in log, log
        assert re.search(r"vfs: mounted hda1 \(fat\) at /\n", log), log
        assert vm.run("cat /HELLO.TXT") == FILE_TEXT.decode()
        assert vm.poweroff() == 0


def test_io_error_fails_only_that_request(tmp_path):
    bad = make_image(tmp_path / "bad.img", 4 * MiB)
    config = tmp_path / "blkdebug.conf"
    config.write_text('[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "1000"\n')
    with RayOS(machine="pc",
               drives=[f"file=blkdebug:{config}:{bad},format=raw,if=none,id=e0,cache=none"],
               devices=[ide_disk("e0", 0)]) as vm:
        out = vm.run("blk read hda 1000")
        assert "Input/output error (-5)" in out, out
        assert re.search(r"hda: read at block 1000 failed: -5 \(status 0x\w+, error 0x\w+\)",
                         vm.run("dmesg"))
        # The channel was reset and serves the next requests.
        assert vm.run("blk read hda 999") == xxd(bad, 999 * 512, 512)
        assert "filled with 0x12" in vm.run("blk write hda 1001 0x12")
        assert vm.poweroff() == 0
    assert bad.read_bytes()[1001 * 512:1002 * 512] == b"\x12" * 512


def test_unbind_and_bind_again(tmp_path):
    image = make_image(tmp_path / "u.img", 4 * MiB)
    with RayOS(machine="pc", drives=[drive(image, "u0")], devices=[ide_disk("u0", 0)]) as vm:
        out = vm.run("driver unbind 0000:00:01.1")
        assert "hda: removed" in out and "unbound from ide" in out, out
        assert "hda" not in vm.run("lsblk")
        out = vm.run("driver bind 0000:00:01.1 ide")
        assert "channel 0 master: QEMU HARDDISK, 4 MiB, 512-byte sectors, LBA48, DMA -> hda" \
            in out, out
        assert "filled with 0x62" in vm.run("blk write hda 9 0x62 3")
        assert vm.run("blk read hda 12") == xxd(image, 12 * 512, 512)
        assert vm.poweroff() == 0
    assert image.read_bytes()[9 * 512:12 * 512] == b"\x62" * (3 * 512)
