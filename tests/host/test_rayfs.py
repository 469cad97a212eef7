"""rayfs against independent implementations (dosfstools, mtools) and its error behaviour."""
import os
import subprocess

import pytest

from fatutil import (RAYFS, blank_image, fsck_clean, rayfs, run, sha, tree_spec,
                     write_local_tree)

FAT_CASES = [(12, 4, 512), (16, 32, 512), (32, 64, 512), (16, 32, 4096), (32, 300, 4096)]


def mtools_image(tmp_path, fat, size_mib, sector_size):
    image = tmp_path / f"m{fat}.img"
    blank_image(image, size_mib)
    args = ["mkfs.fat", "-F", fat, "-S", sector_size]
    if sector_size == 4096 or (fat == 32 and size_mib < 300):
        args += ["-s", "1"]
    run(*args, image)
    return image


@pytest.mark.parametrize("fat,size_mib,sector_size", FAT_CASES)
def test_reads_mtools_tree_exactly(tmp_path, fat, size_mib, sector_size):
    image = mtools_image(tmp_path, fat, size_mib, sector_size)
    dirs, files = tree_spec(fat + sector_size)
    local = tmp_path / "local"
    write_local_tree(local, dirs, files)
    for d in dirs:
        run("mmd", "-i", image, f"::/{d}")
    for path in files:
        run("mcopy", "-i", image, local / path, f"::/{path}")
    for path, data in files.items():
        assert rayfs("cat", image, "/" + path).stdout == data, path
        assert rayfs("cat", image, "/" + path.upper()).stdout == data, path
    listing = rayfs("ls", "-l", image, "/src/deep").stdout.decode().splitlines()
    expected = sorted([f"- {len(files['src/deep/' + n]):10d} {n}" for n in
                       (p.split("/")[-1] for p in files if p.startswith("src/deep/") and
                        p.count("/") == 2)] + [f"d {0:10d} er"])
    assert sorted(listing) == expected
    out = tmp_path / "got.bin"
    path, data = max(files.items(), key=lambda item: len(item[1]))
    rayfs("get", image, "/" + path, out)
    assert out.read_bytes() == data
    with open(out, "wb") as f:  # cat into a regular file takes the extent-copy path
        subprocess.run([RAYFS, "cat", str(image), "/" + path], stdout=f, check=True)
    assert out.read_bytes() == data


@pytest.mark.parametrize("fat,size_mib,sector_size", FAT_CASES)
def test_tree_written_by_rayfs_reads_back_in_mtools(tmp_path, fat, size_mib, sector_size):
    image = tmp_path / "r.img"
    blank_image(image, size_mib)
    rayfs("mkfs", image, "--fat", fat, "--sector-size", sector_size)
    assert fsck_clean(image)[0], fsck_clean(image)[1]
    dirs, files = tree_spec(fat * 3 + sector_size)
    local = tmp_path / "local"
    write_local_tree(local, dirs, files)
    for d in dirs:
        rayfs("mkdir", image, "/" + d)
    for path in files:
        rayfs("put", image, local / path, "/" + path)
    rayfs("mv", image, "/src/deep/file00.c", "/Docs/moved file.c")
    files["Docs/moved file.c"] = files.pop("src/deep/file00.c")
    rayfs("mv", image, "/src/deep/er", "/Docs/er moved")
    dirs = [d.replace("src/deep/er", "Docs/er moved") for d in dirs]
    files = {(("Docs/er moved/" + p[len("src/deep/er/"):]) if p.startswith("src/deep/er/")
              else p): data for p, data in files.items()}
    ok, report = fsck_clean(image)
    assert ok, report
    out = tmp_path / "out"
    run("mcopy", "-s", "-n", "-i", image, "::/", out)
    for path, data in files.items():
        with open(out / path, "rb") as f:
            assert f.read() == data, path
    for d in dirs:
        assert (out / d).is_dir(), d
    got_files = {os.path.relpath(os.path.join(r, n), out)
                 for r, _, names in os.walk(out) for n in names}
    assert got_files == set(files)
    check = rayfs("check", image)
    assert b"0 errors" in check.stdout


def test_mkfs_by_size_and_options(tmp_path):
    for size_mib, fat in [(2, 12), (64, 16), (600, 32)]:
        image = tmp_path / f"s{size_mib}.img"
        blank_image(image, size_mib)
        rayfs("mkfs", image)
        df = rayfs("df", image).stdout.decode()
        assert f"type: FAT{fat}" in df, df
        ok, report = fsck_clean(image)
        assert ok, report
        assert "Volume in drive" in run("mdir", "-i", image, "::/").stdout.decode()
    image = tmp_path / "c.img"
    blank_image(image, 128)
    rayfs("mkfs", image, "--fat", "32", "--cluster-size", "1024")
    assert fsck_clean(image)[0]
    assert "cluster size: 1024" in rayfs("df", image).stdout.decode()
    bad = rayfs("mkfs", image, "--fat", "13", check=False)
    assert bad.returncode != 0 and bad.stderr.startswith(b"rayfs: ")
    bad = rayfs("mkfs", image, "--cluster-size", "3000", check=False)
    assert bad.returncode != 0


