"""make image: build/rayos.img boots to the prompt under SeaBIOS and under OVMF from that disk
alone, with the root found by PARTUUID; the host's sfdisk accepts its GPT and fsck.fat its ESP;
cfg set on it survives a reboot through the other firmware."""
import os
import re
import shutil

import subprocess

from boot_disks import IMAGE, boot_from_disk, esp_fsck, part_uuid, sfdisk_verify
from rayos_qemu import BUILD, RayOS


def test_image_boots_under_both_firmwares(tmp_path, first="uefi", second="bios"):
    assert os.path.exists(IMAGE), "make image did not run"
    disk = str(tmp_path / "rayos.img")
    shutil.copyfile(IMAGE, disk)
    status, report = sfdisk_verify(disk)
    assert status == 0 and "No errors detected" in report, report
    uuid = part_uuid(disk)
    with boot_from_disk(disk, first, tmp_path) as vm:
        log = vm.boot_log
        assert re.search(r"boot: multiboot2 from GRUB", log), log[-3000:]
        assert f"root: root is vda1 (root=PARTUUID={uuid} on the command line)" in log, log[-3000:]
        assert "[boot] root" not in log  # the configuration names the same root: no switch
        assert vm.command("cfg get boot.root") == f"PARTUUID={uuid}\n"
        # The driver modules and their index are on the ESP, as on the default disk.
        listing = vm.command("ls /BOOT/MODULES")
        assert "modules.alias" in listing and "nvme.ko" in listing, listing
        assert vm.command(f"cfg set log.flush_seconds 3") == ""
        assert vm.poweroff() == 0
    status, report = esp_fsck(disk, tmp_path)
    assert status == 0, report
    for name in ("nvme.ko", "modules.alias"):
        with open(os.path.join(BUILD, "modules", name), "rb") as f:
            assert rayfs("cat", disk + "@1", "/BOOT/MODULES/" + name) == f.read(), name
    with boot_from_disk(disk, second, tmp_path) as vm:
        assert f"root is vda1 (root=PARTUUID={uuid}" in vm.boot_log
        assert vm.command("cfg get log.flush_seconds") == "3\n"
        assert vm.poweroff() == 0


def rayfs(*args):
    out = subprocess.run([os.path.join(BUILD, "rayfs"), *args], capture_output=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_two_rayos_disks_boot_the_root_their_loader_came_from(tmp_path):
    """SeaBIOS boots the second of two RayOS disks: GRUB from that disk, and RayOS, take their
    root by PARTUUID from it, not from the first disk.  Its GRUB.CFG is made to distrust the
    partition GRUB started from, so GRUB's search over every disk's partitions must find it."""
    first = str(tmp_path / "first.img")
    shutil.copyfile(IMAGE, first)
    second = str(tmp_path / "second.img")
    g = os.path.join(BUILD, "grub")
    rayfs("bootdisk", second, "--size", "64M", "--kernel", os.path.join(BUILD, "rayos.elf"),
          "--efi", f"{g}/BOOTX64.EFI", "--bios-core", f"{g}/core.img", "--bios-boot",
          f"{g}/boot.img", "--config", "rootfs/BOOT/RAYOS.CFG")
    uuid = part_uuid(second)
    assert uuid != part_uuid(first)
    grub_cfg = rayfs("cat", second + "@1", "/BOOT/GRUB/GRUB.CFG").decode()
    assert "\nprobe --set=found --part-uuid $root\n" in grub_cfg
    grub_cfg = grub_cfg.replace("\nprobe --set=found --part-uuid $root\n", "\nset found=\n")
    (tmp_path / "GRUB.CFG").write_text(grub_cfg)
    rayfs("put", second + "@1", str(tmp_path / "GRUB.CFG"), "/BOOT/GRUB/GRUB.CFG")
    with RayOS(drives=[f"file={first},format=raw,if=none,id=d0",
                       f"file={second},format=raw,if=none,id=d1"],
               devices=["virtio-blk-pci,drive=d0", "virtio-blk-pci,drive=d1,bootindex=0"],
               firmware_boot=True, boot_timeout=240) as vm:
        assert f"root: root is vdb1 (root=PARTUUID={uuid} on the command line)" in vm.boot_log, \
            vm.boot_log[-3000:]
        assert vm.poweroff() == 0
