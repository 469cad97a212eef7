"""Boot RayOS in QEMU and drive its serial shell (pexpect), for the system tests.

    with RayOS(machine="q35", drives=["file=disk.img,format=raw,if=none,id=d0"],
               devices=["virtio-blk-pci,drive=d0"]) as vm:
        out = vm.run("lsblk")
        status = vm.poweroff()

Everything runs under TCG unless RAYOS_ACCEL says otherwise, with -no-reboot and the
architecture's exit device (isa-debug-exit on x86_64), so a panic (with exit_on_panic, always
set here) ends QEMU with a non-zero status instead of hanging the test.  The emulator, default
machine, kernel file and fixed devices come from arch/$(ARCH)/arch.mk through make test
(RAYOS_QEMU, RAYOS_QEMU_MACHINE, RAYOS_KERNEL, RAYOS_QEMU_ARGS); the defaults are x86_64's.
"""
import json
import glob
import os
import re
import shlex
import socket
import tempfile
import time

import pexpect
import pytest

BUILD = os.environ.get("RAYOS_BUILD", "build")
# The architecture under test (make test's second pass sets aarch64); tests that need a PC
# (ISA devices, ACPI, IDE, q35's AHCI) mark themselves with x86_only.
ARCH = os.environ.get("RAYOS_ARCH", "x86_64")
x86_only = pytest.mark.skipif(ARCH != "x86_64", reason="needs a PC (x86_64)")
KERNEL = os.environ.get("RAYOS_KERNEL", os.path.join(BUILD, "rayos.elf"))
QEMU = os.environ.get("RAYOS_QEMU", "qemu-system-x86_64")
MACHINE = os.environ.get("RAYOS_QEMU_MACHINE", "q35")
ARCH_ARGS = shlex.split(os.environ.get("RAYOS_QEMU_ARGS",
                                       "-device isa-debug-exit,iobase=0xf4,iosize=0x04"))
# The machines a test that wants "a PCIe machine" (q35 on a PC) or "every machine" boots.
PCIE_MACHINE = "q35" if ARCH == "x86_64" else MACHINE
MACHINES = ["q35", "pc"] if ARCH == "x86_64" else [MACHINE]
PROMPT = "rayos> "
# What `cfg set` adds when it saves a key RayOS does not read (format with SECTION.KEY).
UNKNOWN_SETTING = "cfg: note: RayOS reads no setting {} (saved; each boot warns about it)\n"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOG_LINE = re.compile(r"^\[\s*\d+\.\d{6}\] ")


def cpio_archive(paths):
    """A newc cpio archive of the files (the format of Linux initramfs images), written once
    per set of files beside the first one, for loaders that take a single initrd."""
    out = os.path.join(os.path.dirname(paths[0]), "boot-modules.cpio")
    newest = max(os.path.getmtime(p) for p in paths)
    if os.path.exists(out) and os.path.getmtime(out) >= newest:
        return out
    data = bytearray()

    def entry(name, mode, body):
        encoded = name.encode() + b"\0"
        fields = [1, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(encoded), 0]
        data.extend(b"070701" + b"".join(b"%08x" % f for f in fields) + encoded)
        data.extend(b"\0" * (-len(data) % 4))
        data.extend(body)
        data.extend(b"\0" * (-len(data) % 4))

    for path in paths:
        with open(path, "rb") as f:
            entry(os.path.basename(path), 0o100644, f.read())
    entry("TRAILER!!!", 0, b"")
    tmp = out + f".{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    return out


class RayOSError(Exception):
    pass