def test_errors_leave_image_untouched(tmp_path):
    image = tmp_path / "e.img"
    blank_image(image, 8)
    rayfs("mkfs", image, "--fat", "16")
    local = tmp_path / "f.txt"
    local.write_bytes(b"hello")
    rayfs("mkdir", image, "/a")
    rayfs("put", image, local, "/a/f.txt")
    before = sha(image)
    cases = [
        (("cat", image, "/a/b"), "rayfs: /a/b: No such file or directory"),
        (("cat", image, "/a"), "rayfs: /a: Is a directory"),
        (("ls", image, "/nope"), "rayfs: /nope: No such file or directory"),
        (("mkdir", image, "/a"), "rayfs: /a: File exists"),
        (("mkdir", image, "/x/y"), "rayfs: /x/y: No such file or directory"),
        (("rm", image, "/a"), "rayfs: /a: Directory not empty"),
        (("rm", image, "/zz"), "rayfs: /zz: No such file or directory"),
        (("put", image, local, "/nodir/f"), "rayfs: /nodir/f: No such file or directory"),
        (("put", image, tmp_path / "missing", "/m"), "No such file or directory"),
        (("mv", image, "/a", "/a/inside"), "rayfs: /a: Invalid argument"),
        (("mv", image, "/a/f.txt", "/a"), "rayfs: /a: File exists"),
        (("mkdir", image, "/bad*name"), "rayfs: /bad*name: Invalid argument"),
        (("stat", image, "/a/f.txt/x"), "rayfs: /a/f.txt/x: Not a directory"),
        (("get", image, "/none", tmp_path / "o"), "rayfs: /none: No such file or directory"),
        (("ls", tmp_path / "noimage.img", "/"), "No such file or directory"),
        (("ls", image + "@2" if False else f"{image}@2", "/"), "no partition table"),
    ]
    for args, message in cases:
        proc = rayfs(*args, check=False)
        assert proc.returncode != 0, args
        assert message in proc.stderr.decode(), (args, proc.stderr)
        assert proc.stdout == b"", args
        assert sha(image) == before, args
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))
    proc = rayfs("put", image, big, "/big.bin", check=False)
    assert proc.returncode != 0 and b"No space left on device" in proc.stderr
    assert sha(image) == before
    assert rayfs("nonsense", check=False).returncode != 0
    help_text = rayfs("--help").stdout.decode()
    for word in ["ls [-l]", "cat", "put", "get", "mkdir", "rm", "mv", "stat", "df", "mkfs",
                 "check", "@N"]:
        assert word in help_text


def test_ls_stat_df_formats_and_unlink_frees(tmp_path):
    image = tmp_path / "l.img"
    blank_image(image, 16)
    rayfs("mkfs", image, "--fat", "16", "--cluster-size", "2048")
    data = tmp_path / "d.bin"
    data.write_bytes(b"z" * 100_000)
    rayfs("mkdir", image, "/Dir")
    free_before = int(rayfs("df", image).stdout.decode().split("free clusters: ")[1].split()[0])
    rayfs("put", image, data, "/Dir/File.bin")
    assert rayfs("ls", "-l", image, "/Dir").stdout == b"-     100000 File.bin\n"
    assert rayfs("ls", image, "/").stdout == b"Dir\n"
    assert rayfs("ls", "-l", image, "/").stdout == b"d          0 Dir\n"
    stat = rayfs("stat", image, "/dir/file.bin").stdout.decode()
    assert "type: file" in stat and "size: 100000" in stat
    free_mid = int(rayfs("df", image).stdout.decode().split("free clusters: ")[1].split()[0])
    assert free_before - free_mid == 49
    rayfs("rm", image, "/Dir/File.bin")
    free_after = int(rayfs("df", image).stdout.decode().split("free clusters: ")[1].split()[0])
    assert free_after == free_before
    rayfs("rm", image, "/Dir")
    assert rayfs("ls", image, "/").stdout == b""
    assert fsck_clean(image)[0]


