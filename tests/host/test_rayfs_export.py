"""Issue 14 item 1: no export path may hand out a short copy that looks complete.  A file whose
cluster chain does not cover its size (it ends early, runs into a free cluster, leaves the
volume, loops; or a size with no cluster at all) fails the same way on every path - `rayfs
cat` to a pipe and to a regular file (the copy_file_range extent path), `rayfs get` to a new
file and over an existing one - with "Structure needs cleaning", exit status 1 and nothing
written; `get` leaves no file (and an existing one untouched).  A chain longer than the size
(harmless, fsck.fat only trims it) exports exactly the size, as mtools does."""
import os
import struct
import subprocess
import time

import pytest

from fatutil import ENV, RAYFS, rayfs, run

CLUSTER = 2048


def make_image(tmp_path):
    image = str(tmp_path / "damaged.img")
    run("mkfs.fat", "-F", "16", "-s", str(CLUSTER // 512), "-C", image, "16384")
    data = bytes((i * 7) & 0xFF for i in range(3 * CLUSTER - 100))  # three clusters
    (tmp_path / "FILE.BIN").write_bytes(data)
    run("mcopy", "-i", image, tmp_path / "FILE.BIN", "::FILE.BIN")
    return image, data


def layout(image):
    with open(image, "rb") as f:
        boot = f.read(512)
    sector, _, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
    fat_sectors = struct.unpack_from("<H", boot, 22)[0]
    root = (reserved + fats * fat_sectors) * sector
    fat_starts = [(reserved + i * fat_sectors) * sector for i in range(fats)]
    return root, fat_starts


def set_fat(image, cluster, value):
    _, fat_starts = layout(image)
    with open(image, "r+b") as f:
        for start in fat_starts:
            f.seek(start + 2 * cluster)
            f.write(struct.pack("<H", value))


def entry_field(image, offset, fmt, value=None):
    root, _ = layout(image)
    with open(image, "r+b") as f:
        f.seek(root + offset)
        if value is None:
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
        f.write(struct.pack(fmt, value))


def damage(image, kind):
    first = entry_field(image, 26, "<H")
    if kind == "chain-ends-early":
        set_fat(image, first + 1, 0xFFFF)
    elif kind == "chain-into-free-cluster":
        set_fat(image, first + 1, 0)
    elif kind == "chain-leaves-the-volume":
        set_fat(image, first + 1, 0xFFF0)
    elif kind == "chain-loops":
        set_fat(image, first + 2, first)
    elif kind == "size-without-clusters":
        entry_field(image, 26, "<H", 0)
    elif kind == "chain-longer-than-size":
        entry_field(image, 28, "<I", 100)


BROKEN = ["chain-ends-early", "chain-into-free-cluster", "chain-leaves-the-volume",
          "chain-loops", "size-without-clusters"]


def export_paths(image, tmp_path):
    """(name, exit status, stderr, bytes written, local file left) for every export path."""
    results = []
    proc = subprocess.run([RAYFS, "cat", image, "/FILE.BIN"], capture_output=True, env=ENV)
    results.append(("cat to a pipe", proc.returncode, proc.stderr.decode(), proc.stdout))
    out_path = tmp_path / "redirected.bin"
    with open(out_path, "wb") as out:
        proc = subprocess.run([RAYFS, "cat", image, "/FILE.BIN"], stdout=out,
                              stderr=subprocess.PIPE, env=ENV)
    results.append(("cat to a file", proc.returncode, proc.stderr.decode(),
                    out_path.read_bytes()))
    fresh = tmp_path / "fresh.bin"
    proc = rayfs("get", image, "/FILE.BIN", fresh, check=False)
    results.append(("get to a new file", proc.returncode, proc.stderr.decode(),
                    fresh.read_bytes() if fresh.exists() else None))
    existing = tmp_path / "existing.bin"
    existing.write_bytes(b"keep me")
    proc = rayfs("get", image, "/FILE.BIN", existing, check=False)
    results.append(("get over a file", proc.returncode, proc.stderr.decode(),
                    existing.read_bytes()))
    leftovers = [n for n in os.listdir(tmp_path) if ".rayfs-" in n]
    assert leftovers == [], leftovers
    return results


@pytest.mark.parametrize("kind", BROKEN)
def test_every_export_path_fails_on_a_short_chain(tmp_path, kind):
    image, _ = make_image(tmp_path)
    damage(image, kind)
    for name, status, stderr, written in export_paths(image, tmp_path):
        assert status == 1, (name, stderr)
        assert stderr == "rayfs: /FILE.BIN: Structure needs cleaning\n", (name, stderr)
        if name == "get to a new file":
            assert written is None, name  # no partial file
        elif name == "get over a file":
            assert written == b"keep me", name  # the old file is untouched
        else:
            assert written == b"", name  # not a byte
    check = rayfs("check", image, check=False)
    assert check.returncode == 1


def test_a_chain_longer_than_the_size_exports_the_size(tmp_path):
    image, data = make_image(tmp_path)
    damage(image, "chain-longer-than-size")
    reference = run("mcopy", "-n", "-i", image, "::FILE.BIN", "-").stdout
    assert reference == data[:100]
    for name, status, stderr, written in export_paths(image, tmp_path):
        assert status == 0, (name, stderr)
        assert written == reference, name


def test_intact_file_exports_whole(tmp_path):
    image, data = make_image(tmp_path)
    for name, status, stderr, written in export_paths(image, tmp_path):
        assert (status, written) == (0, data), (name, stderr)
    # a device as the target is written in place (no temporary name beside /dev/null)
    assert rayfs("get", image, "/FILE.BIN", "/dev/null").returncode == 0


def test_pipe_output_keeps_the_image_locked_until_read(tmp_path):
    """`rayfs cat` into a pipe hands the reader the image's own pages (sendfile), so it keeps
    its shared lock until the reader has taken them: a writer (another rayfs, QEMU) cannot
    change the image under bytes still in the pipe.  A file larger than a pipe arrives whole
    and in order, and a reader that goes away early does not leave rayfs waiting."""
    image = str(tmp_path / "pipe.img")
    run("mkfs.fat", "-F", "32", "-C", image, str(64 * 1024))
    small = os.urandom(32 * 1024)  # fits in any pipe: rayfs is done writing at once
    big = os.urandom(5 * 1024 * 1024 + 123)
    for name, data in (("SMALL.BIN", small), ("BIG.BIN", big)):
        (tmp_path / name).write_bytes(data)
        rayfs("put", image, tmp_path / name, "/" + name)
    other = tmp_path / "other"
    other.write_bytes(b"other")
    reader = subprocess.Popen(f"sleep 2; cat > {tmp_path / 'got'}", shell=True,
                              stdin=subprocess.PIPE)
    cat = subprocess.Popen([RAYFS, "cat", image, "/SMALL.BIN"], stdout=reader.stdin, env=ENV)
    reader.stdin.close()
    time.sleep(0.5)
    p = rayfs("--wait", "0", "put", image, other, "/SMALL.BIN", check=False)
    assert p.returncode == 1 and b"in use by another rayfs" in p.stderr, p.stderr
    assert cat.wait(timeout=30) == 0 and reader.wait(timeout=30) == 0
    assert (tmp_path / "got").read_bytes() == small
    assert rayfs("--wait", "0", "put", image, other, "/SMALL.BIN").returncode == 0
    p = subprocess.run(f"{RAYFS} cat {image} /BIG.BIN | cat", shell=True, capture_output=True,
                       env=ENV, timeout=60)
    assert p.returncode == 0 and p.stdout == big
    p = subprocess.run(f"{RAYFS} cat {image} /BIG.BIN | head -c 1000", shell=True,
                       capture_output=True, env=ENV, timeout=60)
    assert p.stdout == big[:1000]
