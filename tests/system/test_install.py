"""`install DISK` in the shell: the boot disk layout written from the running system, every
refusal leaving the target byte for byte as it was, failing writes reported as failures, and
the end to end path: the ISO under OVMF installs to a blank disk, that disk alone boots under
OVMF and SeaBIOS with its root found by PARTUUID, and installs again from its own root."""
import hashlib
import os
import re
import shutil
import subprocess

from boot_disks import (ESP_OFFSET, boot_from_disk, esp_fsck, firmware_args, part_uuid,
                        sfdisk_verify)
from disk_images import default_disk
from rayos_qemu import BUILD, RayOS

MiB = 1024 * 1024
ISO = os.path.join(BUILD, "rayos.iso")
KERNEL = os.path.join(BUILD, "rayos.elf")
PAYLOAD = ",".join([KERNEL] + [os.path.join(BUILD, "grub", f)
                               for f in ("BOOTX64.EFI", "core.img", "boot.img")])


def blank(path, size=64 * MiB):
    with open(path, "wb") as f:
        f.truncate(size)
    return str(path)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def rayfs(*args):
    out = subprocess.run([os.path.join(BUILD, "rayfs"), *args], capture_output=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def check_installed(disk, tmp_path):
    status, report = sfdisk_verify(disk)
    assert status == 0 and "No errors detected" in report, report
    status, report = esp_fsck(disk, tmp_path)
    assert status == 0, report
    assert rayfs("cat", disk + "@1", "/BOOT/RAYOS.ELF") == open(KERNEL, "rb").read()
    cfg = rayfs("cat", disk + "@1", "/BOOT/RAYOS.CFG").decode()
    assert f"\nroot = PARTUUID={part_uuid(disk)}\n" in cfg, cfg
    # The driver modules and their index went along.
    for name in ("nvme.ko", "modules.alias"):
        with open(os.path.join(BUILD, "modules", name), "rb") as f:
            assert rayfs("cat", disk + "@1", "/BOOT/MODULES/" + name) == f.read(), name


def test_install_from_the_iso_then_the_disk_boots_alone_under_uefi_and_bios(tmp_path):
    target = blank(tmp_path / "target.img", 96 * MiB)
    again = blank(tmp_path / "again.img")
    with RayOS(cdrom=ISO, boot_timeout=240, extra=firmware_args("uefi", tmp_path),
               drives=[f"file={target},format=raw,if=none,id=t0"],
               devices=["virtio-blk-pci,drive=t0"]) as vm:
        modules = vm.command("ls -l /boot/modules")
        for name in ("rayos.elf", "BOOTX64.EFI", "core.img", "boot.img"):
            size = os.path.getsize(os.path.join(BUILD, "grub", name) if name != "rayos.elf"
                                   else KERNEL)
            assert re.search(rf"\s{size}\s.*\s{re.escape(name)}$", modules, re.M), modules
        out = vm.command("install vda", timeout=300)
        assert "install: /BOOT/RAYOS.ELF from /boot/modules/rayos.elf" in out, out
        # No configuration file on the (in-memory) root: the default file from the ISO.
        assert "install: /BOOT/RAYOS.CFG from /boot/modules/RAYOS.CFG" in out, out
        assert "install: /BOOT/MODULES: 3 files from /boot/modules" in out, out
        assert re.search(r"install: done in \d+\.\d{3} s; vda boots RayOS under UEFI and BIOS",
                         out), out
        uuid = re.search(r"PARTUUID ([0-9a-f-]{36})\)", out).group(1)
        assert uuid in vm.command("lsblk")
        assert vm.poweroff() == 0
    assert part_uuid(target) == uuid
    check_installed(target, tmp_path)
    cfg = rayfs("cat", target + "@1", "/BOOT/RAYOS.CFG").decode()
    assert cfg == open("rootfs/BOOT/RAYOS.CFG").read().replace(
        "[boot]\n", f"[boot]\nroot = PARTUUID={uuid}\n"), cfg

    with boot_from_disk(target, "uefi", tmp_path) as vm:
        assert f"root: root is vda1 (root=PARTUUID={uuid} on the command line)" in vm.boot_log
        assert vm.command("cfg set log.max_size 128K") == ""
        assert vm.poweroff() == 0
    # SeaBIOS, with a second blank disk: the installed system installs again from its own root.
    with boot_from_disk(target, "bios", tmp_path,
                        extra_drives=[f"file={again},format=raw,if=none,id=a0"],
                        extra_devices=["virtio-blk-pci,drive=a0"]) as vm:
        assert f"root: root is vda1 (root=PARTUUID={uuid} on the command line)" in vm.boot_log
        assert vm.command("cfg get log.max_size") == "128K\n"
        assert "boot module" not in vm.boot_log  # GRUB.CFG passes no modules
        out = vm.command("install vdb", timeout=300)
        assert "install: /BOOT/RAYOS.ELF from /BOOT/RAYOS.ELF" in out, out
        assert "install: /BOOT/RAYOS.CFG from the running configuration" in out, out
        assert "install: /BOOT/MODULES: 3 files from /BOOT/MODULES" in out, out
        assert "install: done" in out, out
        assert vm.poweroff() == 0
    check_installed(target, tmp_path)
    check_installed(again, tmp_path)
    assert part_uuid(again) != uuid
    assert "max_size = 128K" in rayfs("cat", again + "@1", "/BOOT/RAYOS.CFG").decode()


def tables(disk):
    """The first MiB and the backup GPT (last 33 sectors)."""
    with open(disk, "rb") as f:
        head = f.read(MiB)
        f.seek(-33 * 512, os.SEEK_END)
        return head + f.read()


def corrupt_gpt(disk):
    """Both GPT headers' CRCs broken: a damaged GPT, as the issue's bad-input case."""
    with open(disk, "r+b") as f:
        for offset in (512 + 16, os.path.getsize(disk) - 512 + 16):
            f.seek(offset)
            value = f.read(1)
            f.seek(offset)
            f.write(bytes([value[0] ^ 0xff]))


def test_refusals_leave_the_target_unchanged_and_other_targets(tmp_path):
    root = default_disk(str(tmp_path))
    small = blank(tmp_path / "small.img", 63 * MiB)
    mbr = blank(tmp_path / "mbr.img")
    subprocess.run(["sfdisk", "--quiet", mbr], input="label: dos\nstart=2048, type=c\n",
                   text=True, check=True, capture_output=True)
    fat = blank(tmp_path / "fat.img")
    subprocess.run(["mkfs.fat", "-F", "32", fat], check=True, capture_output=True)
    read_only = blank(tmp_path / "ro.img")
    damaged = blank(tmp_path / "damaged.img")
    subprocess.run(["sfdisk", "--quiet", damaged], input="label: gpt\nstart=2048, type=L\n",
                   text=True, check=True, capture_output=True)
    corrupt_gpt(damaged)
    failing = blank(tmp_path / "failing.img")
    config = tmp_path / "blkdebug.conf"
    # The ESP's first sector (2 MiB): writes there fail, after the tables are wiped.
    config.write_text('[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "4096"\n')
    nvme = blank(tmp_path / "nvme.img")
    ahci = blank(tmp_path / "ahci.img")
    untouched = {p: digest(p) for p in (small, mbr, fat, read_only, damaged)}
    # The running root changes (its log file): its partition tables must not.
    root_tables = tables(root)
    names = ["root", "small", "mbr", "fat", "ro", "damaged"]
    drives = [f"file={p},format=raw,if=none,id={n}{',readonly=on' if n == 'ro' else ''}"
              for p, n in zip([root, small, mbr, fat, read_only, damaged], names)]
    drives += [f"file=blkdebug:{config}:{failing},format=raw,if=none,id=failing",
               f"file={nvme},format=raw,if=none,id=nvme", f"file={ahci},format=raw,if=none,id=ahci"]
    replaced = blank(tmp_path / "replaced.img")  # an MBR disk whose partitions are registered
    subprocess.run(["sfdisk", "--quiet", replaced], input="label: dos\nstart=2048, type=c\n",
                   text=True, check=True, capture_output=True)
    drives.append(f"file={replaced},format=raw,if=none,id=replaced")
    devices = [f"virtio-blk-pci,drive={n}" for n in names + ["failing", "replaced"]]
    devices += ["nvme,drive=nvme,serial=inst", "ide-hd,drive=ahci,bus=ide.0"]
    with RayOS(drives=drives, devices=devices, extra=["-initrd", PAYLOAD]) as vm:
        refusals = {
            "install vda": "vda holds the running root (vda1 is mounted at /); nothing written",
            "install vda1": "vda1 is a partition; give the whole disk (vda); nothing written",
            "install vdb": "vdb is 63M; a RayOS disk needs at least 64 MiB; nothing written",
            "install vdc": "vdc holds an MBR partition table (install --force DISK overwrites "
                           "it); nothing written",
            "install vdd": "vdd holds a filesystem or boot sector (signature 55AA in block 0) "
                           "(install --force DISK overwrites it); nothing written",
            "install vde": "vde is read-only; nothing written",
            "install vdf": "vdf holds a damaged GPT partition table (install --force DISK "
                           "overwrites it); nothing written",
            "install nosuch": "no block device nosuch; nothing written",
        }
        for command, message in refusals.items():
            out = vm.command(command)
            assert f"install: {message}\n" == out, (command, out)
        assert vm.command("install") == "usage: install [--force] DISK\n"
        # Failing writes: said, and nothing claims success.
        out = vm.command("install vdg", timeout=300)
        assert re.search(r"install: FAILED while formatting the ESP: .*; vdg has no partition "
                         r"table and will not boot", out), out
        assert "install: done" not in out
        # --force over a disk whose old partitions are registered: they are replaced.
        assert re.search(r"^vdh1 .*W95 FAT32 \(LBA\)", vm.command("lsblk"), re.M)
        assert "install: done" in vm.command("install --force vdh", timeout=300)
        rows = vm.command("lsblk")
        assert re.search(r"^vdh1 .*EFI System", rows, re.M), rows
        assert re.search(r"^vdh2 .*BIOS boot", rows, re.M), rows
        # A damaged GPT is rewritten with --force; NVMe and AHCI targets.
        for disk in ("vdf", "nvme0n1", "sda"):
            out = vm.command(f"install --force {disk}", timeout=300)
            assert "install: done" in out, out
        assert vm.poweroff() == 0
    for path, before in untouched.items():
        if path != damaged:
            assert digest(path) == before, f"{path} changed"
    assert tables(root) == root_tables
    with open(failing, "rb") as f:
        assert f.read(512)[510:] != b"\x55\xaa"  # no protective MBR: clearly incomplete
    for disk in (damaged, nvme, ahci, replaced):
        check_installed(disk, tmp_path)


def test_missing_boot_files_are_named(tmp_path):
    root = default_disk(str(tmp_path))
    target = blank(tmp_path / "target.img")
    with RayOS(drives=[f"file={root},format=raw,if=none,id=r",
                       f"file={target},format=raw,if=none,id=t"],
               devices=["virtio-blk-pci,drive=r", "virtio-blk-pci,drive=t"]) as vm:
        out = vm.command("install vdb")
        for name, path in (("rayos.elf", "/BOOT/RAYOS.ELF"), ("BOOTX64.EFI",
                                                              "/EFI/BOOT/BOOTX64.EFI"),
                           ("core.img", "/BOOT/GRUB/CORE.IMG"),
                           ("boot.img", "/BOOT/GRUB/BOOT.IMG")):
            assert f"install: missing {name}: neither /boot/modules/{name} nor {path} exists" \
                in out, out
        assert "nothing written" in out
        assert vm.poweroff() == 0
    with open(target, "rb") as f:
        assert f.read() == bytes(64 * MiB)


def test_4096_byte_sector_target_boots_under_uefi(tmp_path):
    root = default_disk(str(tmp_path))
    target = blank(tmp_path / "4kn.img")
    sizes = "logical_block_size=4096,physical_block_size=4096"
    with RayOS(drives=[f"file={root},format=raw,if=none,id=r",
                       f"file={target},format=raw,if=none,id=t"],
               devices=["virtio-blk-pci,drive=r", f"virtio-blk-pci,drive=t,{sizes}"],
               extra=["-initrd", PAYLOAD]) as vm:
        out = vm.command("install vdb", timeout=300)
        assert "UEFI only (GRUB's BIOS boot sector needs 512-byte sectors)" in out, out
        assert "install: done" in out and "under UEFI\n" in out, out
        uuid = re.search(r"PARTUUID ([0-9a-f-]{36})\)", out).group(1)
        assert vm.poweroff() == 0
    listing = rayfs("--sector-size", "4096", "ls", target + "@1", "/BOOT").decode()
    assert "RAYOS.ELF" in listing and "GRUB" in listing, listing
    status, report = esp_fsck(target, tmp_path)
    assert status == 0, report
    with boot_from_disk(target, "uefi", tmp_path, logical_block_size=4096) as vm:
        assert f"root: root is vda1 (root=PARTUUID={uuid} on the command line)" in vm.boot_log
        assert re.search(r"vda\s+64M\s+4096\s+4096", vm.command("lsblk"))
        assert vm.poweroff() == 0
