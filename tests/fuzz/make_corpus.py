#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/NAME/ (committed; run again
only to change the seeds).  Disk seeds are real images made with mkfs.fat, build/rayfs (make
host-tools, or RAYFS=path) and sfdisk, stored in the sparse format of tests/fuzz/sparse_disk.h
(only the blocks that are not zero).  Images carry fresh volume ids and times, so the seeds
differ a little from run to run: commit them only when their content changes."""
import os
import shutil
import struct
import subprocess
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
RAYFS = os.environ.get("RAYFS", os.path.join(HERE, "..", "..", "build", "rayfs"))  # make host-tools


def sparse(image_bytes, block_size=512, flags=0):
    """The sparse encoding of an image: header, then one record per run of non-zero blocks."""
    blocks = len(image_bytes) // block_size
    out = bytearray([(1 if block_size == 4096 else 0) | flags]) + struct.pack("<I", blocks)
    lba = 0
    zero = bytes(block_size)
    while lba < blocks:
        if image_bytes[lba * block_size:(lba + 1) * block_size] == zero:
            lba += 1
            continue
        start = lba
        while (lba < blocks and lba - start < 256
               and image_bytes[lba * block_size:(lba + 1) * block_size] != zero):
            lba += 1
        out += struct.pack("<IH", start, lba - start)
        out += image_bytes[start * block_size:lba * block_size]
    return bytes(out)


def run(*args, stdin=None):
    subprocess.run([str(a) for a in args], check=True, input=stdin, capture_output=True)


def fat_image(tmp, name, size_kib, *mkfs_args, files=True):
    path = os.path.join(tmp, name)
    if os.path.exists(path):
        os.unlink(path)
    run("mkfs.fat", *mkfs_args, "-n", "SEED", "-C", path, size_kib)
    if files:
        small = os.path.join(tmp, "small")
        with open(small, "wb") as f:
            f.write(b"hello\n")
        data = os.path.join(tmp, "data")
        with open(data, "wb") as f:
            f.write(bytes(range(256)) * 12)
        for args in (["mkdir", path, "/Some Directory"],
                     ["mkdir", path, "/Some Directory/deeper"],
                     ["put", path, small, "/Some Directory/A long file name.txt"],
                     ["put", path, data, "/data.bin"],
                     ["put", path, small, "/Some Directory/deeper/x"]):
            run(RAYFS, *args)
    with open(path, "rb") as f:
        return f.read()


def partitioned(tmp, name, size_mib, script):
    """An MBR disk image made by sfdisk (512-byte sectors)."""
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    run("sfdisk", "--no-reread", "--no-tell-kernel", path, stdin=script.encode())
    with open(path, "rb") as f:
        return f.read()


def guid(text):
    import uuid
    return uuid.UUID(text).bytes_le


def gpt_disk(blocks, block_size, partitions):
    """A GPT disk image (protective MBR, both headers, 128 entries) of (first, last, type, name)."""
    image = bytearray(blocks * block_size)
    mbr = struct.pack("<8BII", 0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF, 1,
                      min(blocks - 1, 0xFFFFFFFF))
    image[446:446 + 16] = mbr
    image[510:512] = b"\x55\xaa"
    entries = bytearray(128 * 128)
    for i, (first, last, type_guid, name) in enumerate(partitions):
        entries[i * 128:i * 128 + 128] = (guid(type_guid) + bytes([i + 1] * 16)
                                          + struct.pack("<QQQ", first, last, 0)
                                          + name.encode("utf-16-le").ljust(72, b"\0"))
    entry_blocks = len(entries) // block_size
    for header_lba, alternate, entries_lba in ((1, blocks - 1, 2),
                                               (blocks - 1, 1, blocks - 1 - entry_blocks)):
        header = bytearray(struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0,
                                       header_lba, alternate, 2 + entry_blocks,
                                       blocks - 2 - entry_blocks, bytes(range(16)), entries_lba,
                                       128, 128, zlib.crc32(entries)))
        struct.pack_into("<I", header, 16, zlib.crc32(header))
        image[header_lba * block_size:header_lba * block_size + 92] = header
        image[entries_lba * block_size:entries_lba * block_size + len(entries)] = entries
    return bytes(image)


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def disk_seeds(tmp):
    fat = {
        "fat12": fat_image(tmp, "fat12.img", 200, "-F", "12"),
        # the smallest FAT16 (4085 clusters and up) and FAT32 by layout with few clusters, as
        # mkfs.fat -F 32 makes on small devices: a 65525-cluster FAT32 is ~20 times slower
        # to check and count, for the same code
        "fat16": fat_image(tmp, "fat16.img", 2200, "-F", "16", "-s", "1"),
        "fat32": fat_image(tmp, "fat32.img", 1024, "-F", "32", "-s", "1"),
        "fat32-4k": fat_image(tmp, "fat32k.img", 4096, "-F", "32", "-S", "4096", "-s", "1"),
    }
    for name, image in fat.items():
        write("fuzz_fat", name, sparse(image, 4096 if name.endswith("4k") else 512))
    write("fuzz_fat", "zeros", sparse(bytes(512 * 64)))
    # a partitioned disk whose first partition holds a FAT12 volume
    disk = bytearray(partitioned(tmp, "mbrfat.img", 4, "start=2048, type=0e\n"))
    volume = fat_image(tmp, "part.img", 1024, "-F", "12")
    disk[2048 * 512:2048 * 512 + len(volume)] = volume
    write("fuzz_fat", "mbr-fat12", sparse(bytes(disk)))

    write("fuzz_partition", "mbr", sparse(partitioned(
        tmp, "mbr.img", 8, "label: dos\nstart=2048, size=4096, type=c, bootable\n"
        "start=6144, type=83\n")))
    write("fuzz_partition", "mbr-extended", sparse(partitioned(
        tmp, "ext.img", 8, "label: dos\nstart=2048, size=2048, type=c\nstart=4096, type=5\n"
        "size=1024, type=83\nsize=1024, type=b\nsize=1024, type=7\n")))
    esp, data = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    gpt = gpt_disk(16384, 512, [(2048, 6143, esp, "EFI system"), (6144, 16000, data, "données")])
    write("fuzz_partition", "gpt", sparse(gpt, 512, 2))
    write("fuzz_partition", "gpt-4k", sparse(gpt_disk(2048, 4096, [(256, 767, data, "data")]),
                                             4096, 2))
    damaged = bytearray(gpt)  # the primary header's CRC is wrong: the backup must be used
    damaged[512 + 16] ^= 0xff
    write("fuzz_partition", "gpt-primary-damaged", sparse(bytes(damaged)))


def acpi_table(signature, body, revision=1):
    table = bytearray(signature + struct.pack("<IBB6s8sIII", 36 + len(body), revision, 0,
                                              b"RAYOS ", b"FUZZSEED", 1, 1, 1) + body)
    table[9] = (-sum(table)) & 0xff
    return bytes(table)


def aml_device(name, body):
    length = len(body) + 4 + 2  # name, two-byte PkgLength
    return b"\x5b\x82" + bytes([0x40 | (length & 0x0f), length >> 4]) + name + body


def text_seeds():
    cfg = (b"# RayOS configuration\n[boot]\nroot = vda1\n\n[log]\nlevel = info ; comment\n"
           b"file = \"/LOG/RAYOS LOG.TXT\"\nmax_size = 0x100K\nfiles = 3\n"
           b"[vm test]\nimage = /vm/test.img\nsize = 64M\nread_only = yes\n")
    for name, (section, key, value), text in (
            ("set-existing", (b"log", b"level", b"debug"), cfg),
            ("set-new-section", (b"vm other", b"memory", b"128M"), cfg),
            ("set-quoted", (b"boot", b"root", b"a \"b\" # c"), cfg),
            ("crlf-no-final-newline", (b"", b"top", b"1"), cfg.replace(b"\n", b"\r\n")[:-2]),
            ("nul-and-bad-lines", (b"log", b"files", b"4"),
             b"[log]\nfiles = 2\nbad line\n[broken\nkey\0= x\n= nokey\n"),
            ("regress-section-space", (b"vm ", b"level", b"x"), cfg)):
        spec = b"\0".join((section, key, value))
        write("fuzz_config", name, bytes([len(spec)]) + spec + text)

    madt = struct.pack("<II", 0xfee00000, 1)
    madt += struct.pack("<BBBBI", 0, 8, 0, 0, 1) + struct.pack("<BBBBI", 0, 8, 1, 1, 1)
    madt += struct.pack("<BBBBII", 1, 12, 0, 0, 0xfec00000, 0)
    madt += struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0)
    madt += struct.pack("<BBHIII", 9, 16, 0, 0x100, 1, 2)
    madt += struct.pack("<BBHQ", 5, 12, 0, 0xfee00000)
    write("fuzz_acpi", "madt", b"\0" + acpi_table(b"APIC", madt, 4))
    mcfg = bytes(8) + struct.pack("<QHBBI", 0xb0000000, 0, 0, 0xff, 0)
    mcfg += struct.pack("<QHBBI", 0xc0000000, 1, 0x10, 0x1f, 0)
    write("fuzz_acpi", "mcfg", b"\1" + acpi_table(b"MCFG", mcfg))
    fadt = bytearray(276 - 36)
    struct.pack_into("<I", fadt, 40 - 36, 0x1000)          # DSDT
    struct.pack_into("<IB", fadt, 48 - 36, 0xb2, 0xf1)     # SMI_CMD, ACPI_ENABLE
    struct.pack_into("<II", fadt, 64 - 36, 0x604, 0)       # PM1a/b_CNT_BLK
    struct.pack_into("<I", fadt, 112 - 36, 1 << 10)        # RESET_REG_SUP
    struct.pack_into("<BBBBQB", fadt, 116 - 36, 1, 8, 0, 1, 0xcf9, 6)
    struct.pack_into("<Q", fadt, 140 - 36, 0x2000)         # X_DSDT
    struct.pack_into("<BBBBQ", fadt, 172 - 36, 1, 16, 0, 2, 0x604)
    write("fuzz_acpi", "fadt", b"\2" + acpi_table(b"FACP", bytes(fadt), 6))
    s5 = b"\x10\x0a\\_SB_" + b"\x08_S5_\x12\x06\x04\x0a\x05\x0a\x05\x00\x00"
    write("fuzz_acpi", "s5", b"\3" + s5)
    hid = b"\x08_HID\x0c\x41\xd0\x0a\x08"
    bridge = aml_device(b"PCI0", hid + b"\x08_BBN\x0a\x40" + b"\x08_SEG\x01")
    write("fuzz_acpi", "pci-roots", b"\4" + bridge + aml_device(b"PCI1", hid))
    write("fuzz_acpi_pci_roots", "bridges", bridge + aml_device(b"PCI1", hid))

    def units(text):
        return text.encode("utf-16-le")
    for name, data in (("long-name", b"\0" + units("A long file name.txt")),
                       ("long-name-surrogates", b"\0" + units("caf\u00e9 \U0001f600.txt")),
                       ("long-name-dots", b"\0" + units("..")),
                       ("user-short", b"\1README.TXT"), ("user-lower", b"\1readme.txt"),
                       ("user-long", "\1Données de l'été.json".encode()),
                       ("regress-tilde-basis", b"\1\1~"), ("user-tilde", b"\1a~b c.txt"),
                       ("short-disk", b"\2README  TXT\x18"),
                       ("regress-dot-in-short", b"\2\x0a\xc0\x01\xb6\xb6\x01...\xc0\xb6\xb6."),
                       ("short-space", b"\2  X     TXT\0")):
        write("fuzz_fat_name", name, data)

    for i, path in enumerate((b"/", b"/d/e/../f.txt", b"//d///e/./", b"/d/f.txt/..",
                              "/d/e/\u00e9".encode(), b"/../../d", b"/Long Directory Name/.",
                              b"relative/path", b"/a\x01b")):
        write("fuzz_path", f"path{i}", path)

    for name, data in (("typed", "echo \u00e9t\u00e9\x7fx\r\nls /\r".encode()),
                       ("arrows-and-escape", b"ls\x1b[A\x1bOB\x1b\rcat /a\x15rm /b\r"),
                       ("ctrl-c", b"rm /important\x03ls\n"),
                       ("invalid-utf8", b"rm /a\xe9\rrm /a\xc3\r"),
                       ("too-long", b"echo " + b"z" * 1100 + b"\x7f\r")):
        write("fuzz_line_editor", name, data)

    for name, data in (("quotes", b"\x08echo \"a b\" c\"d e\"f\t\"\""),
                       ("open-quote", b"\x08rm \"/a b"), ("many-words", b"\x03a b c d e f"),
                       ("tabs", b"\x20\tcat\t/x\t")):
        write("fuzz_shell_tokenize", name, data)

    def loop_map(block_flag, device_blocks, extents, file_blocks, requests):
        out = bytes([block_flag | 2]) + struct.pack("<I", device_blocks) + bytes([len(extents)])
        for lba, count in extents:
            out += struct.pack("<IIH", lba, 0, count)
        out += struct.pack("<I", file_blocks)
        for lba, count in requests:
            out += struct.pack("<II", lba, count)
        return out
    write("fuzz_loop_map", "contiguous", loop_map(0, 100000, [(2048, 8192)], 8192,
                                                  [(0, 8), (8000, 191)]))
    write("fuzz_loop_map", "fragmented", loop_map(0, 100000, [(100, 4), (500, 8), (9000, 64)],
                                                  76, [(0, 76), (3, 2), (11, 40)]))
    write("fuzz_loop_map", "4k-slack", loop_map(1, 5000, [(10, 16), (4000, 16)], 20,
                                                [(15, 5), (0, 20)]))
    write("fuzz_loop_map", "outside-device", loop_map(0, 600, [(100, 4), (590, 20)], 24,
                                                      [(0, 24)]))


def pci_function(bus, slot, function, vendor, device, class_code, header=0, bars=(),
                 bridge_buses=None, capabilities=b""):
    """One record of fuzz_pci_scan: bus, devfn, header byte, then 256 bytes of config space."""
    config = bytearray(256)
    struct.pack_into("<HHHH", config, 0, vendor, device, 0x0007, 0x0010 if capabilities else 0)
    struct.pack_into("<I", config, 8, class_code << 8)
    config[0x0e] = header
    for i, bar in enumerate(bars):
        struct.pack_into("<I", config, 0x10 + 4 * i, bar)
    if bridge_buses:
        config[0x18:0x1b] = bytes(bridge_buses)
    if capabilities:
        config[0x34] = 0x80
        config[0x80:0x80 + len(capabilities)] = capabilities
    return bytes([bus, slot << 3 | function, header]) + bytes(config)


def pci_seeds():
    host = pci_function(0, 0, 0, 0x8086, 0x29c0, 0x060000)
    msix = bytes([0x11, 0x90, 0x03, 0x00, 0x01, 0, 0, 0, 0x01, 0x08, 0, 0])
    vendor = bytes([0x09, 0x00, 0x08, 0, 0, 0, 0, 0])
    disk = pci_function(0, 3, 0, 0x1af4, 0x1001, 0x010000, bars=(0xc001, 0xfebf0000),
                        capabilities=msix + bytes(4) + vendor)
    bridge = pci_function(0, 0x1c, 0, 0x8086, 0x2940, 0x060400, header=0x81,
                          bridge_buses=(0, 1, 1), capabilities=bytes([0x10, 0, 0x42, 0]))
    behind = pci_function(1, 0, 0, 0x1b36, 0x0010, 0x010802, bars=(0xfe800004, 0))
    write("fuzz_pci_scan", "q35-like", b"\0" + host + disk + bridge + behind)
    write("fuzz_pci_scan", "extended-space", b"\1" + host + disk)


def fdt_seeds(tmp):
    """QEMU's own aarch64 virt trees (needs qemu-system-aarch64), cut to their blocks."""
    import sys
    sys.path.insert(0, os.path.join(HERE, "..", "unit"))
    from gen_dtb_c import compact
    machines = {"virt-gicv3": ["-M", "virt,gic-version=3", "-cpu", "max"],
                "virt-gicv2-smp": ["-M", "virt,gic-version=2", "-cpu", "cortex-a57", "-smp", "2"],
                "virt-root-port": ["-M", "virt,gic-version=3", "-cpu", "max", "-device",
                                   "pcie-root-port,id=rp0", "-m", "1G"]}
    for name, args in machines.items():
        path = os.path.join(tmp, name + ".dtb")
        machine = args[1] + ",dumpdtb=" + path
        run("qemu-system-aarch64", *args[:1], machine, *args[2:], "-nographic")
        with open(path, "rb") as f:
            write("fuzz_fdt", name, compact(f.read()))


