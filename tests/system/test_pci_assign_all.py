"""pci=assign-all on q35: RayOS numbers the buses and assigns every BAR and bridge window itself
(drivers/pci/assign_all.c, the code aarch64's virt machine needs), over what SeaBIOS set up.
The functions must be the ones QEMU models, at the bus numbers and addresses RayOS gave them
(QEMU's own view through QMP), and the disks behind the root ports must read back known bytes."""
import re

from rayos_qemu import RayOS
from storage_images import MiB, drive, make_image, xxd
from test_pci import qemu_functions, rayos_functions

DEVICES = ["pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10",
           "nvme,serial=assign1,drive=n0,bus=rp1",
           "pcie-root-port,id=rp2,chassis=2,slot=2,bus=pcie.0,addr=0x11",
           "virtio-blk-pci,drive=v0,bus=rp2",
           "pcie-root-port,id=rp3,chassis=3,slot=3,bus=pcie.0,addr=0x12"]  # empty: hot-plug room


def qemu_bars(vm):
    """{(bus, slot, function): [(bar, type, address, size)]} and the bridges' bus numbers, as
    QEMU decodes them."""
    bars, buses = {}, {}

    def walk(devices):
        for d in devices:
            key = (d["bus"], d["slot"], d["function"])
            bars[key] = [(r["bar"], r["type"], r["address"], r["size"]) for r in d["regions"]]
            bridge = d.get("pci_bridge")
            if bridge:
                b = bridge["bus"]
                buses[key] = (b["number"], b["secondary"], b["subordinate"])
                walk(bridge.get("devices", []))

    for bus in vm.qmp("query-pci"):
        walk(bus["devices"])
    return bars, buses


def test_q35_assign_all_numbers_buses_and_assigns_bars(tmp_path):
    nvme = make_image(tmp_path / "n0.img", 16 * MiB, patches=[(9 * 512 + 8, b"assign-all nvme")])
    blk = make_image(tmp_path / "v0.img", 16 * MiB, patches=[(3 * 512 + 8, b"assign-all vblk")])
    with RayOS(machine="q35", qmp=True, drives=[drive(nvme, "n0"), drive(blk, "v0")],
               devices=DEVICES, cmdline="pci=assign-all") as vm:
        log = vm.boot_log
        window = re.search(r"pci=assign-all: I/O 0x1000-0xffff, memory 0x([0-9a-f]+)-0x"
                           r"([0-9a-f]+), buses 0-255", log)
        assert window, log
        low, high = int(window.group(1), 16), int(window.group(2), 16)
        summary = re.search(r"assigned (\d+) buses, (\d+) bridges, (\d+) BARs of (\d+) "
                            r"functions; 0 BARs and 0 bridges did not fit", log)
        assert summary, log
        assert summary.group(1, 2) == ("4", "3")
        # Every function QEMU models is listed, the disks behind the two ports on buses 1 and 2.
        expected = qemu_functions(vm)
        assert rayos_functions(vm.run("lspci -n")) == expected
        assert (1, 0, 0, 0x0108, 0x1b36, 0x0010) in expected
        assert (2, 0, 0, 0x0100, 0x1af4, 0x1042) in expected
        # QEMU decodes what RayOS wrote: bridges numbered depth first, every memory BAR in the
        # window RayOS chose, naturally aligned, and the same addresses RayOS logged (expansion
        # ROMs are not assigned: they stay off).
        bars, buses = qemu_bars(vm)
        checked = 0
        assert buses[(0, 0x10, 0)] == (0, 1, 1)
        assert buses[(0, 0x11, 0)] == (0, 2, 2)
        assert buses[(0, 0x12, 0)] == (0, 3, 3)
        for (bus, slot, function), regions in bars.items():
            for bar, kind, address, size in regions:
                if kind == "memory" and bar < 6:
                    assert low <= address and address + size - 1 <= high, (bus, slot, bar)
                    assert address % size == 0
                    assert re.search(rf"pci: 0000:{bus:02x}:{slot:02x}\.{function} .*"
                                     rf"bar{bar}=m(32|64):{address:x}\+{size:x}", log), (bus, bar)
                    checked += 1
        assert checked >= 10, bars
        # The disks work through the new windows.
        assert "namespace 1: 16 MiB, 512-byte blocks -> nvme0n1" in log, log
        assert vm.run("blk read nvme0n1 9") == xxd(nvme, 9 * 512, 512)
        assert vm.run("blk read vda 3") == xxd(blk, 3 * 512, 512)
        assert "problems found" not in log
        assert vm.poweroff() == 0
