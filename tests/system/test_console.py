"""Consoles are devices: the early console writes from the first line of boot, the uart16550
driver binds to the platform devices serial0 and serial1 and its consoles take over (the early
one without losing or repeating a line), every console gets the log and the shell's output,
and the shell reads every console."""
import os
import re
import socket
import time

from rayos_qemu import RayOS

LOG_LINE = re.compile(r"^\[\s*\d+\.\d{6}\] ")


def log_lines(text):
    return [l for l in text.splitlines() if LOG_LINE.match(l)]


def test_early_console_hand_over_loses_and_repeats_nothing():
    # loglevel=7: every line of the ring goes to the console, so the two must agree exactly.
    with RayOS(cmdline="loglevel=7") as vm:
        serial = log_lines(vm.boot_log)
        ring = log_lines(vm.run("dmesg"))
        assert serial == ring[:len(serial)], (serial, ring)
        assert "RayOS x86_64 booting" in serial[0]
        assert sum("console: ttyS0 on serial0 takes over from the early console com1-early" in l
                   for l in serial) == 1, serial
        # The lines after the hand-over come from the driver's console.
        at = next(i for i, l in enumerate(serial) if "takes over from the early console" in l)
        assert any("serial: ttyS0 at I/O 0x3f8 (irq 4) is a 16550A" in l for l in serial[at:])
        assert any("boot: ready in" in l for l in serial[at:])
        assert vm.poweroff() == 0


def test_console_is_a_bound_device_and_unbinding_brings_the_early_console_back():
    with RayOS(machine="pc") as vm:
        tree = vm.run("devices")
        assert re.search(r"^  serial0 \[platform\] uart16550 io 0x3f8-0x3ff irq 4 -> uart16550$",
                         tree, re.M), tree
        assert vm.run("consoles") == "console    device\nttyS0      serial0\n"
        out = vm.run("driver unbind serial0")
        assert "console: ttyS0 unregistered; the early console com1-early is back" in out, out
        # Output and (polled) input go on through the early console.
        assert vm.run("consoles") == "console    device\ncom1-early (early console)\n"
        assert vm.command("echo still here") == "still here\n"
        out = vm.run("driver bind serial0 uart16550")
        assert "console: ttyS0 on serial0 takes over from the early console com1-early" in out
        assert out.endswith("serial0 bound to uart16550\n"), out
        assert vm.run("consoles") == "console    device\nttyS0      serial0\n"
        assert vm.command("echo again") == "again\n"
        assert vm.poweroff() == 0


def test_second_uart_gets_the_log_and_its_input_reaches_the_shell(tmp_path):
    path = str(tmp_path / "ttyS1.sock")
    extra = ["-chardev", f"socket,id=com2,path={path},server=on,wait=off",
             "-serial", "chardev:com2"]
    with RayOS(extra=extra) as vm:
        assert "console: ttyS1 on serial1 registered" in vm.boot_log, vm.boot_log
        assert "serial: ttyS1 at I/O 0x2f8 (irq 3) is a 16550A" in vm.boot_log
        assert re.search(r"^  serial1 \[platform\] uart16550 io 0x2f8-0x2ff irq 3 -> uart16550$",
                         vm.run("devices"), re.M)
        assert vm.run("consoles") == \
            "console    device\nttyS0      serial0\nttyS1      serial1\n"
        with socket.socket(socket.AF_UNIX) as com2:
            com2.connect(path)
            com2.sendall(b"echo typed on ttyS1\r")
            # The line typed on ttyS1 runs, and its output reaches ttyS0 too.
            vm.child.expect(r"\ntyped on ttyS1\r", timeout=30)
            vm.expect_prompt()
            seen = b""
            com2.settimeout(10)
            deadline = time.monotonic() + 10
            while b"typed on ttyS1\r\n" not in seen and time.monotonic() < deadline:
                seen += com2.recv(4096)
            assert b"typed on ttyS1\r\n" in seen, seen
        assert vm.command("echo from ttyS0") == "from ttyS0\n"
        assert vm.poweroff() == 0
