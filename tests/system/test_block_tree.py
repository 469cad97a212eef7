"""Block devices are nodes of the one device model: `devices` shows each disk under the
device whose driver registered it (a virtio device under its PCI function, an NVMe controller,
the AHCI controller), each partition under its disk, loop devices under "virtual"; hot-unplug takes a
disk and its partitions out of the tree with the function."""
import re
import subprocess

from disk_images import default_disk, virtio_drive
from rayos_qemu import RayOS
from storage_images import MiB, drive

# Two partitions: 4 MiB from 1 MiB, then the rest (11 MiB) of a 16 MiB disk.
TABLE = "label: dos\nstart=2048, size=8192, type=c\nstart=10240, type=83\n"


def two_partitions(path):
    subprocess.run(["truncate", "-s", str(16 * MiB), str(path)], check=True)
    subprocess.run(["sfdisk", "--no-reread", "-q", str(path)], input=TABLE, text=True,
                   check=True, capture_output=True)
    return path


def subtree(depth, controller, disk, driver):
    """The lines `devices` prints for a controller at depth with a two-partition disk under it."""
    pad = "  " * depth
    p = "p" if disk[-1].isdigit() else ""
    return (f"{pad}{controller}\n"
            f"{pad}  {disk} [block] disk, 16M, {driver}\n"
            f"{pad}    {disk}{p}1 [block] partition 1, 4M\n"
            f"{pad}    {disk}{p}2 [block] partition 2, 11M\n")


def test_disks_hang_under_their_controllers_and_partitions_under_their_disks(tmp_path):
    root = default_disk(tmp_path)
    root_drive, root_device = virtio_drive(root)
    nvme = two_partitions(tmp_path / "nvme.img")
    sata = two_partitions(tmp_path / "sata.img")
    with RayOS(machine="q35", drives=[root_drive, drive(nvme, "n0"), drive(sata, "s0")],
               devices=[root_device + ",addr=0x6", "nvme,serial=tree,drive=n0,addr=0x7",
                        "ide-hd,drive=s0,bus=ide.0"]) as vm:
        tree = vm.run("devices")
        # The root disk (GPT, one FAT partition) under its virtio device, under its function.
        assert re.search(r"^  0000:00:06\.0 \[pci\] 1af4:10(01|42) SCSI storage controller -> "
                         r"virtio-pci\n    virtio\d+ \[virtio\] virtio block \(type 2\), \w+ "
                         r"transport -> virtio-blk\n      vda \[block\] disk, \d+M, virtio-blk\n"
                         r"        vda1 \[block\] partition 1, \d+M\n", tree, re.M), tree
        assert subtree(1, "0000:00:07.0 [pci] 1b36:0010 Non-Volatile memory controller -> nvme",
                       "nvme0n1", "nvme") in tree, tree
        assert subtree(1, "0000:00:1f.2 [pci] 8086:2922 SATA controller -> ahci",
                       "sda", "ahci") in tree, tree
        # A loop device has no hardware: it hangs under "virtual", a root of its own.
        assert vm.command("mkimage /tree.img 1M").startswith("mkimage:")
        assert vm.command("losetup /tree.img") == "loop0\n"
        tree = vm.run("devices")
        assert "\nvirtual [virtual]\n  loop0 [block] disk, 1M, loop\n" in tree, tree
        # lsblk and blk info still see the same devices.
        assert re.search(r"^sda2 +11M +512 +512 +0 part ahci ", vm.run("lsblk"), re.M)
        assert "partition 2 of nvme0n1 from block 10240\n" in vm.run("blk info nvme0n1p2")
        assert vm.command("losetup -d loop0") == ""
        assert "loop0" not in vm.run("devices")
        assert vm.poweroff() == 0


def test_hot_unplug_takes_the_disk_and_its_partitions_out_of_the_tree(tmp_path):
    hot = two_partitions(tmp_path / "hot.img")
    with RayOS(machine="q35", qmp=True, drives=[drive(hot, "hot")],
               devices=["pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10"],
               extra=["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
                      "-nic", "none"]) as vm:
        vm.qmp("device_add", driver="virtio-blk-pci", drive="hot", bus="rp1", id="hotdisk")
        vm.child.expect_exact("hot-plug: 1 functions added", timeout=30)
        tree = vm.run("devices")
        function = "    0000:01:00.0 [pci] 1af4:1042 SCSI storage controller -> virtio-pci\n"
        assert re.search(re.escape(function) + r"      virtio\d+ \[virtio\] virtio block \(type 2\), "
                         r"modern transport -> virtio-blk\n" +
                         re.escape(subtree(3, "", "vda", "virtio-blk").split("\n", 1)[1]),
                         tree), tree
        vm.qmp("device_del", id="hotdisk")
        vm.child.expect_exact("hot-plug: slot powered off", timeout=30)
        tree = vm.run("devices")
        assert "0000:01:00.0" not in tree and "vda" not in tree, tree
        log = vm.run("dmesg")
        # Partitions go before their disk, and the disk before its function's driver.
        removed = [line for line in log.splitlines()
                   if re.search(r"blk: vda\d?: removed|(0000:01:00\.0|virtio\d+): unbound", line)]
        assert [re.sub(r"^.*?(blk|device): (virtio\d+)?", "", line) for line in removed] == \
            ["vda2: removed", "vda1: removed", "vda: removed", ": unbound from virtio-blk",
             "0000:01:00.0: unbound from virtio-pci"], removed
        assert vm.run("lsblk").count("\n") == 1  # the header only
        assert vm.poweroff() == 0
