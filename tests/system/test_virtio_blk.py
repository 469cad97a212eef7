"""VirtIO block under QEMU: modern and legacy transports at once, 4 KiB logical blocks, a
read-only disk, injected I/O errors (blkdebug); data checked byte for byte on the host."""
import re

import pytest

from rayos_qemu import MACHINES, RayOS
from storage_images import drive, lsblk_rows, xxd

MiB = 1024 * 1024


def make_image(path, size, pattern_blocks=()):
    """A disk image whose every 512-byte sector starts with its own number, plus extra text."""
    data = bytearray(size)
    for sector in range(size // 512):
        data[sector * 512:sector * 512 + 16] = f"sector {sector:08d}".encode().ljust(16, b".")
    for offset, text in pattern_blocks:
        data[offset:offset + len(text)] = text
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("machine", MACHINES)
def test_modern_and_legacy_disks_together(tmp_path, machine):
    modern = make_image(tmp_path / "modern.img", 8 * MiB, [(5 * 512 + 32, b"host data on the modern disk")])
    legacy = make_image(tmp_path / "legacy.img", 4 * MiB, [(3 * 512 + 40, b"legacy disk says hi")])
    with RayOS(machine=machine,
               drives=[drive(modern, "d0"), drive(legacy, "d1")],
               devices=["virtio-blk-pci,drive=d0,disable-legacy=on",
                        "virtio-blk-pci,drive=d1,disable-modern=on"]) as vm:
        log = vm.boot_log
        assert re.search(r"vda: .*modern transport", log), log
        assert re.search(r"vdb: .*legacy transport", log), log
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["vda"][1:7] == ["8M", "512", "512", "0", "disk", "virtio-blk"], rows
        assert rows["vdb"][1:7] == ["4M", "512", "512", "0", "disk", "virtio-blk"], rows
        # Data prepared on the host, read back exactly as xxd shows it.
        assert vm.run("blk read vda 5") == xxd(modern, 5 * 512, 512)
        assert vm.run("blk read vdb 3 2") == xxd(legacy, 3 * 512, 1024)
        # Writes on both transports, checked on the host after poweroff.
        out = vm.run("blk write vda 100 0xab 300")
        assert "300 blocks at 100 filled with 0xab" in out, out
        out = vm.run("blk write vdb 8191 7")
        assert "1 blocks at 8191 filled with 0x07" in out, out
        # Past the end: refused, nothing written.
        assert "(-22)" in vm.run("blk write vdb 8192 7")
        assert vm.poweroff() == 0
    data = modern.read_bytes()
    assert data[100 * 512:400 * 512] == b"\xab" * (300 * 512)
    assert data[99 * 512:99 * 512 + 16] == b"sector 00000099."
    assert data[400 * 512:400 * 512 + 16] == b"sector 00000400."
    data = legacy.read_bytes()
    assert data[8191 * 512:] == b"\x07" * 512
    assert data[8190 * 512:8190 * 512 + 16] == b"sector 00008190."


@pytest.mark.parametrize("machine", MACHINES)
def test_intx_when_msix_is_off(tmp_path, machine):
    """vectors=0 removes MSI-X: completions arrive by INTx through the IOAPIC, and the legacy
    device config sits at offset 20 instead of 24."""
    modern = make_image(tmp_path / "m.img", 2 * MiB)
    legacy = make_image(tmp_path / "l.img", 3 * MiB)
    with RayOS(machine=machine, drives=[drive(modern, "d0"), drive(legacy, "d1")],
               devices=["virtio-blk-pci,drive=d0,vectors=0,disable-legacy=on",
                        "virtio-blk-pci,drive=d1,vectors=0,disable-modern=on"]) as vm:
        assert vm.boot_log.count("INTx") >= 2, vm.boot_log
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["vda"][1] == "2M" and rows["vdb"][1] == "3M", rows
        assert vm.run("blk read vda 77 3") == xxd(modern, 77 * 512, 3 * 512)
        assert vm.run("blk read vdb 4000") == xxd(legacy, 4000 * 512, 512)
        assert "filled with 0xc3" in vm.run("blk write vdb 1 0xc3 64")
        for name in ("vda", "vdb"):
            info = vm.run(f"blk info {name}")
            assert re.search(r"driver: virtio-blk \w+ transport, INTx", info), info
            interrupts = int(re.search(r"interrupts (\d+)", info).group(1))
            assert interrupts >= 1, info  # completions arrived by interrupt, not by polling
        assert vm.poweroff() == 0
    assert legacy.read_bytes()[512:65 * 512] == b"\xc3" * (64 * 512)


@pytest.mark.parametrize("transport", ["disable-legacy=on", "disable-modern=on"])
def test_device_reset_and_recovery(tmp_path, transport):
    """The path a timed-out request takes: reset, renegotiate, reprogram vectors and queue."""
    image = make_image(tmp_path / "r.img", 2 * MiB)
    with RayOS(drives=[drive(image, "d0")], devices=[f"virtio-blk-pci,drive=d0,{transport}"]) as vm:
        assert "blk reset: vda reset" in vm.run("blk reset vda")
        assert "resetting the device" in vm.run("dmesg")
        assert vm.run("blk read vda 33") == xxd(image, 33 * 512, 512)
        assert "filled with 0x99" in vm.run("blk write vda 34 0x99 16")
        info = vm.run("blk info vda")
        assert re.search(r"MSI-X, .*interrupts [1-9]\d* \(0 off their queue's CPU\), resets 1$", info, re.M), info
        assert vm.poweroff() == 0
    assert image.read_bytes()[34 * 512:50 * 512] == b"\x99" * (16 * 512)


def test_unbind_removes_the_disk_and_bind_brings_it_back(tmp_path):
    first = make_image(tmp_path / "a.img", 2 * MiB)
    second = make_image(tmp_path / "b.img", 2 * MiB, [(0, b"second disk")])
    with RayOS(drives=[drive(first, "d0"), drive(second, "d1")],
               devices=["virtio-blk-pci,drive=d0,addr=5", "virtio-blk-pci,drive=d1,addr=6"]) as vm:
        assert sorted(lsblk_rows(vm.run("lsblk"))) == ["vda", "vdb"]
        vm.run("driver unbind 0000:00:05.0")
        assert "vda: removed" in vm.run("dmesg")
        assert sorted(lsblk_rows(vm.run("lsblk"))) == ["vdb"]
        assert vm.run("blk read vda 0") == "blk: no block device vda\n"
        assert vm.run("blk read vdb 0") == xxd(second, 0, 512)
        vm.run("driver bind 0000:00:05.0 virtio-pci")
        assert sorted(lsblk_rows(vm.run("lsblk"))) == ["vda", "vdb"]
        assert "filled with 0x61" in vm.run("blk write vda 5 0x61")
        assert vm.poweroff() == 0
    assert first.read_bytes()[5 * 512:6 * 512] == b"\x61" * 512


def test_request_timeout_resets_the_device_without_hanging(tmp_path):
    """QEMU throttled to one request per second against a 200 ms timeout: the partition-table
    read at probe times out, the device is reset, and the kernel and the other disk carry on."""
    slow = make_image(tmp_path / "slow.img", 2 * MiB)
    fast = make_image(tmp_path / "fast.img", 2 * MiB)
    with RayOS(cmdline="virtio_blk.timeout_ms=200",
               drives=[drive(slow, "d0", ",throttling.iops-total=1"), drive(fast, "d1")],
               devices=["virtio-blk-pci,drive=d0", "virtio-blk-pci,drive=d1"]) as vm:
        log = vm.boot_log
        assert "vda: request timed out after 200 ms, resetting the device" in log, log
        # Usually the partition-table read is the one that times out; on a loaded host the
        # throttle's budget may have refilled by then and a later boot-time read times out.
        assert ("vda: cannot read the partition table: -110" in log or
                "root: no FAT volume" in log), log
        assert vm.run("blk read vdb 12") == xxd(fast, 12 * 512, 512)
        # Whether this read beats the throttle or times out again, it returns.
        out = vm.run("blk read vda 5", timeout=30)
        # A boot-time timeout may still be logging when the command starts: drop log lines.
        data = "".join(line for line in out.splitlines(True) if not line.startswith("["))
        assert data == xxd(slow, 5 * 512, 512) or "Connection timed out (-110)" in out, out
        info = vm.run("blk info vda")
        assert re.search(r"resets [1-9]", info) and "failed" not in info.splitlines()[-1], info
        assert vm.poweroff() == 0


def test_write_zeroes_reach_the_device(tmp_path):
    image = make_image(tmp_path / "zero.img", 4 * MiB)
    with RayOS(drives=[drive(image, "d0")], devices=["virtio-blk-pci,drive=d0"]) as vm:
        out = vm.run("blk zero vda 20 3000")
        assert "blk zero: vda: 3000 blocks at 20" in out, out
        lines = vm.run("blk read vda 3019").splitlines()
        assert len(lines) == 32 and lines[0].startswith("00179600: 0000 0000"), lines
        assert all(line.endswith("  " + "." * 16) for line in lines), lines
        assert vm.poweroff() == 0
    data = image.read_bytes()
    assert data[20 * 512:3020 * 512] == bytes(3000 * 512)
    assert data[19 * 512:19 * 512 + 16] == b"sector 00000019."
    assert data[3020 * 512:3020 * 512 + 16] == b"sector 00003020."


def test_modern_only_device_behind_a_root_port(tmp_path):
    """Behind a PCIe root port QEMU makes virtio-blk modern-only (1af4:1042); a large 64-bit
    window reservation puts its 64-bit BAR (the VirtIO capabilities' BAR) above 4 GiB."""
    image = make_image(tmp_path / "rp.img", 4 * MiB, [(9 * 512, b"behind the root port")])
    with RayOS(drives=[drive(image, "d0")],
               devices=["pcie-root-port,id=rp1,bus=pcie.0,chassis=1,pref64-reserve=8G",
                        "virtio-blk-pci,drive=d0,bus=rp1"]) as vm:
        assert re.search(r"vda: virtio\d+ at 0000:01:00\.0, modern transport", vm.boot_log), \
            vm.boot_log
        bar = re.search(r"0000:01:00\.0 1af4:1042 .*m64:([0-9a-f]+)", vm.boot_log)
        assert bar and int(bar.group(1), 16) >= 4 << 30, vm.boot_log
        assert vm.run("blk read vda 9") == xxd(image, 9 * 512, 512)
        assert "filled with 0x42" in vm.run("blk write vda 8191 0x42")
        assert vm.poweroff() == 0
    assert image.read_bytes()[-512:] == b"\x42" * 512


def test_4k_logical_blocks_use_512_byte_sectors_in_requests(tmp_path):
    image = make_image(tmp_path / "4k.img", 4 * MiB)
    with RayOS(drives=[drive(image, "d0")],
               devices=["virtio-blk-pci,drive=d0,logical_block_size=4096,"
                        "physical_block_size=4096"]) as vm:
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["vda"][1:5] == ["4M", "4096", "4096", "0"], rows
        # Block 3 is bytes 12288.. (sector 24): a driver that put the block number in the
        # sector field would read sector 3 instead.
        assert vm.run("blk read vda 3") == xxd(image, 3 * 4096, 4096)
        assert "filled with 0x5a" in vm.run("blk write vda 2 0x5a")
        assert vm.poweroff() == 0
    data = image.read_bytes()
    assert data[2 * 4096:3 * 4096] == b"\x5a" * 4096
    assert data[1 * 4096:1 * 4096 + 16] == b"sector 00000008."
    assert data[3 * 4096:3 * 4096 + 16] == b"sector 00000024."


def test_read_only_disk_refuses_writes(tmp_path):
    image = make_image(tmp_path / "ro.img", 2 * MiB)
    before = image.read_bytes()
    with RayOS(drives=[drive(image, "d0", ",readonly=on")],
               devices=["virtio-blk-pci,drive=d0"]) as vm:
        rows = lsblk_rows(vm.run("lsblk"))
        assert rows["vda"][4] == "1", rows
        out = vm.run("blk write vda 0 0xff 4")
        assert "Read-only file system (-30)" in out, out
        assert vm.run("blk read vda 1") == xxd(image, 512, 512)
        assert vm.poweroff() == 0
    assert image.read_bytes() == before


def test_injected_io_errors_fail_only_that_request(tmp_path):
    bad = make_image(tmp_path / "bad.img", 2 * MiB)
    good = make_image(tmp_path / "good.img", 2 * MiB)
    config = tmp_path / "blkdebug.conf"
    config.write_text('[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "1000"\n')
    with RayOS(drives=[f"file=blkdebug:{config}:{bad},format=raw,if=none,id=d0,cache=none",
                       drive(good, "d1")],
               devices=["virtio-blk-pci,drive=d0", "virtio-blk-pci,drive=d1"]) as vm:
        out = vm.run("blk read vda 1000")
        assert "Input/output error (-5)" in out, out
        # The same disk still serves other blocks, and the other disk is untouched by it.
        assert vm.run("blk read vda 999") == xxd(bad, 999 * 512, 512)
        assert vm.run("blk read vdb 1000") == xxd(good, 1000 * 512, 512)
        assert "Input/output error (-5)" in vm.run("blk read vda 998 4")
        assert "filled with 0x11" in vm.run("blk write vda 1001 0x11")
        assert vm.poweroff() == 0
    assert bad.read_bytes()[1001 * 512:1002 * 512] == b"\x11" * 512


def test_fifty_unbind_bind_cycles_leak_nothing(tmp_path):
    """The managed driver shape: everything virtio-blk takes in probe (private data, transport,
    interrupts, queue memory, the disk) comes back on unbind, so `mem` reads the same after 50
    cycles as after the first."""
    image = make_image(tmp_path / "a.img", 2 * MiB)
    with RayOS(drives=[drive(image, "d0")], devices=["virtio-blk-pci,drive=d0,addr=5"]) as vm:
        def cycle():
            assert "unbound from virtio-pci" in vm.run("driver unbind 0000:00:05.0")
            assert "bound to virtio-pci" in vm.run("driver bind 0000:00:05.0 virtio-pci")
        cycle()  # anything allocated once, on first use, is allocated now
        before = vm.run("mem")
        for _ in range(50):
            cycle()
        after = vm.run("mem")
        assert re.search(r"heap: +\d+ bytes in \d+ allocations", before), before
        assert after == before
        assert sorted(lsblk_rows(vm.run("lsblk"))) == ["vda"]
        assert vm.run("blk read vda 3") == xxd(image, 3 * 512, 512)
        assert vm.poweroff() == 0
