"""Loadable modules under QEMU: NVMe and IDE built as modules (drivers.conf) come as boot
modules; lsmod, modinfo; autoload from /BOOT/MODULES on hot-plug; rmmod refused while a
namespace is mounted, then rmmod/insmod bringing the same data back; every kind of bad module
refused with its reason while the kernel keeps running; module functions in fault reports and
read-only module code."""
import os
import re
import shutil
import struct
import subprocess

import pytest

from rayos_qemu import BUILD, RayOS
from storage_images import drive, lsblk_rows, make_fat_image, mount_and_cat

MiB = 1024 * 1024
NVME_KO = os.path.join(BUILD, "modules", "nvme.ko")
RAYFS = os.path.join(BUILD, "rayfs")
TEXT = b"module test data\n" * 20


def default_disk_copy(tmp_path, extra_files=(), log_file=True):
    """A private copy of the default disk (it holds /BOOT/MODULES), with extra files put in.
    Tests comparing `mem` figures turn the log file off: its writes grow the block cache."""
    copy = tmp_path / "root.img"
    shutil.copyfile(os.path.join(BUILD, "disk.img"), copy)
    if not log_file:
        config = subprocess.run([RAYFS, "cat", f"{copy}@1", "/BOOT/RAYOS.CFG"], check=True,
                                capture_output=True).stdout
        assert b"\nfile = yes\n" in config
        (tmp_path / "RAYOS.CFG").write_bytes(config.replace(b"\nfile = yes\n", b"\nfile = no\n"))
        extra_files = [*extra_files, (tmp_path / "RAYOS.CFG", "/BOOT/RAYOS.CFG")]
    for local, path in extra_files:
        subprocess.run([RAYFS, "put", f"{copy}@1", str(local), path], check=True)
    return copy


def test_boot_modules_lsmod_and_modinfo(tmp_path):
    image = tmp_path / "n.img"
    image.write_bytes(bytes(16 * MiB))
    with RayOS(machine="q35", drives=[drive(image, "n0")],
               devices=["nvme,serial=mods,drive=n0"]) as vm:
        assert re.search(r"module: loaded nvme \S+ \(\d+ KiB\) from boot module \d", vm.boot_log)
        assert re.search(r"module: loaded ide \S+ \(\d+ KiB\) from boot module \d", vm.boot_log)
        rows = {line.split()[0]: line.split() for line in vm.run("lsmod").splitlines()[1:]}
        assert set(rows) == {"nvme", "ide"}, rows
        assert rows["nvme"][2:] == ["1", "live"]  # one controller bound
        assert rows["ide"][2:] == ["0", "live"]   # q35 has no IDE controller
        assert int(rows["nvme"][1]) > 4096
        info = vm.run("modinfo nvme")
        assert "name:      nvme\n" in info
        assert re.search(r"abi: +[0-9a-f]{16}\n", info)
        assert "alias:     pci:v*d*sv*sd*bc01sc08i02\n" in info
        assert "nvme0n1" in lsblk_rows(vm.run("lsblk"))
        assert vm.poweroff() == 0


