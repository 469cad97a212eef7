"""rayfs bootdisk: a new bootable disk image (the layout of docs/INSTALL.md), checked with
sfdisk and fsck.fat; refusals leave no file behind and never touch an existing one."""
import os
import subprocess

from fatutil import rayfs, run, sha

BUILD = os.environ.get("RAYOS_BUILD", "build")
GRUB = os.path.join(BUILD, "grub")
FILES = ["--kernel", os.path.join(BUILD, "rayos.elf"), "--efi", f"{GRUB}/BOOTX64.EFI",
         "--config", "rootfs/BOOT/RAYOS.CFG"]
BIOS = ["--bios-core", f"{GRUB}/core.img", "--bios-boot", f"{GRUB}/boot.img"]


def test_512_byte_image_is_a_valid_gpt_with_a_clean_esp(tmp_path):
    image = tmp_path / "disk.img"
    out = rayfs("bootdisk", image, "--size", "80M", *FILES, *BIOS).stdout.decode()
    assert "BIOS boot partition" in out, out
    verify = run("sfdisk", "--verify", image).stdout.decode()
    assert "No errors detected" in verify, verify
    dump = run("sfdisk", "-d", image).stdout.decode()
    assert "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B" in dump
    assert "type=21686148-6449-6E6F-744E-656564454649" in dump
    part = tmp_path / "esp"
    with open(image, "rb") as src:
        src.seek(2 << 20)
        part.write_bytes(src.read(77 << 20))
    assert run("fsck.fat", "-n", part).returncode == 0
    assert "FAT32" in rayfs("df", f"{image}@1").stdout.decode()


def test_4096_byte_image_is_uefi_only(tmp_path):
    image = tmp_path / "4kn.img"
    out = rayfs("bootdisk", image, "--size", "64M", "--sector-size", "4096",
                *FILES).stdout.decode()
    assert "UEFI only" in out, out
    with open(image, "rb") as f:
        f.seek(4096)
        assert f.read(8) == b"EFI PART"
    ls = rayfs("--sector-size", "4096", "ls", f"{image}@1", "/EFI/BOOT").stdout.decode()
    assert "BOOTX64.EFI" in ls


def test_refusals(tmp_path):
    image = tmp_path / "disk.img"
    p = rayfs("bootdisk", image, "--size", "63M", *FILES, *BIOS, check=False)
    assert p.returncode == 1 and b"at least 64 MiB" in p.stderr
    assert not image.exists()
    bad_core = tmp_path / "core.img"
    bad_core.write_bytes(b"\x00" * 4096)
    p = rayfs("bootdisk", image, "--size", "64M", *FILES, "--bios-core", bad_core,
              "--bios-boot", f"{GRUB}/boot.img", check=False)
    assert p.returncode == 1 and b"not an i386-pc core image" in p.stderr, p.stderr
    assert not image.exists()
    image.write_bytes(b"keep me")
    before = sha(image)
    p = rayfs("bootdisk", image, "--size", "64M", *FILES, *BIOS, check=False)
    assert p.returncode == 1 and b"remove it first" in p.stderr
    assert sha(image) == before
