"""virtio-blk over the virtio-mmio transport: version 2 (modern) and the legacy version 1 QEMU
gives by default.  On x86_64 on QEMU's microvm, with the devices named on the kernel command
line (microvm describes them only in its DSDT); on aarch64 on virt, whose device tree lists 32
transports.  Bytes checked on the host.

microvm puts the first -device on its last transport: slot 23 at 0xfeb02e00, GSI 47 (second
IOAPIC).  Its PIT-based TSC calibration comes out ~1000x slow, so kernel time runs fast; the
request timeout is raised so that no request times out in real terms."""
import re
import time

import pytest

from rayos_qemu import ARCH, MACHINE, RayOS
from storage_images import drive, xxd
from test_virtio_blk import MiB, make_image

SLOT = "512@0xfeb02e00:47"
EMPTY_SLOT = "512@0xfeb00000:24"

# Where each machine puts the first -device (its last transport), an empty transport, how the
# kernel learns of them, and what power-off leaves QEMU with.
if ARCH == "aarch64":
    MACHINE_NAME, COMMAND_LINE, POWEROFF_STATUS = MACHINE, "", 0
    USED = r"virtio_mmio@a003e00 \[platform\] virtio,mmio mem 0xa003e00-0xa003fff irq 79"
    EMPTY = r"virtio_mmio@a000000 \[platform\] virtio,mmio mem 0xa000000-0xa0001ff irq 48"
    TRANSPORT_NAME = "virtio_mmio@a003e00"
else:
    # microvm's ACPI is hardware-reduced (no PM1 control block): power-off falls back to the
    # debug-exit port with status 0, which QEMU turns into exit status 1.
    MACHINE_NAME, POWEROFF_STATUS = "microvm", 1
    COMMAND_LINE = f"virtio_mmio.device={SLOT},{EMPTY_SLOT},junk "
    USED = r"virtio-mmio0 \[platform\] virtio,mmio mem 0xfeb02e00-0xfeb02fff irq 47"
    EMPTY = r"virtio-mmio1 \[platform\] virtio,mmio mem 0xfeb00000-0xfeb001ff irq 24"
    TRANSPORT_NAME = "virtio-mmio0"


@pytest.mark.parametrize("legacy,transport", [("false", "mmio"), ("true", "mmio-legacy")])
def test_virtio_blk_over_mmio(tmp_path, legacy, transport):
    image = make_image(tmp_path / "a.img", 2 * MiB, [(5 * 512 + 32, b"host data over mmio")])
    with RayOS(machine=MACHINE_NAME, drives=[drive(image, "d0")],
               devices=["virtio-blk-device,drive=d0"],
               extra=["-global", f"virtio-mmio.force-legacy={legacy}", "-nic", "none"],
               cmdline=COMMAND_LINE) as vm:
        log = vm.boot_log
        assert re.search(rf"vda: virtio\d+ at {TRANSPORT_NAME}, {transport} transport", log), log
        # Kernel time keeps pace with the host's (microvm's clock is calibrated against PIT
        # channel 0; a floating port 0x61 once made it run a thousand times fast).
        before = float(re.search(r"\(([\d.]+) s\)", vm.run("uptime")).group(1))
        started = time.monotonic()
        time.sleep(1)
        after = float(re.search(r"\(([\d.]+) s\)", vm.run("uptime")).group(1))
        host = time.monotonic() - started
        assert 0.5 * host < after - before < 1.5 * host + 0.5, (before, after, host)
        if ARCH == "x86_64":
            assert 'ignoring virtio_mmio.device entry "junk" (want SIZE@BASE:LINE)' in log, log
        tree = vm.run("devices")
        assert re.search(rf"^  {USED} -> virtio-mmio\n"
                         rf"    virtio\d+ \[virtio\] virtio block \(type 2\), {transport} transport"
                         r" -> virtio-blk$", tree, re.M), tree
        # The empty slot (device ID 0) is left alone: no driver, no virtio device under it.
        assert re.search(rf"^  {EMPTY}$", tree, re.M), tree
        assert tree.count("[virtio]") == 1, tree
        assert vm.run("blk read vda 5") == xxd(image, 5 * 512, 512)
        assert "filled with 0x61" in vm.run("blk write vda 7 0x61")
        # The timeout path: reset, renegotiate, the queue programmed again.
        assert "blk reset: vda reset" in vm.run("blk reset vda")
        assert vm.run("blk read vda 6") == xxd(image, 6 * 512, 512)
        assert "filled with 0x62" in vm.run("blk write vda 8 0x62 3")
        info = vm.run("blk info vda")
        assert f"driver: virtio-blk {transport} transport, line, 1 queue of 256" in info, info
        assert info.rstrip().endswith("resets 1"), info
        interrupts = int(re.search(r"interrupts (\d+)", info).group(1))
        assert interrupts > 0, info
        assert vm.poweroff() == POWEROFF_STATUS
    assert image.read_bytes()[7 * 512:8 * 512] == b"\x61" * 512
    assert image.read_bytes()[8 * 512:11 * 512] == b"\x62" * (3 * 512)