MODULES = os.environ.get("MODULES", os.path.join(HERE, "..", "..", "build", "modules"))  # make modules


def module_seeds():
    """Two real kernel modules (x86_64 build, `make modules`): ELF relocatable objects with
    the sections, symbols, relocations and .modinfo the loader reads."""
    for name in ("ide", "nvme"):
        with open(os.path.join(MODULES, name + ".ko"), "rb") as f:
            write("fuzz_module_elf", name + ".ko", f.read())


# The targets whose seeds this script writes; the others' seeds are minimised corpora of fuzzing
# runs (libFuzzer -merge=1, see docs/FUZZING.md), left alone here.
GENERATED = ("fuzz_fat", "fuzz_partition", "fuzz_config", "fuzz_acpi", "fuzz_fat_name",
             "fuzz_path", "fuzz_line_editor", "fuzz_shell_tokenize", "fuzz_loop_map",
             "fuzz_pci_scan", "fuzz_acpi_pci_roots", "fuzz_fdt", "fuzz_module_elf")


def main():
    for target in GENERATED:
        shutil.rmtree(os.path.join(CORPUS, target), ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        disk_seeds(tmp)
        fdt_seeds(tmp)
    text_seeds()
    pci_seeds()
    module_seeds()


if __name__ == "__main__":
    main()