def test_check_finds_damage(tmp_path):
    image = tmp_path / "c.img"
    blank_image(image, 8)
    run("mkfs.fat", "-F", "16", "-s", "1", image)
    a = tmp_path / "a"
    a.write_bytes(b"a" * 5000)
    run("mcopy", "-i", image, a, "::/A")
    run("mcopy", "-i", image, a, "::/B")
    good = rayfs("check", image)
    assert b"0 errors" in good.stdout
    first_a = int(rayfs("stat", image, "/A").stdout.decode().split("cluster: ")[1].split()[0])
    first_b = int(rayfs("stat", image, "/B").stdout.decode().split("cluster: ")[1].split()[0])
    raw = bytearray(image.read_bytes())
    reserved = int.from_bytes(raw[14:16], "little")
    fat_sectors = int.from_bytes(raw[22:24], "little")
    # B's last cluster now continues into A's chain: a cross-link
    last_b = first_b + 9
    for copy in range(2):
        at = (reserved + copy * fat_sectors) * 512 + last_b * 2
        raw[at:at + 2] = first_a.to_bytes(2, "little")
    image.write_bytes(bytes(raw))
    bad = rayfs("check", image, check=False)
    assert bad.returncode == 1
    assert b"cross-linked" in bad.stdout
    # reading still works and stops at the size
    assert rayfs("cat", image, "/B").stdout == b"a" * 5000


def test_full_directory_from_mtools_without_end_marker(tmp_path):
    image = tmp_path / "f.img"
    blank_image(image, 8)
    run("mkfs.fat", "-F", "16", "-s", "1", image)
    run("mmd", "-i", image, "::/D")
    empty = tmp_path / "e"
    empty.write_bytes(b"")
    for i in range(14):  # ".", ".." and 14 entries fill a 512-byte cluster exactly
        run("mcopy", "-i", image, empty, f"::/D/F{i:02d}")
    listing = rayfs("ls", image, "/D").stdout.decode().split()
    assert listing == [f"F{i:02d}" for i in range(14)]
    proc = rayfs("cat", image, "/D/absent", check=False)
    assert proc.returncode != 0


def test_dirty_volume_cleaned_and_flags(tmp_path):
    image = tmp_path / "d.img"
    blank_image(image, 64)
    rayfs("mkfs", image, "--fat", "32", "--cluster-size", "512")
    f = tmp_path / "f"
    f.write_bytes(b"1234")
    rayfs("put", image, f, "/lower.txt")
    ok, report = fsck_clean(image)
    assert ok, report
    raw = image.read_bytes()
    assert raw[65] & 1 == 0  # boot sector state bit clean after rayfs exits
    # mtools shows the lowercase name it finds through the NT flags
    assert "lower    txt" in run("mdir", "-i", image, "::/").stdout.decode()


@pytest.mark.parametrize("fat,size_mib,sector_size", [(16, 32, 512), (32, 300, 4096)])
def test_put_and_get_whole_trees(tmp_path, fat, size_mib, sector_size):
    """put -r and get -r copy a tree in one run: mtools reads every file put in, fsck.fat finds
    the volume clean, and get -r brings the same tree back byte for byte."""
    image = tmp_path / "t.img"
    blank_image(image, size_mib)
    rayfs("mkfs", image, "--fat", fat, "--sector-size", sector_size)
    dirs, files = tree_spec(fat * 7 + sector_size)
    local = tmp_path / "local"
    write_local_tree(local, dirs, files)
    os.makedirs(local / "empty dir")
    rayfs("put", "-r", image, local, "/TREE")
    assert fsck_clean(image)[0], fsck_clean(image)[1]
    for path, data in files.items():
        got = subprocess.run(["mtype", "-i", str(image), f"::/TREE/{path}"],
                             capture_output=True, check=True,
                             env=dict(os.environ, MTOOLS_SKIP_CHECK="1")).stdout
        assert got == data, path
    out = tmp_path / "out"
    rayfs("get", "-r", image, "/TREE", out)
    assert run("diff", "-r", local, out, check=False).returncode == 0
    # Again over the same names: files are replaced, directories kept.
    first = next(iter(files))
    (local / first).write_bytes(b"replaced")
    rayfs("put", "-r", image, local, "/TREE")
    assert rayfs("cat", image, "/TREE/" + first).stdout == b"replaced"
    assert fsck_clean(image)[0]


def test_tree_copies_report_what_they_skip(tmp_path):
    image = tmp_path / "s.img"
    blank_image(image, 8)
    rayfs("mkfs", image)
    local = tmp_path / "local"
    local.mkdir()
    (local / "good.txt").write_bytes(b"kept")
    os.symlink("good.txt", local / "link")
    result = rayfs("put", "-r", image, local, "/T", check=False)
    assert result.returncode == 1
    assert b"link: not a regular file or directory; skipped" in result.stderr
    assert rayfs("cat", image, "/T/good.txt").stdout == b"kept"  # the rest was copied
    assert rayfs("put", "-r", image, local / "good.txt", "/U", check=False).returncode == 1
    before = sha(image)
    result = rayfs("get", "-r", image, "/T/good.txt", tmp_path / "o", check=False)
    assert result.returncode == 1 and b"Not a directory" in result.stderr
    assert rayfs("get", "-r", image, "/NOPE", tmp_path / "o", check=False).returncode == 1
    assert sha(image) == before
