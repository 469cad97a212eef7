"""What only the aarch64 build has: entry at EL2 (QEMU's virt with virtualization=on, as most
firmware starts a kernel) dropping to EL1, secondary CPUs by PSCI, and the AHCI controller added
to virt (ich9-ahci) as the root disk's controller, its MSI through the GIC's ITS; and the GICv2
that QEMU's virt has by default, MSIs through its GICv2m frame."""
import os
import re

import pytest

from disk_images import default_disk, read_file
from rayos_qemu import ARCH, MACHINE, UNKNOWN_SETTING, RayOS

pytestmark = pytest.mark.skipif(ARCH != "aarch64", reason="aarch64 only")


def test_el2_entry_ahci_root_and_psci_cpus(tmp_path):
    disk = default_disk(tmp_path)
    with RayOS(machine=MACHINE + ",virtualization=on", smp=2,
               drives=[f"file={disk},format=raw,if=none,id=s0"],
               devices=["ich9-ahci,id=ahci", "ide-hd,drive=s0,bus=ahci.0"],
               extra=["-nic", "none"]) as vm:
        log = vm.boot_log
        assert "RayOS aarch64 booting (EL1" in log, log
        assert re.search(r"ahci: 0000:00:0\d\.0: 1 disk, MSI completion", log), log
        assert "root: root is sda1" in log, log
        assert re.search(r"smp: 2 CPUs online", log), log
        cpus = vm.run("cpus")
        assert len(re.findall(r"^\s*1\s.*online", cpus, re.M)) == 1, cpus
        assert vm.command("cfg set test.arch aarch64") == UNKNOWN_SETTING.format("test.arch")
        assert vm.poweroff() == 0
    assert "arch = aarch64" in read_file(disk, "/BOOT/RAYOS.CFG").decode()


def test_gicv2_msis_through_v2m_on_two_cpus(tmp_path):
    """`-M virt` without gic-version: a GICv2 and a GICv2m frame.  Two CPUs come online (PSCI,
    then SGIs for the cross-CPU calls), virtio-blk's two queues get one MSI-X vector each, each
    routed to its queue's CPU, and a bench job on each CPU completes requests there."""
    image = tmp_path / "v2.img"
    data = os.urandom(4 * 1024 * 1024)
    image.write_bytes(data)
    with RayOS(machine="virt", smp=2, drives=[f"file={image},if=none,id=d0,format=raw"],
               devices=["virtio-blk-pci,drive=d0,num-queues=2"], extra=["-nic", "none"]) as vm:
        log = vm.boot_log
        assert re.search(r"gic: GICv2: distributor at 0x8000000, \d+ interrupt lines, MSIs "
                         r"through the GICv2m frame at 0x8020000 \(SPIs \d+-\d+\)", log), log
        assert "smp: 2 CPUs online" in log, log
        out = vm.command("blk bench vda 1 --jobs 2 --test randread-qd32", timeout=120)
        assert re.fullmatch(r"blk-bench: randread 4k qd32: \d+ IOPS\n", out), out
        info = vm.command("blk info vda")
        assert "MSI-X, 2 queues of" in info, info
        per_queue = [int(n) for n in re.findall(r"^hardware queue \d \(CPU \d\): (\d+) completed",
                                                  info, re.M)]
        assert len(per_queue) == 2 and min(per_queue) > 100, info
        assert re.search(r"interrupts [1-9]\d* \(0 off their queue's CPU\)", info), info
        out = vm.command("blk read vda 4097")
        assert bytes.fromhex("".join(line[10:49].replace(" ", "") for line in out.splitlines())) \
            == data[4097 * 512:4098 * 512], out
        assert vm.poweroff() == 0
