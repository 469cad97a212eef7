"""Kernel base: boot, log format, shell editing, base commands, power, panics."""
import re
import time

import pytest

from rayos_qemu import ARCH, MACHINE, RayOS, RayOSError, x86_only

LOG_LINE = re.compile(r"^\[\s*\d+\.\d{6}\] [a-zA-Z0-9_-]+: .+$")


# The machines each architecture boots on, and what its clock and interrupt set-up log.
MACHINES = {"x86_64": ["q35", "pc"], "aarch64": [MACHINE]}[ARCH]
CLOCK = {"x86_64": r"time: TSC \d+\.\d{3} MHz",
         "aarch64": r"time: generic timer: \d+\.\d{3} MHz counter, tick on INTID 27"}[ARCH]
INTERRUPTS = {"x86_64": "irq: using LAPIC + IOAPIC",
              "aarch64": "gic: GICv3: distributor at 0x8000000"}[ARCH]


@pytest.mark.parametrize("machine", MACHINES)
def test_boot_log_and_poweroff(machine):
    with RayOS(machine=machine) as vm:
        log = vm.boot_log
        lines = [l for l in log.splitlines() if l.startswith("[")]
        assert len(lines) >= 8, log
        for line in lines:
            if f"RayOS {ARCH} booting" in line:
                continue
            assert LOG_LINE.match(line), f"bad log line: {line!r}"
        assert re.search(r"boot: ready in \d+\.\d{3} ms", log)
        assert "mm: " in log and "MiB usable" in log
        assert re.search(CLOCK, log), log
        assert INTERRUPTS in log, log
        assert vm.poweroff() == 0
        assert "power: powering off" in vm.output


def test_help_lists_base_commands_and_unknown_command():
    with RayOS() as vm:
        out = vm.run("help")
        for name in ["help", "dmesg", "mem", "uptime", "date", "reboot", "poweroff"]:
            assert re.search(rf"^{name}\s+\S", out, re.M), out
        assert vm.run("frobnicate now") == "unknown command: frobnicate (try 'help')\n"
        vm.poweroff()


def test_line_editing():
    with RayOS() as vm:
        # Backspace corrects a typo before Enter.
        vm.send("helq\x7fp\r")
        vm.expect_prompt()
        assert "dmesg" in vm.child.before
        # Ctrl-C drops the line: the command never runs.
        vm.send("poweroff\x03")
        vm.expect_prompt()
        # Ctrl-U erases what was typed.
        vm.send("poweroff\x15")
        out = vm.run("uptime")
        assert re.match(r"up \d+:\d\d:\d\d \(\d+\.\d{3} s\)", out), out
        # An over-long line is refused, and the shell still works afterwards.
        vm.send("x" * 1100 + "\r")
        out = vm.expect_prompt()
        assert "line too long" in out
        assert "unknown command" not in out
        assert vm.run("date").endswith("UTC\n")
        assert vm.poweroff() == 0


def test_mem_uptime_date_dmesg():
    with RayOS(mem="512M") as vm:
        mem = vm.run("mem")
        m = re.search(r"physical: (\d+) KiB total, (\d+) KiB free", mem)
        assert m, mem
        assert 500 * 1024 < int(m.group(1)) <= 512 * 1024
        assert re.search(r"heap: +\d+ bytes in \d+ allocations", mem)
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$", vm.run("date"))
        dmesg = vm.run("dmesg")
        assert "boot: ready in" in dmesg
        vm.poweroff()


