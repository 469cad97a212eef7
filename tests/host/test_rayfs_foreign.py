"""rayfs on volumes as other systems make them, checked against mkfs.fat, fsck.fat and mtools:
FAT32 with few clusters, FSInfo with wrong signatures, 8.3 names RayOS would not write, long
names Linux would not make, and the POSIX meaning of ".", ".." and a trailing slash."""
import struct

import pytest

from fatutil import ENV, rayfs, run


def mkfs_fat(path, size_kib, *args):
    run("mkfs.fat", *args, "-C", path, size_kib)
    return str(path)


def mcopy_out(image, path):
    return run("mcopy", "-n", "-i", image, "::" + path, "-").stdout


def root_offset(image):
    with open(image, "rb") as f:
        boot = f.read(512)
    sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
    fat16 = struct.unpack_from("<H", boot, 22)[0]
    if fat16:
        return (reserved + fats * fat16) * sector
    fat32, root = struct.unpack_from("<I", boot, 36)[0], struct.unpack_from("<I", boot, 44)[0]
    return (reserved + fats * fat32 + (root - 2) * per_cluster) * sector


@pytest.mark.parametrize("cluster_sectors,clusters", [(8, 10216), (64, 1277)])
def test_fat32_with_few_clusters(tmp_path, cluster_sectors, clusters):
    """mkfs.fat -F 32 on a small device: FAT32 by its layout, whatever the cluster count, as
    Linux and fsck.fat take it (mtools 4.0.32 takes it for FAT16 and finds no root directory
    slots, so it is not the reference here)."""
    image = mkfs_fat(tmp_path / "small32.img", 40960, "-F", "32", "-s", cluster_sectors)
    df = rayfs("df", image).stdout.decode()
    assert "type: FAT32\n" in df and f"clusters: {clusters}\n" in df
    data = bytes(range(256)) * 300
    (tmp_path / "data.bin").write_bytes(data)
    rayfs("mkdir", image, "/Some Dir")
    rayfs("put", image, tmp_path / "data.bin", "/Some Dir/data.bin")
    assert rayfs("cat", image, "/Some Dir/data.bin").stdout == data
    fsck = run("fsck.fat", "-n", "-v", "-l", image, check=False)
    out = fsck.stdout.decode()
    assert fsck.returncode == 0, out
    assert "32 bit entries" in out and "checking file /some dir/data.bin" in out.lower()
    used = 1 + 1 + -(-len(data) // (cluster_sectors * 512))  # root, directory, file
    assert f"2 files, {used}/{clusters} clusters" in out
    assert rayfs("check", image).returncode == 0


def test_fat16_layout_with_too_many_clusters_is_refused(tmp_path):
    """A 16-bit FAT size with 65,525 clusters or more is inconsistent: refused."""
    image = mkfs_fat(tmp_path / "f16.img", 65536, "-F", "16", "-s", "4")
    with open(image, "r+b") as f:
        f.seek(13)
        f.write(b"\x01")  # one sector per cluster: ~130,000 clusters
        f.seek(22)
        f.write(struct.pack("<H", 600))  # a FAT large enough for them
    proc = rayfs("df", image, check=False)
    assert proc.returncode == 1
    assert "Structure needs cleaning" in proc.stderr.decode()


def test_fsinfo_with_bad_signatures_is_a_hint(tmp_path):
    image = mkfs_fat(tmp_path / "fsinfo.img", 40960, "-F", "32")
    with open(image, "r+b") as f:
        f.seek(512)
        f.write(b"\0" * 4)  # lead signature zeroed
        f.seek(512)
        fsinfo = f.read(512)
    df = rayfs("df", image)
    assert "free clusters:" in df.stdout.decode()
    assert "FSInfo" in df.stderr.decode()  # the mount warns
    check = rayfs("check", image)
    assert check.returncode == 0
    assert "warning: FSInfo sector 1 is not valid" in check.stdout.decode()
    (tmp_path / "f").write_bytes(b"hello")
    rayfs("put", image, tmp_path / "f", "/F")
    assert mcopy_out(image, "/F") == b"hello"
    with open(image, "rb") as f:
        f.seek(512)
        assert f.read(512) == fsinfo  # never written: it may not be FSInfo at all


def test_names_other_systems_wrote_open(tmp_path):
    """An 8.3 name with a character RayOS refuses for new names is listed and opens; a long
    name Linux would not make (an escape sequence, '/', '..') falls back to its 8.3 name."""
    image = mkfs_fat(tmp_path / "names.img", 8192)
    for name, text in (("A.TXT", b"first"), ("B.TXT", b"second"), ("C.TXT", b"third"),
                       ("D.TXT", b"fourth")):
        (tmp_path / name).write_bytes(text)
        run("mcopy", "-i", image, tmp_path / name, "::" + name)
    root = root_offset(image)
    with open(image, "r+b") as f:
        f.seek(root)
        f.write(b"N>ME4   BIN")  # A.TXT, renamed the way another system might
        f.seek(root + 32)
        f.write(b"A:B     TXT")
        # a long name with ESC [ 2 J for D.TXT's entry (slot 3 moves to 4, LFN at 3)
        f.seek(root + 3 * 32)
        entry = f.read(32)
        f.seek(root + 4 * 32)
        f.write(entry)
        short = entry[:11]
        checksum = 0
        for byte in short:
            checksum = (((checksum & 1) << 7) + (checksum >> 1) + byte) & 0xff
        units = [ord("x"), 0x1b, ord("["), ord("2"), ord("J"), 0] + [0xffff] * 7
        lfn = bytearray(32)
        lfn[0], lfn[11], lfn[13] = 0x41, 0x0f, checksum
        for unit, offset in zip(units, (1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30)):
            struct.pack_into("<H", lfn, offset, unit)
        f.seek(root + 3 * 32)
        f.write(bytes(lfn))
    listing = rayfs("ls", image, "/").stdout
    assert b"\x1b" not in listing
    assert listing.decode().split("\n")[:4] == ["N>ME4.BIN", "A:B.TXT", "C.TXT", "D.TXT"]
    assert rayfs("cat", image, "/N>ME4.BIN").stdout == b"first"
    assert rayfs("cat", image, "/n>me4.bin").stdout == b"first"
    assert rayfs("cat", image, "/A:B.TXT").stdout == mcopy_out(image, "/A:B.TXT") == b"second"
    assert rayfs("cat", image, "/D.TXT").stdout == b"fourth"
    stat = rayfs("stat", image, "/N>ME4.BIN").stdout.decode()
    assert "size: 5\n" in stat
    check = rayfs("check", image, check=False)
    assert check.returncode == 1
    out = check.stdout.decode()
    assert 'invalid 8.3 name "N>ME4   .BIN"' in out and 'invalid 8.3 name "A:B     .TXT"' in out
    # removing the fallback name removes its long-name slot too: fsck.fat finds no orphan
    rayfs("rm", image, "/D.TXT")
    rayfs("rm", image, "/N>ME4.BIN")
    rayfs("rm", image, "/A:B.TXT")
    fsck = run("fsck.fat", "-n", image, check=False)
    assert fsck.returncode == 0, fsck.stdout.decode()
    assert rayfs("ls", image, "/").stdout == b"C.TXT\n"


@pytest.mark.parametrize("command,expected", [
    (["rm", "/DIR/."], "Invalid argument"),
    (["rm", "/DIR/.."], "Directory not empty"),
    (["rm", "/"], "Device or resource busy"),
    (["rm", "/FILE/"], "Not a directory"),
    (["rm", "/FILE/.."], "Not a directory"),
    (["rm", "/NOPE/../FILE"], "No such file or directory"),
    (["mkdir", "/DIR/."], "File exists"),
    (["mkdir", "/DIR/SUB/.."], "File exists"),
    (["mv", "/DIR/.", "/X"], "Device or resource busy"),
    (["mv", "/FILE", "/DIR/."], "File exists"),
    (["mv", "/FILE/", "/X"], "Not a directory"),
    (["stat", "/FILE/"], "Not a directory"),
    (["cat", "/FILE/."], "Not a directory"),
    (["cat", "/DIR/SUB/.."], "Is a directory"),
])
def test_dot_and_slash_fail_like_posix(tmp_path, command, expected):
    """What rmdir(2), unlink(2), mkdir(2), rename(2) and open(2) say on Linux; the image is
    left as it was."""
    image = mkfs_fat(tmp_path / "paths.img", 8192)
    run("mmd", "-i", image, "::DIR", "::DIR/SUB")
    (tmp_path / "FILE").write_bytes(b"file")
    run("mcopy", "-i", image, tmp_path / "FILE", "::FILE")
    before = open(image, "rb").read()
    proc = rayfs(command[0], image, *command[1:], check=False)
    assert proc.returncode == 1
    assert proc.stderr.decode().endswith(f": {expected}\n"), proc.stderr.decode()
    assert open(image, "rb").read() == before


def test_dot_paths_that_work(tmp_path):
    image = mkfs_fat(tmp_path / "ok.img", 8192)
    run("mmd", "-i", image, "::DIR", "::DIR/SUB")
    (tmp_path / "f").write_bytes(b"data")
    rayfs("put", image, tmp_path / "f", "/DIR/SUB/../f")  # lands in /DIR
    assert mcopy_out(image, "/DIR/f") == b"data"
    assert rayfs("cat", image, "/DIR/./SUB/../f").stdout == b"data"
    rayfs("mkdir", image, "/NEW/")
    rayfs("mv", image, "/NEW/", "/DIR/NEWER/")
    assert rayfs("ls", image, "/DIR/SUB/..").stdout.decode().split() == ["SUB", "f", "NEWER"]
    rayfs("rm", image, "/DIR/NEWER/")
    assert run("fsck.fat", "-n", image, check=False).returncode == 0
    assert ENV["MTOOLS_SKIP_CHECK"] == "1"


def test_label_and_names_from_disk_are_escaped(tmp_path):
    """A volume label holding an escape sequence and a C1 control, and a long name holding a
    bidirectional override, reach the terminal escaped by `rayfs df`, `label` and `ls`."""
    image = mkfs_fat(tmp_path / "label.img", 8192, "-n", "PLAIN")
    (tmp_path / "f").write_bytes(b"x")
    rayfs("put", image, tmp_path / "f", "/evil\u202etxt.exe")
    root = root_offset(image)
    with open(image, "r+b") as f:
        f.seek(root)
        entry = f.read(32)
        assert entry[:11] == b"PLAIN      " and entry[11] == 0x08, entry
        f.seek(root)
        f.write(b"A\x1b[2J\x9bB   ")
    df = rayfs("df", image).stdout
    assert b"\nlabel: A\\x1b[2J\\xc2\\x9bB\n" in df, df
    assert rayfs("label", image).stdout == b"A\\x1b[2J\\xc2\\x9bB\n"
    listing = rayfs("ls", image, "/").stdout
    assert listing == b"evil\\xe2\\x80\\xaetxt.exe\n", listing