class RayOS:
    def __init__(self, machine=MACHINE, mem="256M", drives=(), devices=(), cmdline="",
                 extra=(), kernel=None, qmp=False, boot_timeout=60, cdrom=None, bios=None,
                 smp=None, firmware_boot=False, boot_modules=True):
        self.qmp_path = None
        if machine == "q35":
            machine = PCIE_MACHINE  # the architecture's PCIe machine (virt on aarch64)
        # RAYOS_SMP runs the whole suite on more CPUs (tests/run.py does a second pass with 2);
        # a test that needs a count of its own passes smp.
        self.smp = int(smp or os.environ.get("RAYOS_SMP", "1"))
        args = ["-machine", machine, "-accel", os.environ.get("RAYOS_ACCEL", "tcg"),
                "-m", mem, "-smp", str(self.smp), "-display", "none", "-no-reboot",
                "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
                "-monitor", "none", *ARCH_ARGS]
        if cdrom:
            args += ["-cdrom", cdrom, "-boot", "d"]
        elif firmware_boot:
            pass  # the firmware boots from the disks given (an installed RayOS)
        else:
            args += ["-kernel", kernel or KERNEL,
                     "-append", ("exit_on_panic " + cmdline).strip()]
            # The drivers drivers.conf builds as modules come along as boot modules, as an
            # initramfs would bring them, unless a test wants them absent (autoloading).
            modules = sorted(glob.glob(os.path.join(os.path.dirname(KERNEL), "modules", "*.ko")))
            if boot_modules and modules and not kernel and ARCH != "x86_64":
                # Other boot loaders (QEMU's arm -initrd) load one file: a cpio archive.
                args += ["-initrd", cpio_archive(modules)]
            elif boot_modules and modules and not kernel:
                extra = list(extra)
                if "-initrd" in extra:  # the test's own boot modules, then the drivers
                    at = extra.index("-initrd") + 1
                    extra[at] = ",".join([extra[at]] + modules)
                else:
                    args += ["-initrd", ",".join(modules)]
        if bios:
            args += ["-bios", bios]
        for d in drives:
            args += ["-drive", d]
        for d in devices:
            args += ["-device", d]
        if qmp:
            self.qmp_dir = tempfile.mkdtemp(prefix="rayos-qmp-")
            self.qmp_path = os.path.join(self.qmp_dir, "qmp.sock")
            args += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        args += list(extra)
        self.args = args
        self.child = pexpect.spawn(QEMU, args, encoding="utf-8",
                                   codec_errors="replace", timeout=boot_timeout,
                                   dimensions=(200, 400))
        self.transcript = []
        self.child.logfile_read = _Recorder(self.transcript)
        self._qmp = None
        self.boot_log = self.expect_prompt(boot_timeout)

    # --- basic I/O -------------------------------------------------------------------------
    @property
    def output(self):
        """Everything QEMU printed so far (serial console), CRs removed."""
        return "".join(self.transcript).replace("\r", "")

    def expect_prompt(self, timeout=30):
        try:
            self.child.expect_exact(PROMPT, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            raise RayOSError(f"no prompt ({type(e).__name__}); output so far:\n"
                             f"{self.output[-3000:]}") from None
        return self.child.before.replace("\r", "")

    def send(self, text):
        self.child.send(text)

    def run(self, command, timeout=60):
        """Types command, waits for the next prompt and returns what the command printed."""
        self.child.send(command + "\r")
        try:
            self.child.expect_exact(command, timeout=timeout)  # the echo
        except (pexpect.TIMEOUT, pexpect.EOF):
            raise RayOSError(f"command {command!r} was not echoed; output:\n"
                             f"{self.output[-3000:]}") from None
        out = self.expect_prompt(timeout)
        if out.startswith("\n"):
            out = out[1:]
        return ANSI.sub("", out)

    def command(self, command, timeout=60):
        """Like run(), without the kernel log lines that interleave on the shared console."""
        out = self.run(command, timeout)
        return "".join(l for l in out.splitlines(True) if not LOG_LINE.match(l))

    def wait_exit(self, timeout=30):
        try:
            self.child.expect(pexpect.EOF, timeout=timeout)
        except pexpect.TIMEOUT:
            raise RayOSError(f"QEMU did not exit; output:\n{self.output[-3000:]}") from None
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -1

    def poweroff(self, timeout=30):
        self.child.send("poweroff\r")
        return self.wait_exit(timeout)

    def close(self):
        if self.child.isalive():
            self.child.terminate(force=True)
        if self._qmp:
            self._qmp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- QMP -------------------------------------------------------------------------------
    def qmp(self, command, **arguments):
        if not self.qmp_path:
            raise RayOSError("QEMU was started without qmp=True")
        if not self._qmp:
            self._qmp = QMP(self.qmp_path)
        return self._qmp.command(command, **arguments)

    def qmp_events(self):
        return self._qmp.events if self._qmp else []


class _Recorder:
    def __init__(self, sink):
        self.sink = sink

    def write(self, data):
        self.sink.append(data)

    def flush(self):
        pass


class QMP:
    """A minimal QMP client: greeting, capabilities, commands; events are kept."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.events = []
        self._read()  # greeting
        self.command("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RayOSError("QMP connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, **arguments):
        message = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RayOSError(f"QMP {name}: {reply['error']}")
            return reply.get("return")

    def wait_event(self, name, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                reply = self._read()
            except socket.timeout:
                break
            if "event" in reply:
                self.events.append(reply)
        raise RayOSError(f"no QMP event {name} within {timeout} s")

    def close(self):
        self.sock.close()
