"""Storage in the running kernel: boot volume, configuration, log file, VM images, file commands."""
import os
import re
import subprocess

import pytest

from disk_images import default_disk, fsck, mtools, read_file, virtio_drive
from rayos_qemu import ARCH, BUILD, UNKNOWN_SETTING, RayOS


def boot(disk, cmdline="", mem="256M"):
    drive, device = virtio_drive(disk)
    return RayOS(drives=[drive], devices=[device], cmdline=cmdline, mem=mem)


def test_cfg_set_persists_across_reboot_and_is_clean_on_the_host(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        assert "root: root is vda1" in vm.boot_log
        assert re.search(r"config: /BOOT/RAYOS.CFG: \d+ settings", vm.boot_log)
        assert vm.command("cfg get log.level") == "6\n"
        assert vm.command("cfg set log.level 7") == ""
        assert vm.command("cfg set net.mode \"dhcp client\"") == \
            UNKNOWN_SETTING.format("net.mode")
        assert vm.command("cfg get net.mode") == "dhcp client\n"
        assert vm.command("cfg get nosuch.key") == "cfg: nosuch.key is not set\n"
        assert vm.poweroff() == 0
    text = read_file(disk, "/BOOT/RAYOS.CFG").decode()
    assert "\nlevel = 7\n" in text
    assert "# Console log level" in text  # comments kept
    assert text.index("[log]") < text.index("level = 7") < text.index("[vm example]")
    assert text.rstrip().endswith("[net]\nmode = dhcp client")
    status, report = fsck(disk)
    assert status == 0, report
    assert "RAYOS.NEW" not in mtools("mdir", "-b", "::/BOOT", image=disk).decode()
    with boot(disk) as vm:
        assert vm.command("cfg get log.level") == "7\n"
        assert "log.level = 7" in vm.command("cfg list")
        vm.poweroff()


# A cap between one boot's log and two boots' (aarch64 logs the 32 virtio-mmio transports).
LOG_CAP_KIB = 4 if ARCH == "x86_64" else 8


def test_log_file_grows_across_boots_and_rotates(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        vm.command(f"cfg set log.max_size {LOG_CAP_KIB}K")
        vm.command("cfg set log.files 2")
        vm.poweroff()
    sizes = []
    for _ in range(2):
        with boot(disk) as vm:
            assert "logfile: appending the kernel log to /LOG/KERNEL.LOG" in vm.boot_log
            vm.poweroff()
        listing = mtools("mdir", "-b", "::/LOG", image=disk).decode()
        sizes.append(len(read_file(disk, "/LOG/KERNEL.LOG")))
    log = read_file(disk, "/LOG/KERNEL.LOG").decode()
    assert "root: root is vda1" in log
    assert re.search(r"^\[\s*\d+\.\d{6}\] boot: ready in", log, re.M)
    assert "KERNEL.1" in listing, listing  # rotated at the cap
    older = read_file(disk, "/LOG/KERNEL.1").decode()
    assert "boot: ready in" in older
    assert sizes[0] > LOG_CAP_KIB * 1024  # two boots appended to one file
    assert sizes[1] < sizes[0]  # the third boot found it over the cap and rotated
    assert fsck(disk)[0] == 0


def test_vm_images_and_loop_device(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        out = vm.command("vm list")
        assert re.search(r"^example +/VMS/EXAMPLE.IMG +- no +unusable: No such file", out, re.M)
        assert vm.command("mkimage /VMS/EXAMPLE.IMG 1M") == \
            "mkimage: /VMS/EXAMPLE.IMG: 1M, contiguous, zero-filled\n"
        out = vm.command("vm list")
        assert re.search(r"^example +/VMS/EXAMPLE.IMG +1M no +unusable: is 1M, configured size is 16M",
                         out, re.M), out
        vm.command("cfg set \"vm example.size\" 1M")
        assert re.search(r"^example .* 1M no +ok$", vm.command("vm list"), re.M)
        assert vm.command("losetup /VMS/EXAMPLE.IMG") == "loop0\n"
        assert "blk write: loop0: 3 blocks at 100 filled with 0x5a" in \
            vm.command("blk write loop0 100 0x5a 3")
        out = vm.command("blk write loop0 2048 1")  # one block past the end of the 1 MiB file
        assert "Invalid argument" in out
        assert re.search(r"^loop0: /VMS/EXAMPLE.IMG on vda1, 1M, 1 extent$", vm.command("losetup"),
                         re.M)
        assert vm.command("mkimage /VMS/EXAMPLE.IMG 1M").startswith("mkimage: /VMS/EXAMPLE.IMG: File exists")
        assert vm.command("losetup /tmp") .startswith("losetup: /tmp:")
        assert vm.poweroff() == 0
    image = read_file(disk, "/VMS/EXAMPLE.IMG")
    assert len(image) == 1024 * 1024
    assert image[100 * 512:103 * 512] == b"\x5a" * 1536
    assert image[:100 * 512] == bytes(100 * 512)
    assert image[103 * 512:] == bytes(len(image) - 103 * 512)
    assert fsck(disk)[0] == 0


def test_file_commands(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        assert vm.command("echo hello world > /notes.txt") == ""
        assert vm.command("echo second line >> /notes.txt") == ""
        assert vm.command("cat /notes.txt") == "hello world\nsecond line\n"
        assert vm.command("mkdir /docs") == ""
        assert vm.command("cp /notes.txt /docs/copy.txt") == ""
        assert vm.command("mv /docs/copy.txt /docs/Renamed Long Name.txt") .startswith("usage")
        assert vm.command("mv /docs/copy.txt \"/docs/Renamed Long Name.txt\"") == ""
        listing = vm.command("ls -l /docs")
        assert re.match(r"- +24 \d{4}-\d\d-\d\d \d\d:\d\d Renamed Long Name\.txt\n$", listing)
        stat = vm.command("stat /notes.txt")
        assert "  Size: 24\n" in stat and "regular file" in stat
        dump = vm.command("hexdump /notes.txt")
        expected = subprocess.run(["xxd"], input=b"hello world\nsecond line\n",
                                  capture_output=True).stdout.decode()
        assert dump == expected
        assert vm.command("rmdir /docs") == "rmdir: /docs: Directory not empty\n"
        # "/.." is "/" and "//" is "/", as in POSIX
        assert vm.command("cat /../etc") == "cat: /../etc: No such file or directory\n"
        assert vm.command("cat /a//b") == "cat: /a//b: No such file or directory\n"  # "/a/b"
        assert vm.command("cat /" + "n" * 300).endswith(": File name too long\n")
        assert vm.command("echo x > /bad:name") == "echo: /bad:name: Invalid argument\n"
        assert vm.command("rm /nothing") == "rm: /nothing: No such file or directory\n"
        assert re.search(r"^vda1 +fat32 +\d+ +\d+ +\d+ +\d+% /$", vm.command("df"), re.M)
        assert vm.command("sync") == ""
        assert vm.command("echo in memory > /tmp/t") == ""
        assert vm.command("mv /tmp/t /moved") == ""
        assert vm.command("cat /moved") == "in memory\n"
        assert vm.poweroff() == 0
    assert read_file(disk, "/docs/Renamed Long Name.txt") == b"hello world\nsecond line\n"
    assert read_file(disk, "/moved") == b"in memory\n"
    assert fsck(disk)[0] == 0


def test_mount_a_second_disk(tmp_path):
    disk = default_disk(tmp_path)
    data = os.path.join(tmp_path, "data.img")
    subprocess.run(["truncate", "-s", "16M", data], check=True)
    subprocess.run(["mkfs.fat", "-F", "16", "-n", "DATA", data], check=True, capture_output=True)
    with open(os.path.join(tmp_path, "f.txt"), "w") as f:
        f.write("from the host\n")
    subprocess.run(["mcopy", "-i", data, os.path.join(tmp_path, "f.txt"), "::HOST.TXT"], check=True)
    drive0, device0 = virtio_drive(disk, 0)
    drive1, device1 = virtio_drive(data, 1)
    with RayOS(drives=[drive0, drive1], devices=[device0, device1]) as vm:
        assert vm.command("mount vdb /mnt") == ""
        assert vm.command("cat /mnt/host.txt") == "from the host\n"
        assert "vdb on /mnt type fat (rw)" in vm.command("mount")
        assert vm.command("echo back > /mnt/back.txt") == ""
        assert vm.command("mount vdb /other") == \
            "mount: vdb: Device or resource busy: vdb is mounted at /mnt\n"
        assert vm.command("umount /mnt") == ""
        assert vm.command("umount /mnt") == "umount: /mnt: not mounted\n"
        assert vm.command("mount nothere /x") == "mount: nothere: No such device\n"
        assert vm.poweroff() == 0
    out = subprocess.run(["mtype", "-i", data, "::BACK.TXT"], capture_output=True)
    assert out.stdout == b"back\n"
    assert subprocess.run(["fsck.fat", "-n", data], capture_output=True).returncode == 0


def test_boot_without_disk_uses_memory_root():
    with RayOS() as vm:
        assert "root: no disks: using an in-memory root" in vm.boot_log
        assert "logfile: no disk root" in vm.boot_log
        assert vm.command("echo x > /file") == ""
        assert vm.command("cat /file") == "x\n"
        assert vm.poweroff() == 0


def test_disk_without_fat_and_bad_root_option(tmp_path):
    blank = os.path.join(tmp_path, "blank.img")
    subprocess.run(["truncate", "-s", "8M", blank], check=True)
    with boot(blank) as vm:
        assert "no FAT volume with /BOOT/RAYOS.CFG found: using an in-memory root" in vm.boot_log
        vm.poweroff()
    with boot(blank, cmdline="root=vdz") as vm:
        assert "cannot mount vdz: no such block device: using an in-memory root" in vm.boot_log
        vm.poweroff()
    with boot(blank, cmdline="root=vda") as vm:
        assert "cannot mount vda: no FAT filesystem on it" in vm.boot_log
        vm.poweroff()


@pytest.mark.parametrize("kind", ["garbage", "huge", "empty", "typos"])
def test_bad_configuration_files(tmp_path, kind):
    disk = default_disk(tmp_path)
    config = os.path.join(tmp_path, "RAYOS.CFG")
    with open(config, "wb") as f:
        if kind == "garbage":
            f.write(bytes((i * 7919 + 13) % 256 for i in range(3000)))
        elif kind == "huge":
            f.write(b"# padding\n" * (10 * 1024 * 1024 // 10))
        elif kind == "typos":
            f.write(b"[log]\nlevel = 6\nlevle = 7\n[bogus\nno equals here\n")
    mtools("mcopy", "-o", config, "::/BOOT/RAYOS.CFG", image=disk)
    with boot(disk) as vm:
        log = vm.boot_log
        if kind == "garbage":
            assert re.search(r"config: /BOOT/RAYOS.CFG:\d+: ", log)
        elif kind == "huge":
            assert "config: /BOOT/RAYOS.CFG is 10485760 bytes, over the 65536-byte limit" in log
        elif kind == "typos":
            assert "config: /BOOT/RAYOS.CFG:3: unknown key 'levle' in [log]; ignored" in log
            assert "config: /BOOT/RAYOS.CFG:4: malformed section header; line ignored" in log
            assert "config: /BOOT/RAYOS.CFG:5: expected 'key = value'; line ignored" in log
        if kind == "huge":
            assert vm.command("cfg set log.level 5") == \
                "cfg: cannot save /BOOT/RAYOS.CFG: File too large (the old file is unchanged)\n"
            assert vm.poweroff() == 0
            assert len(read_file(disk, "/BOOT/RAYOS.CFG")) == 10 * 1024 * 1024
            return
        assert vm.command("cfg set log.level 5") == ""
        assert vm.poweroff() == 0
    assert "level = 5" in read_file(disk, "/BOOT/RAYOS.CFG").decode(errors="replace")


def test_disk_removed_with_files_open(tmp_path):
    disk = default_disk(tmp_path)
    data = os.path.join(tmp_path, "data.img")
    subprocess.run(["truncate", "-s", "16M", data], check=True)
    subprocess.run(["mkfs.fat", "-F", "16", data], check=True, capture_output=True)
    drive0, device0 = virtio_drive(disk, 0)
    drive1, device1 = virtio_drive(data, 1)
    with RayOS(drives=[drive0, drive1], devices=[device0, device1 + ",addr=0x5"]) as vm:
        assert vm.command("mount vdb /mnt") == ""
        assert vm.command("mkimage /mnt/x.img 1M").startswith("mkimage: /mnt/x.img: 1M")
        assert vm.command("losetup /mnt/x.img") == "loop0\n"  # holds the file open
        out = vm.run("driver unbind 0000:00:05.0")
        assert "vfs: vdb removed: dropped the mount at /mnt (1 open file now fail with ENODEV)" \
            in out, out
        assert "No such device" in vm.command("blk read loop0 0")
        assert vm.command("ls /mnt") == "ls: /mnt: No such file or directory\n"
        assert vm.command("losetup -d loop0") == ""
        assert vm.command("echo still here > /still.txt") == ""
        assert vm.command("cat /still.txt") == "still here\n"
        assert vm.poweroff() == 0
    assert read_file(disk, "/still.txt") == b"still here\n"
    assert fsck(disk)[0] == 0


def test_power_cut_leaves_volume_dirty_and_next_boot_says_so(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        assert vm.command("echo before the cut > /cut.txt") == ""  # synced by echo
        vm.close()  # pulls the plug: no unmount, the dirty bit stays set
    status, report = fsck(disk)
    assert status != 0 and "dirty" in report.lower(), report
    with boot(disk) as vm:
        assert "vfs: vda1 was not cleanly unmounted last time" in vm.boot_log
        assert vm.command("cat /cut.txt") == "before the cut\n"
        assert vm.poweroff() == 0
    # A clean unmount clears the dirty bit again.  A cut that fell inside one of the log file's
    # periodic appends (likely on a slow, loaded host) may also leave what docs/FAT.md allows a
    # cut to leave (lost clusters, a chain longer than its file), which fsck.fat reports too.
    status, report = fsck(disk)
    assert "dirty" not in report.lower(), report
    assert status == 0 or re.search(r"lost cluster|free cluster summary|File size|Reclaim|FATs differ|truncat",
                                    report, re.I), report


def test_hot_unplug_of_a_mounted_disk(tmp_path):
    """PCIe native hot-plug: a disk added to a root port is mounted and holds an open file
    (a loop device); device_del removes it: the mount is dropped, the open file fails with
    ENODEV, the root filesystem and QEMU's removal complete normally."""
    disk = default_disk(tmp_path)
    data = os.path.join(tmp_path, "data.img")
    subprocess.run(["truncate", "-s", "16M", data], check=True)
    subprocess.run(["mkfs.fat", "-F", "16", data], check=True, capture_output=True)
    drive0, device0 = virtio_drive(disk, 0)
    with RayOS(qmp=True, drives=[drive0, f"file={data},format=raw,if=none,id=hot"],
               devices=[device0, "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10"],
               extra=["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]) as vm:
        vm.qmp("device_add", driver="virtio-blk-pci", drive="hot", bus="rp1", id="hotdisk")
        vm.child.expect_exact("hot-plug: 1 functions added", timeout=30)
        assert vm.command("mount vdb /mnt") == ""
        assert vm.command("mkimage /mnt/guest.img 1M").startswith("mkimage: /mnt/guest.img: 1M")
        assert vm.command("losetup /mnt/guest.img") == "loop0\n"
        vm.qmp("device_del", id="hotdisk")
        vm.child.expect_exact("dropped the mount at /mnt (1 open file now fail with ENODEV)",
                              timeout=30)
        vm.child.expect_exact("hot-plug: slot powered off", timeout=30)
        assert vm.command("ls /mnt") == "ls: /mnt: No such file or directory\n"
        assert "No such device" in vm.command("blk read loop0 0")
        assert vm.command("echo after > /after.txt") == ""
        assert vm.poweroff() == 0
    assert read_file(disk, "/after.txt") == b"after\n"
    assert fsck(disk)[0] == 0
