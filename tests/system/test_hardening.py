"""Careless commands and hostile bytes (issue 16): numbers, configuration edits, copies."""
import os
import re
import subprocess
import time

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


def failing_fat16(path):
    """A FAT16 volume with /BIG.BIN (8 KiB in clusters 2 and 3) and QEMU blkdebug rules that
    fail every read of the file's second cluster with EIO: a source damaged part way.  Returns
    the drive's file= value."""
    subprocess.run(["truncate", "-s", "16M", str(path)], check=True)
    subprocess.run(["mkfs.fat", "-F", "16", "-s", "4", str(path)], check=True, capture_output=True)
    big = path.parent / "BIG.BIN"
    big.write_bytes(bytes(range(256)) * 32)
    subprocess.run(["mcopy", "-i", str(path), str(big), "::BIG.BIN"], check=True)
    boot = path.read_bytes()[:512]
    reserved = int.from_bytes(boot[14:16], "little")
    fats, root_entries = boot[16], int.from_bytes(boot[17:19], "little")
    fat_sectors = int.from_bytes(boot[22:24], "little")
    data_start = reserved + fats * fat_sectors + root_entries * 32 // 512
    sector = data_start + (3 - 2) * 4  # cluster 3
    rules = path.parent / "blkdebug.cfg"
    rules.write_text(f'[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "{sector}"\n')
    return f"blkdebug:{rules}:{path}"


def test_cp_names_the_file_that_failed_and_leaves_no_partial_copy(tmp_path):
    disk = default_disk(tmp_path)
    data = failing_fat16(tmp_path / "data.img")
    drive0, device0 = virtio_drive(disk, 0)
    drive1, device1 = virtio_drive(data, 1)
    with RayOS(drives=[drive0, drive1], devices=[device0, device1]) as vm:
        assert vm.command("echo precious > /tmp/a") == ""
        assert vm.command("cp /tmp/a /tmp/a") == "cp: /tmp/a and /tmp/a are the same file\n"
        assert vm.command("cp /tmp/a /tmp/../tmp/./a") == \
            "cp: /tmp/a and /tmp/../tmp/./a are the same file\n"
        assert vm.command("cat /tmp/a") == "precious\n"
        assert vm.command("echo keep > /A.TXT") == ""
        assert vm.command("cp /A.TXT /a.txt") == \
            "cp: /a.txt: Device or resource busy (open, or the same file as /A.TXT)\n"
        assert vm.command("cat /A.TXT") == "keep\n"

        assert vm.command("mount vdb /mnt") == ""
        out = vm.command("cp /mnt/BIG.BIN /tmp/b")
        assert out.startswith("cp: /mnt/BIG.BIN: "), out  # the source, not the target
        assert out.endswith("\ncp: /tmp/b: removed the incomplete copy\n"), out
        assert vm.command("ls /tmp") == "a\n"
        out = vm.command("mv /mnt/BIG.BIN /tmp/c")
        assert out.startswith("mv: /mnt/BIG.BIN: ") and "removed the incomplete copy" in out, out
        assert vm.command("ls /tmp") == "a\n"
        assert "BIG.BIN" in vm.command("ls /mnt")  # the source stays
        assert vm.poweroff() == 0


def rename_gpt_partition(disk, name_bytes_utf16):
    """Sets partition 1's GPT name in both headers' tables, with correct CRCs."""
    import zlib
    with open(disk, "r+b") as f:
        f.seek(512)
        primary = f.read(512)
        backup_lba = int.from_bytes(primary[32:40], "little")
        for header_lba in (1, backup_lba):
            f.seek(header_lba * 512)
            header = bytearray(f.read(512))
            assert header[:8] == b"EFI PART"
            entries_lba = int.from_bytes(header[72:80], "little")
            count = int.from_bytes(header[80:84], "little")
            size = int.from_bytes(header[84:88], "little")
            f.seek(entries_lba * 512)
            entries = bytearray(f.read(count * size))
            entries[56:128] = name_bytes_utf16.ljust(72, b"\0")
            header[88:92] = zlib.crc32(entries).to_bytes(4, "little")
            header_size = int.from_bytes(header[12:16], "little")
            header[16:20] = b"\0\0\0\0"
            header[16:20] = zlib.crc32(header[:header_size]).to_bytes(4, "little")
            f.seek(entries_lba * 512)
            f.write(entries)
            f.seek(header_lba * 512)
            f.write(header)


def test_strings_from_disk_are_printed_escaped(tmp_path):
    disk = default_disk(tmp_path)
    rename_gpt_partition(disk, "R\x1b[2JA\x07Y\u202e".encode("utf-16-le"))
    put_config(tmp_path, disk, b"[log]\nlevel = 6\x1b[31m\n[vm x]\nimage = /a\x1b[2Jb\r\x7f\n")
    with boot(disk) as vm:
        assert "config: /BOOT/RAYOS.CFG:2: log.level = '6\\x1b[31m' is not a number" in vm.boot_log
        row = [l for l in vm.command("lsblk").splitlines() if l.startswith("vda1")][0]
        assert row.endswith("R\\x1b[2JA\\x07Y\\xe2\\x80\\xae"), row
        out = vm.command("cfg list")
        assert "log.level = 6\\x1b[31m\n" in out, out
        assert "vm x.image = /a\\x1b[2Jb\\x0d\\x7f\n" in out, out
        assert vm.command("cfg get \"vm x.image\"") == "/a\\x1b[2Jb\\x0d\\x7f\n"
        assert "/a\\x1b[2Jb\\x0d\\x7f" in vm.command("vm list")
        assert vm.poweroff() == 0
    # Nothing from the disk reached the terminal raw: no escape byte at all in the transcript.
    assert "\x1b" not in vm.output and "\x07" not in vm.output and "\u202e" not in vm.output


def test_disk_log_resumes_after_a_transient_error(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        # Make the log file unopenable for a while: a directory in its place.
        for _ in range(20):
            vm.command("rm /LOG/KERNEL.LOG")
            if vm.command("mkdir /LOG/KERNEL.LOG") == "":
                break
        assert "d" in vm.command("ls -l /LOG").split("KERNEL.LOG")[0].splitlines()[-1]
        assert vm.command("mkimage /X.IMG 64K").startswith("mkimage:")

        def log_something():  # new log text for the next flush to write
            time.sleep(0.5)
            # Sent without waiting for the echo: the logfile worker's message may cut into it.
            for line in ("losetup /X.IMG", "losetup -d loop0"):
                vm.send(line + "\r")
                vm.expect_prompt()

        deadline = time.monotonic() + 30
        while "logging to disk paused" not in vm.output and time.monotonic() < deadline:
            log_something()
        assert "logfile: opening /LOG/KERNEL.LOG failed (Is a directory); logging to disk " \
               "paused, the in-memory log goes on (trying again in 5 s)" in vm.output
        assert vm.command("rmdir /LOG/KERNEL.LOG") == ""
        deadline = time.monotonic() + 60
        while "writing /LOG/KERNEL.LOG again" not in vm.output and time.monotonic() < deadline:
            log_something()
        assert "logfile: writing /LOG/KERNEL.LOG again, nothing lost" in vm.output
        assert vm.poweroff() == 0
    log = read_file(disk, "/LOG/KERNEL.LOG").decode()
    # Written after the pause: the pause itself (kept in memory meanwhile), then the resume.
    assert log.index("logging to disk paused") < log.index("writing /LOG/KERNEL.LOG again")
