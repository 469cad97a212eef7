"""`rayfs check --repair` against dosfstools: a corpus of damaged images the test builds
(mkfs.fat and mtools, then one kind of damage per file: cross-links, chains into free
clusters, loops, chains out of the volume, sizes beyond and short of chains, a first cluster
outside the volume, lost clusters, FAT copies out of step, a wrong FSInfo count, the dirty
bits, broken long-name runs, a wrong '..', a bad and a duplicate 8.3 name) and dosfstools'
own damage cases.  After our repair fsck.fat -n must find nothing, every file that was intact
before must read back byte for byte, and the files and sizes must be what fsck.fat -a makes of
the same image."""
import os
import re
import struct

import pytest

from external import files, xxd_reverse
from fatutil import blank_image, rayfs, run

LAYOUTS = {12: (4, ["-F", "12"]), 16: (8, ["-F", "16", "-s", "2"]),
           32: (34, ["-F", "32", "-s", "1"])}


class Volume:
    """Just enough of the on-disk format to damage it on purpose."""

    def __init__(self, path):
        self.path = path
        self.raw = bytearray(path.read_bytes())
        b = self.raw
        self.sector = struct.unpack_from("<H", b, 11)[0]
        self.per_cluster = b[13]
        self.reserved = struct.unpack_from("<H", b, 14)[0]
        self.fats = b[16]
        root_entries = struct.unpack_from("<H", b, 17)[0]
        total = struct.unpack_from("<H", b, 19)[0] or struct.unpack_from("<I", b, 32)[0]
        fat_size = struct.unpack_from("<H", b, 22)[0] or struct.unpack_from("<I", b, 36)[0]
        self.fat_size = fat_size
        self.fat_start = self.reserved * self.sector
        self.root_start = self.fat_start + self.fats * fat_size * self.sector
        root_sectors = (root_entries * 32 + self.sector - 1) // self.sector
        self.data_start = self.root_start + root_sectors * self.sector
        self.clusters = (total - self.data_start // self.sector) // self.per_cluster
        self.type = 32 if struct.unpack_from("<H", b, 22)[0] == 0 else \
            (12 if self.clusters < 4085 else 16)

    def save(self):
        self.path.write_bytes(bytes(self.raw))

    def get(self, cluster, copy=0):
        base = self.fat_start + copy * self.fat_size * self.sector
        if self.type == 32:
            return struct.unpack_from("<I", self.raw, base + cluster * 4)[0] & 0x0FFFFFFF
        if self.type == 16:
            return struct.unpack_from("<H", self.raw, base + cluster * 2)[0]
        v = struct.unpack_from("<H", self.raw, base + cluster * 3 // 2)[0]
        return v >> 4 if cluster & 1 else v & 0xFFF

    def put(self, cluster, value, copies=None):
        for copy in copies if copies is not None else range(self.fats):
            base = self.fat_start + copy * self.fat_size * self.sector
            if self.type == 32:
                struct.pack_into("<I", self.raw, base + cluster * 4, value)
            elif self.type == 16:
                struct.pack_into("<H", self.raw, base + cluster * 2, value)
            else:
                at = base + cluster * 3 // 2
                v = struct.unpack_from("<H", self.raw, at)[0]
                v = (v & 0x000F) | (value << 4) if cluster & 1 else (v & 0xF000) | value
                struct.pack_into("<H", self.raw, at, v)

    def eoc(self):
        return {12: 0xFFF, 16: 0xFFFF, 32: 0x0FFFFFFF}[self.type]

    def chain(self, first):
        out = [first]
        while len(out) < 100000:
            v = self.get(out[-1])
            if v < 2 or v >= self.eoc() - 7:
                return out
            out.append(v)
        return out

    def entry(self, image_path):
        """Byte offset of a path's 8.3 entry (found by its first cluster and name)."""
        stat = rayfs("stat", self.path, image_path).stdout.decode()
        first = int(stat.split("cluster: ")[1].split()[0])
        return first, self.find_entry(first)

    def find_entry(self, first):
        for at in range(self.root_start, len(self.raw) - 32, 32):
            e = self.raw[at:at + 32]
            if e[0] in (0, 0xE5) or e[11] == 0x0F or e[0:2] == b". " or e[0:2] == b"..":
                continue
            cluster = struct.unpack_from("<H", e, 26)[0] | \
                (struct.unpack_from("<H", e, 20)[0] << 16 if self.type == 32 else 0)
            if cluster == first and e[11] & 0x18 != 0x08:
                return at
        raise AssertionError(f"no entry for cluster {first}")


def payload(i, size):
    return bytes((i * 7 + k * 13) % 251 for k in range(size))


FILES = {  # path -> size; every file but the damaged ones must survive unchanged
    "/keep one.txt": 3000, "/dir/keep two.bin": 9000, "/dir/sub/keep three.dat": 700,
    "/A.BIN": 5000, "/B.BIN": 5000, "/dir/free.bin": 6000, "/dir/loop.bin": 4000,
    "/range.bin": 4000, "/big size.txt": 1500, "/dir/small size.txt": 5000,
    "/badstart.bin": 2000, "/dir/sub/long name broken.txt": 100, "/orphan slots.txt": 50,
    "/dir/sub/deep.txt": 800,
}


def build(tmp_path, fat):
    image = tmp_path / f"fat{fat}.img"
    size, options = LAYOUTS[fat]
    blank_image(image, size)
    run("mkfs.fat", *options, image)
    run("mmd", "-i", image, "::/dir", "::/dir/sub", "::/dir/sub/wrongdots")
    local = tmp_path / "payload"
    for i, (path, size) in enumerate(FILES.items()):
        local.write_bytes(payload(i, size))
        run("mcopy", "-i", image, local, "::" + path)
    return image


def damage(image):
    """One kind of damage per file; returns the paths of the files left intact."""
    v = Volume(image)
    damaged = set()

    def hit(path):
        damaged.add(path)
        return v.entry(path)

    a, _ = hit("/A.BIN")
    b, _ = hit("/B.BIN")
    v.put(v.chain(b)[1], v.chain(a)[2])  # cross-link: B runs into A
    free, _ = hit("/dir/free.bin")
    spare = v.clusters  # the last cluster: free on these half-empty volumes
    assert v.get(spare) == 0
    v.put(v.chain(free)[1], spare)  # a chain into a free cluster
    loop, _ = hit("/dir/loop.bin")
    v.put(v.chain(loop)[-1], loop)  # a loop
    out, _ = hit("/range.bin")
    v.put(v.chain(out)[0], v.clusters + 5)  # a chain out of the volume
    _, at = hit("/big size.txt")
    struct.pack_into("<I", v.raw, at + 28, 60000)  # size beyond the chain
    _, at = hit("/dir/small size.txt")
    struct.pack_into("<I", v.raw, at + 28, 10)  # chain longer than the size
    _, at = hit("/badstart.bin")
    struct.pack_into("<H", v.raw, at + 26, 0xFFF0 if v.type != 12 else 0xFF0)  # first cluster
    if v.type == 32:
        struct.pack_into("<H", v.raw, at + 20, 0x0FFF)
    _, at = v.entry("/dir/sub/long name broken.txt")
    damaged.add("/dir/sub/long name broken.txt")  # it keeps only its 8.3 name
    v.raw[at - 32 + 13] ^= 0x55  # a long-name slot with a wrong checksum: an orphaned run
    _, at = v.entry("/orphan slots.txt")
    damaged.add("/orphan slots.txt")
    v.raw[at] = 0xE5  # the 8.3 entry deleted, its long-name slots left behind
    wrong, _ = v.entry("/dir/sub/wrongdots")
    dotdot = v.data_start + (wrong - 2) * v.per_cluster * v.sector + 32
    struct.pack_into("<H", v.raw, dotdot + 26, 0)  # '..' names the root, not /dir/sub
    for c in range(v.clusters - 20, v.clusters - 15):
        v.put(c, v.eoc())  # lost clusters
    v.put(v.clusters - 30, 0x123, copies=[1])  # the FAT copies out of step
    keep, _ = v.entry("/keep one.txt")
    root_dir = v.root_start if v.type != 32 else \
        v.data_start + (struct.unpack_from("<I", v.raw, 44)[0] - 2) * v.per_cluster * v.sector
    for at in range(root_dir, root_dir + 32 * 64, 32):  # a bad 8.3 name, a duplicate one
        if v.raw[at:at + 11] == b"A       BIN":
            v.raw[at:at + 11] = b"A>      BIN"
    if v.type == 32:
        struct.pack_into("<I", v.raw, v.sector + 488, 12345)  # FSInfo's free count
        v.raw[65] |= 1
    elif v.type == 16:
        v.raw[37] |= 1
    v.save()
    intact = [p for p in FILES if p not in damaged]
    assert keep and len(intact) >= 4
    return intact


def fsck_report(image):
    proc = run("fsck.fat", "-n", image, check=False)
    return proc.returncode, proc.stdout.decode() + proc.stderr.decode()


def listing(image):
    """Every file as (path, size), read with mtools."""
    out = run("mdir", "-/", "-a", "-b", "-i", image, "::/").stdout.decode(errors="replace")
    result = set()
    for line in out.splitlines():
        path = line.strip()
        if not path or path.endswith("/.") or path.endswith("/.."):
            continue
        info = run("mdir", "-i", image, path, check=False).stdout.decode(errors="replace")
        m = re.search(r"\s(\d+) \d{4}-\d\d-\d\d", info)
        if m and "<DIR>" not in info:
            result.add((path[2:], int(m.group(1))))
    return result


@pytest.mark.parametrize("fat", [12, 16, 32])
def test_repair_matches_fsck_and_keeps_intact_files(tmp_path, fat):
    image = build(tmp_path, fat)
    intact = damage(image)
    status, report = fsck_report(image)
    assert status == 1 and "share clusters" in report and "Circular" in report, report
    reference = tmp_path / "fsck.img"
    reference.write_bytes(image.read_bytes())
    run("fsck.fat", "-a", reference, check=False)
    proc = rayfs("check", "--repair", image, check=False)
    text = proc.stdout.decode()
    assert proc.returncode == 0, text + proc.stderr.decode()
    assert "fixed:" in text and " 0 errors" in text, text
    status, report = fsck_report(image)
    assert status == 0, report
    for i, (path, size) in enumerate(FILES.items()):
        if path in intact:
            got = rayfs("cat", image, path).stdout
            assert got == payload(i, size), path
    # fsck.fat -a saves lost chains as /FSCKnnnn.REC files; we free them
    ours = listing(image)
    theirs = {(p, n) for p, n in listing(reference) if not re.fullmatch(r"/FSCK\d{4}\.REC", p)}
    assert ours == theirs, (sorted(ours ^ theirs), text)
    # a second repair finds nothing left to do
    again = rayfs("check", "--repair", image).stdout.decode()
    assert again.startswith("0 repairs"), again


def dosfstools_cases():
    return [c for c in files("dosfstools-tests.tar.xz", r"check-.*\.fsck")
            if "huge" not in c]  # larger than its device: fsck.fat cannot repair it either


@pytest.mark.parametrize("case", dosfstools_cases(), ids=os.path.basename)
def test_repair_dosfstools_cases(case, tmp_path):
    image = xxd_reverse(case, tmp_path / "damaged.img")
    args_file = case[:-len(".fsck")] + ".args"
    args = open(args_file).read().split() if os.path.exists(args_file) else []
    assert fsck_report(image)[0] != 0 or args
    proc = rayfs("check", "--repair", image, check=False)
    text = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 0 and "fixed:" in text, text
    status, report = fsck_report(image)
    assert status == 0, report


def test_repair_of_a_clean_volume_writes_nothing(tmp_path):
    image = build(tmp_path, 16)
    before = image.read_bytes()
    out = rayfs("check", "--repair", image).stdout.decode()
    assert out.startswith("0 repairs"), out
    assert image.read_bytes() == before


def test_repair_of_duplicate_long_names(tmp_path):
    """Two entries with one long name (fsck.fat does not look; rayfs check does): the second
    keeps its unique 8.3 name, both contents stay."""
    image = tmp_path / "twins.img"
    blank_image(image, 8)
    run("mkfs.fat", "-F", "16", "-s", "2", image)
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(payload(1, 3000))
    second.write_bytes(payload(2, 5000))
    run("mcopy", "-i", image, first, "::/Twin Name A.txt")
    run("mcopy", "-i", image, second, "::/Twin Name B.txt")
    raw = bytearray(image.read_bytes())
    at = raw.find("Name B".encode("utf-16-le"))
    assert at > 0
    raw[at + 10] = ord("A")
    image.write_bytes(bytes(raw))
    assert "duplicate name" in rayfs("check", image, check=False).stdout.decode()
    proc = rayfs("check", "--repair", image, check=False)
    text = proc.stdout.decode()
    assert proc.returncode == 0 and "duplicate long name removed" in text, text
    assert fsck_report(image)[0] == 0
    assert rayfs("cat", image, "/Twin Name A.txt").stdout == payload(1, 3000)
    assert rayfs("cat", image, "/TWINNA~2.TXT").stdout == payload(2, 5000)
