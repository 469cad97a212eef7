"""The shell's line editor on the serial console: UTF-8 is typed, edited and run as typed;
bytes that are not UTF-8 make the line refused instead of run without them."""
import os

from disk_images import default_disk, fsck, read_file, virtio_drive
from rayos_qemu import RayOS


def boot(disk):
    drive, device = virtio_drive(disk)
    return RayOS(drives=[drive], devices=[device])


def raw(vm, data):
    """Sends bytes as they are (pexpect would encode text as UTF-8) and returns the output."""
    os.write(vm.child.child_fd, data)
    return vm.expect_prompt()


def test_utf8_lines_run_as_typed_and_invalid_bytes_refuse_the_line(tmp_path):
    disk = default_disk(tmp_path)
    with boot(disk) as vm:
        assert vm.command("echo keep > /a") == ""
        assert vm.command("echo other > /aé") == ""
        listing = vm.command("ls /")
        assert "a\n" in listing and "aé\n" in listing, listing
        assert vm.command("rm /aé") == ""  # used to run "rm /a"
        assert vm.command("cat /a") == "keep\n"
        assert vm.command("cat /aé") == "cat: /aé: No such file or directory\n"
        assert vm.command("echo été > /f") == ""
        assert vm.command("cat /f") == "été\n"

        # Latin-1 é (one byte 0xe9): the line is refused, /a stays.
        out = raw(vm, b"rm /a\xe9\r")
        assert "line ignored: byte 0xe9 is not UTF-8 (the shell takes UTF-8 text)" in out, out
        assert vm.command("cat /a") == "keep\n"
        # A tab is not dropped silently either.
        out = raw(vm, b"rm /a\tb\r")
        assert "line ignored: it holds control character 0x09 (^I)" in out, out
        assert vm.command("cat /a") == "keep\n"

        # Backspace erases one character (two bytes here), not one byte.
        raw(vm, "echo xé\x7fy > /g\r".encode())
        assert vm.command("cat /g") == "xy\n"
        # ESC then Enter still runs the line.
        raw(vm, b"echo esc > /h\x1b\r")
        assert vm.command("cat /h") == "esc\n"
        # Over the limit, then back under it: the line runs.
        out = raw(vm, b"echo " + b"z" * 1100 + b"\x7f\r")
        assert "too long" not in out
        assert out.replace("\b \b", "").endswith("\n" + "z" * 1017 + "\n"), out[-80:]
        # A quote left open refuses the line: `rm "/a b` used to run as `rm "/a b"`.
        assert vm.command('echo spaced > "/a b"') == ""
        out = vm.command('rm "/a b')
        assert "unterminated quote: line not run" in out, out
        assert vm.command('cat "/a b"') == "spaced\n"
        assert vm.poweroff() == 0
    assert read_file(disk, "/a b") == b"spaced\n"
    assert read_file(disk, "/f") == "été\n".encode()
    assert read_file(disk, "/g") == b"xy\n"
    assert fsck(disk)[0] == 0
