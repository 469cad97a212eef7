"""Booting RayOS from its own disks (make image, install) under SeaBIOS and OVMF, and looking
at those disks from the host with the tools a user has (sfdisk, fsck.fat)."""
import os
import shutil
import subprocess

from rayos_qemu import BUILD, RayOS

IMAGE = os.path.join(BUILD, "rayos.img")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
ESP_OFFSET = 2 * 1024 * 1024


def firmware_args(firmware, tmp_path):
    """QEMU arguments for SeaBIOS (QEMU's default) or OVMF with a private copy of its
    variable store."""
    if firmware == "bios":
        return []
    vars_copy = os.path.join(tmp_path, "OVMF_VARS.fd")
    shutil.copyfile(OVMF_VARS, vars_copy)
    return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]


def boot_from_disk(disk, firmware, tmp_path, extra_drives=(), extra_devices=(),
                   device="virtio-blk-pci", logical_block_size=512):
    """RayOS started by the firmware from disk alone: no -kernel, no -cdrom."""
    sizes = "" if logical_block_size == 512 else \
        f",logical_block_size={logical_block_size},physical_block_size={logical_block_size}"
    drives = [f"file={disk},format=raw,if=none,id=boot", *extra_drives]
    devices = [f"{device},drive=boot{sizes}", *extra_devices]
    return RayOS(drives=drives, devices=devices, firmware_boot=True, boot_timeout=240,
                 extra=firmware_args(firmware, tmp_path))


def part_uuid(disk, number=1, sector_size=512):
    out = subprocess.run(["sfdisk", "--part-uuid", disk, str(number)], capture_output=True,
                         text=True, env=dict(os.environ, LC_ALL="C"))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().lower()


def sfdisk_verify(disk):
    out = subprocess.run(["sfdisk", "--verify", disk], capture_output=True, text=True)
    return out.returncode, out.stdout + out.stderr


def esp_fsck(disk, tmp_path, offset=ESP_OFFSET, size=None):
    """fsck.fat -n on the ESP (a copy of its bytes); returns (status, output)."""
    part = os.path.join(tmp_path, "esp.part")
    with open(disk, "rb") as src, open(part, "wb") as dst:
        src.seek(offset)
        dst.write(src.read(size) if size else src.read())
    out = subprocess.run(["fsck.fat", "-n", part], capture_output=True, text=True)
    os.unlink(part)
    return out.returncode, out.stdout + out.stderr
