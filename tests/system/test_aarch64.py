"""What only the aarch64 build has: entry at EL2 (QEMU's virt with virtualization=on, as most
firmware starts a kernel) dropping to EL1, secondary CPUs by PSCI, and the AHCI controller added
to virt (ich9-ahci) as the root disk's controller, its MSI through the GIC's ITS."""
import re

import pytest

from disk_images import default_disk, read_file
from rayos_qemu import ARCH, MACHINE, RayOS

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
        assert vm.command("cfg set test.arch aarch64") == ""
        assert vm.poweroff() == 0
    assert "arch = aarch64" in read_file(disk, "/BOOT/RAYOS.CFG").decode()