@x86_only
def test_tsc_rate_is_refined_after_a_second():
    """Boot calibrates the TSC in three 250 us rounds; a second later the rate is measured again
    over that second and the clock switches to it (logged at debug level)."""
    with RayOS() as vm:
        boot = re.search(r"time: TSC (\d+\.\d{3}) MHz \(calibrated against HPET\)", vm.boot_log)
        assert boot, vm.boot_log
        refined = None
        for _ in range(50):
            refined = re.search(r"time: TSC (\d+\.\d{3}) MHz, refined over (\d+) ms "
                                r"\(boot estimate off by (\d+) ppm\)", vm.run("dmesg"))
            if refined:
                break
            time.sleep(0.2)
        assert refined, vm.run("dmesg")
        assert int(refined.group(2)) >= 1000
        boot_mhz, refined_mhz = float(boot.group(1)), float(refined.group(1))
        assert abs(refined_mhz - boot_mhz) <= boot_mhz / 50
        reported_ppm = int(refined.group(3))
        assert abs(reported_ppm - abs(refined_mhz - boot_mhz) / boot_mhz * 1e6) <= 2 + 1e6 * 0.001 / boot_mhz
        vm.poweroff()


def test_memory_above_4g_is_used():
    with RayOS(mem="5G") as vm:
        mem = vm.run("mem")
        total = int(re.search(r"physical: (\d+) KiB total", mem).group(1))
        assert total > 4 * 1024 * 1024, mem
        assert vm.poweroff() == 0


def test_reboot_resets_the_machine():
    with RayOS() as vm:
        vm.send("reboot\r")
        # -no-reboot turns the reset into an exit with status 0.
        assert vm.wait_exit() == 0
        assert "power: rebooting" in vm.output


# What each crash must report, per architecture.  AArch64 does not trap on an integer division
# by zero (docs/ARCHITECTURE.md).
CRASHES = {
    "x86_64": [
        ("pagefault", [r"CPU exception 14 \(page fault\)", r"CR2: 00000000dead0000",
                       r"RIP: 0008:ffffffff8[0-9a-f]+ cmd_crash\+0x",
                       r"#\d+ 0x[0-9a-f]+ shell_execute\+"]),
        ("divide", [r"CPU exception 0 \(divide error\)", r"RAX: [0-9a-f]{16}"]),
        ("stack-overflow", [r"kernel stack overflow in thread shell \(tid \d+\) on CPU \d+: "
                            r"32768-byte stack exhausted", r"CPU exception 8 \(double fault\)",
                            r"RIP: 0008:ffffffff8[0-9a-f]+ recurse\+0x"]),
    ],
    "aarch64": [
        ("pagefault", [r"CPU exception: synchronous, data abort \(ESR_EL1 0x9[0-9a-f]{7}\)",
                       r"FAR: 00000000dead0000 \(translation fault, (read|write)\)",
                       r"PC: ffffffff8[0-9a-f]+ cmd_crash\+0x",
                       r"#\d+ 0x[0-9a-f]+ shell_execute\+"]),
        ("stack-overflow", [r"kernel stack overflow in thread shell \(tid \d+\) on CPU \d+: "
                            r"32768-byte stack exhausted",
                            r"CPU exception: synchronous, data abort",
                            r"PC: ffffffff8[0-9a-f]+ recurse\+0x",
                            r"#\d+ 0x[0-9a-f]+ exception_on_overflow_stack\+"]),
    ],
}[ARCH] + [
    ("panic", [r"Kernel panic: crash command", r"on CPU \d+ in thread shell \(tid \d+\)",
               r"backtrace:"]),
    ("sleep-in-spinlock", [r"Kernel panic: sleeping while holding spinlock 'crash test'",
                           r"#\d+ 0x[0-9a-f]+ schedule\+"]),
    ("overrun", [r"Kernel panic: kfree: heap overrun past the 24 bytes"]),
    ("double-free", [r"Kernel panic: kfree: double free"]),
]


@pytest.mark.parametrize("how,expect", CRASHES)
def test_panic_report_and_exit_status(how, expect):
    with RayOS() as vm:
        vm.send(f"crash {how}\r")
        status = vm.wait_exit()
        assert status not in (0, 1), f"exit status {status}"
        for pattern in expect:
            assert re.search(pattern, vm.output), f"{pattern!r} not in:\n{vm.output[-2000:]}"