def test_hotplug_autoloads_the_module(tmp_path):
    root = default_disk_copy(tmp_path)
    image = tmp_path / "hp.img"
    image.write_bytes(b"hot-plugged namespace".ljust(512, b".") + bytes(4 * MiB - 512))
    with RayOS(machine="q35", qmp=True, boot_modules=False,
               drives=[drive(root, "root"), drive(image, "hp0")],
               devices=["virtio-blk-pci,drive=root",
                        "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10"],
               extra=["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]) as vm:
        assert vm.run("lsmod").splitlines()[1:] == []
        vm.qmp("device_add", driver="nvme", drive="hp0", serial="hp", bus="rp1", id="n0")
        vm.child.expect(r"module: loading nvme for pci:v00001B36d00000010\S+", timeout=30)
        vm.child.expect_exact("module: loaded nvme", timeout=30)
        assert "nvme0n1" in lsblk_rows(vm.run("lsblk"))
        assert "hot-plugged name" in vm.run("blk read nvme0n1 0")
        assert vm.run("lsmod").splitlines()[1].split()[0] == "nvme"
        assert vm.poweroff() == 0


def test_rmmod_refused_while_mounted_then_unload_and_reload(tmp_path):
    root = default_disk_copy(tmp_path, log_file=False)
    fat = tmp_path / "f.img"
    make_fat_image(fat, 64 * MiB, "HELLO.TXT", TEXT)
    with RayOS(machine="q35", boot_modules=False,
               drives=[drive(root, "root"), drive(fat, "f0")],
               devices=["virtio-blk-pci,drive=root", "nvme,serial=fat,drive=f0"]) as vm:
        assert "module: loading nvme for pci:" in vm.boot_log  # autoloaded at boot
        assert mount_and_cat(vm, "nvme0n1p1", "/n", "HELLO.TXT") == TEXT.decode()
        out = vm.run("rmmod nvme")
        assert out == "rmmod: nvme: in use: nvme0n1p1 is mounted at /n\n", out
        assert vm.run("lsmod").splitlines()[1].split()[0] == "nvme"
        assert vm.run("cat /n/HELLO.TXT") == TEXT.decode()
        vm.run("umount /n")
        out = vm.run("rmmod nvme")
        assert "module: unloaded nvme" in out, out
        assert "nvme0n1" not in lsblk_rows(vm.run("lsblk"))
        assert vm.run("lsmod").splitlines()[1:] == []
        assert "module: loaded nvme" in vm.run("insmod /BOOT/MODULES/nvme.ko")
        assert "nvme0n1p1" in lsblk_rows(vm.run("lsblk"))
        assert mount_and_cat(vm, "nvme0n1p1", "/m", "HELLO.TXT") == TEXT.decode()
        vm.run("umount /m")
        # Unloading gives back everything loading took: code, data, the driver's resources.
        before = vm.run("mem")
        for _ in range(10):
            assert "module: unloaded nvme" in vm.run("rmmod nvme")
            assert "module: loaded nvme" in vm.run("insmod /BOOT/MODULES/nvme.ko")
        assert vm.run("mem") == before
        assert vm.poweroff() == 0


# ---- bad modules, made from nvme.ko by editing single fields ----

def elf_sections(data):
    shoff, = struct.unpack_from("<Q", data, 40)
    shnum, shstrndx = struct.unpack_from("<HH", data, 60)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(shnum)]
    names = headers[shstrndx]

    def name(h):
        start = names[4] + h[0]
        return data[start:data.index(b"\0", start)].decode()

    return {name(h): (shoff + 64 * i, h) for i, h in enumerate(headers)}


def edit(data, offset, fmt, value):
    data = bytearray(data)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def first_rela(data):
    return elf_sections(data)[".rela.text"][1][4]


def rename_string(data, section, old, new):
    assert len(old) == len(new)
    start = elf_sections(data)[section][1][4]
    size = elf_sections(data)[section][1][5]
    at = data.index(b"\0" + old + b"\0", start, start + size) + 1
    return data[:at] + new + data[at + len(old):]


def bad_modules(good):
    # Link-time faults are found after the name check: those copies are named nvmb, so the
    # loaded nvme does not stop them first.
    nvmb = good.replace(b"name=nvme\0", b"name=nvmb\0")
    symtab = elf_sections(good)[".symtab"][1]
    abi_at = good.index(b"abi=") + 4
    other_abi = good[:abi_at] + (b"0" if good[abi_at:abi_at + 1] != b"0" else b"1") + \
        good[abi_at + 1:]
    return {
        # name: (bytes, what the refusal must say)
        "short": (good[:40], r"truncated: 40 bytes, shorter than an ELF header"),
        "truncated": (good[:len(good) // 2], r"truncated: section headers .* lie outside the file"),
        "class32": (edit(good, 4, "<B", 1), r"wrong ELF class 1 \(not 64-bit\)"),
        "i386": (edit(good, 18, "<H", 3), r"built for ELF machine 3, this kernel runs machine 62"),
        "badshndx": (edit(good, symtab[4] + 24 * 2 + 6, "<H", 0x7000),
                     r"symbol \S+: section index 28672 out of range"),
        "badsym": (edit(nvmb, first_rela(nvmb) + 12, "<I", 0xFFFFFF),
                   r"nvmb: \.rela\.text: relocation at \d+: symbol index 16777215 out of range"),
        "outside": (edit(nvmb, first_rela(nvmb), "<Q", 0x7FFFFFFF),
                    r"nvmb: \.rela\.text: relocation at 2147483647 lies outside its section"),
        "gotpcrel": (edit(nvmb, first_rela(nvmb) + 8, "<I", 9),
                     r"nvmb: \.rela\.text: relocation at \d+: relocation type 9 \(R_X86_64_GOTPCREL\) "
                     r"not supported"),
        "unresolved": (rename_string(nvmb, ".strtab", b"kfree", b"kfrex"),
                       r"nvmb: unresolved symbol kfrex \(not exported"),
        "notexported": (rename_string(nvmb, ".strtab", b"kfree", b"panic"),
                        r"nvmb: unresolved symbol panic \(not exported"),
        "otherabi": (other_abi, r"nvme: built for kernel ABI [0-9a-f]{16}, this kernel's is"),
        "initfails": (good.replace(b"name=nvme\0", b"name=nvmf\0"),
                      r"nvmf: init nvme_init failed: File exists \(-17\)"),
    }


def test_bad_modules_are_refused_and_nothing_stays(tmp_path):
    good = open(NVME_KO, "rb").read()
    cases = bad_modules(good)
    files = []
    for name, (data, _) in cases.items():
        path = tmp_path / f"{name}.ko"
        path.write_bytes(data)
        files.append((path, f"/BOOT/{name}.ko"))
    root = default_disk_copy(tmp_path, files, log_file=False)
    (tmp_path / "n.img").write_bytes(bytes(MiB))
    with RayOS(machine="q35", drives=[drive(root, "root"), drive(tmp_path / "n.img", "n0")],
               devices=["virtio-blk-pci,drive=root", "nvme,serial=bad,drive=n0"]) as vm:
        modules_before = vm.run("lsmod")
        for name, (_, reason) in cases.items():
            out = vm.run(f"insmod /BOOT/{name}.ko")
            assert re.search(r"^insmod: .*" + reason, out, re.M), f"{name}: {out}"
        # Nothing half-loaded: a second round leaves every memory figure where the first did.
        memory_before = vm.run("mem")
        for name in cases:
            vm.run(f"insmod /BOOT/{name}.ko")
        assert vm.run("mem") == memory_before
        out = vm.run("insmod /BOOT/MODULES/nvme.ko")
        assert "insmod: nvme: a module of that name is already loaded" in out, out
        assert vm.run("lsmod") == modules_before
        assert "nvme0n1" in lsblk_rows(vm.run("lsblk"))  # the loaded nvme still works
        assert vm.run("insmod /BOOT/initfails.ko =x").endswith(
            "insmod: nvmf: options malformed (empty or with spaces)\n")
        assert vm.poweroff() == 0


@pytest.mark.parametrize("how,expect", [
    ("module-call", [r"CPU exception 14 \(page fault\)",
                     r"RIP: 0008:ffffffffc[0-9a-f]+ nvme_remove \[nvme\]\+0x",
                     r"#\d+ 0x[0-9a-f]+ cmd_crash\+"]),
    ("module-write", [r"CPU exception 14 \(page fault\)",
                      r"CR2: ffffffffc[0-9a-f]+ \(protection violation, write\)"]),
])
def test_fault_reports_name_module_functions_and_code_is_read_only(tmp_path, how, expect):
    image = tmp_path / "n.img"
    image.write_bytes(bytes(MiB))
    with RayOS(machine="q35", drives=[drive(image, "n0")],
               devices=["nvme,serial=crash,drive=n0"]) as vm:
        vm.send(f"crash {how} nvme_remove\r")
        status = vm.wait_exit()
        assert status not in (0, 1), f"exit status {status}"
        for pattern in expect:
            assert re.search(pattern, vm.output), f"{pattern!r} not in:\n{vm.output[-2000:]}"


def test_developer_loop_rmmod_insmod_from_a_hot_plugged_disk(tmp_path):
    """README's loop: the module rebuilt on the host is put onto a small FAT disk with rayfs,
    the disk is hot-plugged into the running machine, and rmmod/insmod switch to it."""
    root = default_disk_copy(tmp_path)
    mods = tmp_path / "mods.img"
    subprocess.run(["truncate", "-s", "4M", str(mods)], check=True)
    subprocess.run([RAYFS, "mkfs", str(mods)], check=True, capture_output=True)
    subprocess.run([RAYFS, "put", str(mods), NVME_KO, "/nvme.ko"], check=True)
    image = tmp_path / "n.img"
    image.write_bytes(b"developer loop".ljust(512, b".") + bytes(MiB - 512))
    with RayOS(machine="q35", qmp=True, boot_modules=False,
               drives=[drive(root, "root"), drive(image, "n0")],
               devices=["virtio-blk-pci,drive=root", "nvme,serial=dev,drive=n0",
                        "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10"],
               extra=["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]) as vm:
        assert "from /BOOT/MODULES/nvme.ko" in vm.boot_log
        vm.qmp("human-monitor-command",
               **{"command-line": f"drive_add 0 if=none,id=m1,file={mods},format=raw"})
        vm.qmp("device_add", driver="virtio-blk-pci", drive="m1", bus="rp1", id="mods")
        vm.child.expect_exact("hot-plug: 1 functions added", timeout=30)
        vm.run("mkdir /m")
        assert "mounted vdb (fat)" in vm.run("mount vdb /m")
        assert "module: unloaded nvme" in vm.run("rmmod nvme")
        out = vm.run("insmod /m/nvme.ko")
        assert "module: loaded nvme" in out and "from /m/nvme.ko" in out, out
        assert "developer loop" in vm.run("blk read nvme0n1 0")
        assert vm.poweroff() == 0


def test_dependencies_load_first_and_hold_their_module(tmp_path):
    """modtest_user calls what modtest_lib exports: insmod of the user loads the library from
    /BOOT/MODULES first; the library cannot be removed while the user is loaded."""
    test_modules = os.path.join(BUILD, "test-modules")
    root = default_disk_copy(tmp_path, [
        (os.path.join(test_modules, f"{name}.ko"), f"/BOOT/MODULES/{name}.ko")
        for name in ("modtest_lib", "modtest_user")])
    with RayOS(machine="q35", boot_modules=False, drives=[drive(root, "root")],
               devices=["virtio-blk-pci,drive=root"]) as vm:
        out = vm.run("insmod /BOOT/MODULES/modtest_user.ko")
        assert out.index("modtest_lib: ready") < out.index("modtest_user: the answer is 42"), out
        rows = {line.split()[0]: line.split() for line in vm.run("lsmod").splitlines()[1:]}
        assert rows["modtest_lib"][2:] == ["1", "live"], rows
        assert "depends:   modtest_lib\n" in vm.run("modinfo modtest_user")
        assert vm.run("rmmod modtest_lib") == \
            "rmmod: modtest_lib: in use by module modtest_user\n"
        assert "module: unloaded modtest_user" in vm.run("rmmod modtest_user")
        out = vm.run("rmmod modtest_lib")
        assert "modtest_lib: gone" in out and "module: unloaded modtest_lib" in out, out
        assert vm.run("lsmod").splitlines()[1:] == []
        assert vm.poweroff() == 0


def test_insmod_options_reach_the_driver_while_it_is_loaded(tmp_path):
    """insmod nvme.ko queues=1 is the module's "nvme.queues=1" option: one I/O queue pair on two
    CPUs; unloaded and loaded again without it, the driver is back to one per CPU."""
    root = default_disk_copy(tmp_path)
    image = tmp_path / "n.img"
    image.write_bytes(bytes(MiB))
    with RayOS(machine="q35", smp=2, boot_modules=False,
               drives=[drive(root, "root"), drive(image, "n0")],
               devices=["virtio-blk-pci,drive=root", "nvme,serial=opt,drive=n0"]) as vm:
        assert re.search(r"nvme0: .* 2 queues of", vm.boot_log)
        vm.run("rmmod nvme")
        out = vm.run("insmod /BOOT/MODULES/nvme.ko queues=1")
        assert re.search(r"nvme0: .* 1 queue of", out), out
        vm.run("rmmod nvme")
        out = vm.run("insmod /BOOT/MODULES/nvme.ko")
        assert re.search(r"nvme0: .* 2 queues of", out), out
        assert vm.poweroff() == 0
