"""Careless commands and hostile bytes (issue 16): numbers, configuration edits, copies."""
import os
import re

from disk_images import default_disk, fsck, mtools, read_file, virtio_drive
from rayos_qemu import RayOS


def boot(disk, cmdline=""):
    drive, device = virtio_drive(disk)
    return RayOS(drives=[drive], devices=[device], cmdline=cmdline)


def test_numbers_with_a_leading_zero_are_decimal(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        assert vm.command("mkimage /Z.IMG 0100K") == \
            "mkimage: /Z.IMG: 100K, contiguous, zero-filled\n"
        assert vm.command("mkimage /Y.IMG 08K") == "mkimage: /Y.IMG: 8K, contiguous, zero-filled\n"
        # LBA 010 is block 10 (byte 0x1400), not block 8.
        assert vm.command("blk read vda 010").startswith("00001400: ")
        assert vm.command("blk read vda 0x10").startswith("00002000: ")
        assert vm.command("blk read vda 18446744073709551626").startswith("usage: blk read")
        assert vm.poweroff() == 0
    assert len(read_file(disk, "/Z.IMG")) == 100 * 1024
    assert len(read_file(disk, "/Y.IMG")) == 8 * 1024


def put_config(tmp_path, disk, data):
    config = os.path.join(tmp_path, "RAYOS.CFG")
    with open(config, "wb") as f:
        f.write(data)
    mtools("mcopy", "-o", config, "::/BOOT/RAYOS.CFG", image=disk)


def test_cfg_set_never_writes_a_file_the_boot_would_refuse(tmp_path):
    disk = default_disk(tmp_path)
    base = open("rootfs/BOOT/RAYOS.CFG", "rb").read()
    padding = 65536 - 100 - len(base)
    data = base + b"# " + b"p" * (padding - 3) + b"\n"
    assert len(data) == 65536 - 100
    put_config(tmp_path, disk, data)
    with boot(disk) as vm:
        assert "over the 65536-byte limit" not in vm.boot_log
        long_value = "v" * 200
        assert vm.command(f"cfg set log.description {long_value}") == \
            "cfg: cannot save /BOOT/RAYOS.CFG: it would be over the 65536-byte limit the boot " \
            "reads (the old file is unchanged)\n"
        assert vm.command("cfg set log.level 5") == ""  # same size: fine
        assert vm.poweroff() == 0
    assert read_file(disk, "/BOOT/RAYOS.CFG") == data.replace(b"\nlevel = 6\n", b"\nlevel = 5\n")
    assert "RAYOS.NEW" not in mtools("mdir", "-b", "::/BOOT", image=disk).decode()
    with boot(disk) as vm:
        assert "over the 65536-byte limit" not in vm.boot_log
        assert vm.command("cfg get log.level") == "5\n"
        vm.poweroff()


def test_cfg_set_keeps_crlf_and_nul_bytes_and_cites_the_right_lines(tmp_path):
    disk = default_disk(tmp_path)
    data = (b"# crlf file\r\n[log]\r\nlevel = 6\r\nmax_size = 4K\r\nlev\0el = 9\r\n"
            b"bogus = 1\r\n\r\n[vm a]\r\nbogus = 2\r\nimage = /A.IMG")  # no final newline
    put_config(tmp_path, disk, data)
    with boot(disk) as vm:
        log = vm.boot_log
        assert "config: /BOOT/RAYOS.CFG:5: line contains a NUL byte; line ignored" in log
        assert "config: /BOOT/RAYOS.CFG:6: unknown key 'bogus' in [log]; ignored" in log
        assert "config: /BOOT/RAYOS.CFG:9: unknown key 'bogus' in [vm a]; ignored" in log
        assert vm.command("cfg set log.level 7") == ""
        assert vm.command("cfg set log.files 2") == ""
        assert vm.command("cfg set \"vm a.size\" 1M") == ""
        assert vm.poweroff() == 0
    expected = (b"# crlf file\r\n[log]\r\nlevel = 7\r\nmax_size = 4K\r\nlev\0el = 9\r\n"
                b"bogus = 1\r\nfiles = 2\r\n\r\n[vm a]\r\nbogus = 2\r\nimage = /A.IMG\r\nsize = 1M")
    assert read_file(disk, "/BOOT/RAYOS.CFG") == expected
    assert fsck(disk)[0] == 0


def test_a_16000_line_configuration_is_checked_in_one_pass(tmp_path):
    disk = default_disk(tmp_path)
    put_config(tmp_path, disk, b"[log]\n" + b"a=1\n" * 15998)  # 63,998 bytes
    with boot(disk) as vm:
        log = vm.boot_log
        # Each report cites its own line (they all used to cite the last one, 15999).
        assert "config: /BOOT/RAYOS.CFG:2: unknown key 'a' in [log]; ignored" in log
        assert "config: /BOOT/RAYOS.CFG:3: unknown key 'a' in [log]; ignored" in log
        assert "config: /BOOT/RAYOS.CFG: 15988 more problems not shown" in log
        # Quadratic checking took about 5 s here under TCG; one pass takes a few ms.
        ready = float(re.search(r"boot: ready in ([0-9.]+) ms", log).group(1))
        assert ready < 2000, ready
        vm.poweroff()
