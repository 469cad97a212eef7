"""Boot modules (Multiboot): every module the loader passes is a read-only file under
/boot/modules, byte for byte.  QEMU's -kernel loads Multiboot modules from -initrd; the
Multiboot 2 path (GRUB's module2) is covered by the installed-disk boots in test_install.py."""
import os
import re
import subprocess

from disk_images import default_disk, virtio_drive
from rayos_qemu import BUILD, RayOS


def test_modules_are_read_only_files_byte_for_byte(tmp_path):
    big = os.urandom(300_000 + 123)  # not a whole number of pages or sectors
    small = bytes(range(256)) * 3
    big_path = tmp_path / "payload.bin"
    small_path = tmp_path / "small.dat"
    big_path.write_bytes(big)
    small_path.write_bytes(small)
    disk = default_disk(str(tmp_path))
    drive, device = virtio_drive(disk)
    # The second module's command line names it (last word, after its last '/'), sanitised.
    initrd = f"{big_path},{small_path} some/dir/we*ird:name.txt"
    with RayOS(drives=[drive], devices=[device], extra=["-initrd", initrd]) as vm:
        listing = vm.command("ls -l /boot/modules")
        assert re.search(rf"payload\.bin\s.*{len(big)}|{len(big)}.*payload\.bin", listing), listing
        assert "we_ird_name.txt" in listing, listing
        # Small module: hexdump (xxd format) compared with the host's xxd.
        dump = vm.command("hexdump /boot/modules/we_ird_name.txt")
        expected = subprocess.run(["xxd", str(small_path)], capture_output=True,
                                  text=True).stdout
        assert dump.split() == expected.split(), dump[:400]
        # Read-only: writes, removal and creation are refused.
        assert "Read-only" in vm.command("rm /boot/modules/payload.bin")
        assert "Read-only" in vm.command("echo x > /boot/modules/new")
        # Big module: copied to the FAT disk, then compared on the host.
        vm.command("cp /boot/modules/payload.bin /PAYLOAD.BIN")
        assert vm.poweroff() == 0
    out = subprocess.run([os.path.join(BUILD, "rayfs"), "cat", disk + "@1", "/PAYLOAD.BIN"],
                         capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == big


def test_no_modules_no_directory(tmp_path):
    with RayOS(boot_modules=False) as vm:  # not even the driver modules
        assert "boot module" not in vm.boot_log
        out = vm.command("ls /boot/modules")
        assert "No such file" in out or "not found" in out.lower(), out
