"""Disk images for the AHCI, IDE and NVMe system tests: sector-numbered patterns, and an
MBR-partitioned disk whose partition holds a FAT32 volume with one file, made with the host's
sfdisk, mkfs.fat and mcopy."""
import subprocess

MiB = 1024 * 1024
PARTITION_START = 2048  # sectors of 512 bytes (1 MiB)


def make_image(path, size, sector_size=512, patches=()):
    """Every sector starts with its own number; patches are (offset, bytes)."""
    data = bytearray(size)
    for sector in range(size // sector_size):
        data[sector * sector_size:sector * sector_size + 16] = \
            f"sector {sector:08d}".encode().ljust(16, b".")
    for offset, text in patches:
        data[offset:offset + len(text)] = text
    path.write_bytes(bytes(data))
    return path


def make_fat_image(path, size, file_name, content, sector_size=512, extra_files=()):
    """One MBR partition from 1 MiB to the end holding a FAT volume (FAT32; with larger sectors the type mkfs.fat picks, as FAT32 would have too few clusters) (built apart with mkfs.fat
    and mcopy, then placed) with file_name holding content.  sfdisk writes the table for
    512-byte sectors; for larger ones (which this sfdisk cannot describe) the single entry is
    written here.  extra_files are (path, bytes) pairs put in directories made as needed.
    Returns (partition byte offset, byte offset of the file's data)."""
    start = PARTITION_START * 512 // sector_size
    offset = start * sector_size
    volume = path.parent / (path.name + ".fat")
    volume.unlink(missing_ok=True)
    kind = ["-F", "32", "-s", "1"] if sector_size == 512 else []
    subprocess.run(["mkfs.fat", *kind, "-S", str(sector_size), "-C", str(volume),
                    str((size - offset) // 1024)], check=True, capture_output=True)
    source = path.parent / file_name
    source.write_bytes(content)
    subprocess.run(["mcopy", "-i", str(volume), str(source), f"::{file_name}"],
                   check=True, capture_output=True)
    for index, (name, data) in enumerate(extra_files):
        if "/" in name:
            subprocess.run(["mmd", "-D", "s", "-i", str(volume), "::" + name.rsplit("/", 1)[0]],
                           check=True, capture_output=True)
        extra = path.parent / f"{path.name}.extra{index}"
        extra.write_bytes(data)
        subprocess.run(["mcopy", "-i", str(volume), str(extra), f"::{name}"], check=True,
                       capture_output=True)
    data = bytearray(size)
    data[offset:] = volume.read_bytes()
    if sector_size == 512:
        path.write_bytes(bytes(data))
        subprocess.run(["sfdisk", "--no-reread", "-q", str(path)],
                       input=f"label: dos\nstart={start}, type=c\n", text=True, check=True,
                       capture_output=True)
        data = bytearray(path.read_bytes())
    else:
        entry = bytearray(16)
        entry[4] = 0x0C
        entry[8:12] = start.to_bytes(4, "little")
        entry[12:16] = ((size - offset) // sector_size).to_bytes(4, "little")
        data[446:462] = entry
        data[510:512] = b"\x55\xaa"
    path.write_bytes(bytes(data))
    where = bytes(data).find(content, offset)
    assert where > offset
    return offset, where


def xxd(path, offset, length):
    return subprocess.run(["xxd", "-s", str(offset), "-l", str(length), str(path)],
                          check=True, capture_output=True, text=True).stdout


def lsblk_rows(out):
    rows = {}
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 7:
            rows[fields[0]] = fields
    return rows


def drive(path, name, extra=""):
    return f"file={path},format=raw,if=none,id={name},cache=none{extra}"


def mount_and_cat(vm, device, mount_point, file_name):
    """Mounts device at mount_point with the kernel's mount command and returns the file."""
    vm.run(f"mkdir {mount_point}")
    out = vm.run(f"mount {device} {mount_point}")
    assert f"mounted {device} (fat)" in out, out
    return vm.run(f"cat {mount_point}/{file_name}")
