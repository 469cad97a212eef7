"""Disk images for system tests, made with the same tools a user has (sfdisk, mtools, rayfs)."""
import os
import shutil
import subprocess

from rayos_qemu import BUILD

PARTITION_OFFSET = 1024 * 1024  # the default disk's FAT partition starts at 1 MiB


def default_disk(tmp_path, name="disk.img"):
    """A private copy of build/disk.img (GPT, FAT32 partition with /BOOT/RAYOS.CFG)."""
    path = os.path.join(tmp_path, name)
    shutil.copyfile(os.path.join(BUILD, "disk.img"), path)
    return path


def virtio_drive(path, index=0, extra=""):
    drive = f"file={path},format=raw,if=none,id=d{index}{extra}"
    return drive, f"virtio-blk-pci,drive=d{index}"


def mtools(*args, image):
    """Runs an mtools command on the image's first partition; returns stdout."""
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    result = subprocess.run([args[0], "-i", f"{image}@@{PARTITION_OFFSET}", *args[1:]],
                            capture_output=True, env=env)
    if result.returncode:
        raise AssertionError(f"{args} failed: {result.stderr.decode()}")
    return result.stdout


def read_file(image, path):
    return mtools("mtype", f"::{path}", image=image)


def fsck(image):
    """fsck.fat -n on the first partition; returns (exit status, output)."""
    part = image + ".part"
    with open(image, "rb") as src, open(part, "wb") as dst:
        src.seek(PARTITION_OFFSET)
        shutil.copyfileobj(src, dst)
    result = subprocess.run(["fsck.fat", "-n", part], capture_output=True, text=True)
    os.unlink(part)
    return result.returncode, result.stdout + result.stderr
