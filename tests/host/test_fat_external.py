"""rayfs against material other projects collected, differential against the reference tools.

- dosfstools' check cases (tests/check-*.fsck: damaged images): every class of damage that
  `fsck.fat -n` reports on an image must be reported by `rayfs check` (ASan build);
- dosfstools' label cases: `rayfs label` and `rayfs df` say what fatlabel (and the case's
  expected .label) says; a label set by `rayfs label` reads back the same in fatlabel and
  mlabel and leaves nothing for fsck.fat to fix;
- FAT volumes written by Linux, Windows, FreeDOS and others: every directory listed and every
  file read completely by rayfs-asan, names, sizes and bytes compared to mtools.
"""
import os
import re
import shutil
import subprocess

import pytest

from external import files, xxd_reverse
from fatutil import ENV, rayfs, run

MTOOLS_ENV = dict(ENV, LANG="C.UTF-8", LC_ALL="C.UTF-8")
DOSFSTOOLS = "dosfstools-tests.tar.xz"
IMAGES = "fat-images.tar.xz"

# fsck.fat's wording for each class of damage -> the class.
FSCK_CLASSES = [
    (r"Bad short file name", "bad-name"),
    (r"Duplicate directory entry", "duplicate"),
    (r"Contains a free cluster", "chain-to-free"),
    (r"share clusters", "cross-link"),
    (r"Circular cluster chain", "circular"),
    (r"cluster chain length is > \d+ bytes", "chain-too-long"),
    (r"File size is \d+ bytes, cluster chain length is \d+ bytes", "size-beyond-chain"),
    (r"Expected a valid '\.\.?' entry", "dot-entries"),
    (r"Both FATs appear to be corrupt|Fixing first cluster in FAT", "fat-media"),
    (r"Dirty bit is set", "dirty"),
    (r"[Ll]abel .* different|but there is no volume label in root|"
     r"no label in boot sector, but there is volume label", "label-mismatch"),
    (r"Failed to read sector|seek .* failed|exceeds", "truncated"),
    (r"Reclaimed \d+ unused cluster", "lost"),
    (r"Free cluster summary wrong", "fsinfo"),
]
# rayfs check's wording for the same classes.
RAYFS_CLASSES = [
    (r"invalid 8\.3 name", "bad-name"),
    (r"duplicate name", "duplicate"),
    (r"links to a free cluster", "chain-to-free"),
    (r"cross-linked", "cross-link"),
    (r"circular chain", "circular"),
    (r"longer than size", "chain-too-long"),
    (r"needs \d+ clusters, chain has", "size-beyond-chain"),
    (r"missing '\.\.?' entry|'\.\.?' points to cluster", "dot-entries"),
    (r"does not match the media byte", "fat-media"),
    (r"marked dirty", "dirty"),
    (r"label \".*\" in the (boot sector|root directory)", "label-mismatch"),
    (r"larger than the device|device holds only", "truncated"),
    (r"lost clusters", "lost"),
    (r"FSInfo", "fsinfo"),
]
FSCK_BOILERPLATE = re.compile(
    r"fsck\.fat \d|Leaving filesystem unchanged|^\S+: \d+ files, \d+/\d+ clusters$|^$")


def classes(text, table):
    return {name for pattern, name in table if re.search(pattern, text)}


def check_cases():
    return files(DOSFSTOOLS, r"check-.*\.fsck")


def label_cases():
    return files(DOSFSTOOLS, r"label-.*\.xxd")


def real_images():
    return files(IMAGES, r"[^.].*")


def case_id(path):
    return os.path.basename(path)


def asan_clean(proc):
    err = proc.stderr.decode(errors="replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {err}"


@pytest.mark.skipif(shutil.which("fsck.fat") is None, reason="dosfstools not installed")
@pytest.mark.parametrize("case", check_cases(), ids=case_id)
def test_dosfstools_check_case(case, tmp_path):
    image = xxd_reverse(case, tmp_path / "damaged.img")
    args_file = case[:-len(".fsck")] + ".args"
    args = open(args_file).read().split() if os.path.exists(args_file) else []
    fsck = run("fsck.fat", "-n", *args, image, check=False)
    fsck_text = (fsck.stdout + fsck.stderr).decode(errors="replace")
    expected = classes(fsck_text, FSCK_CLASSES)
    # fsck.fat compares FSInfo with the count after its own repairs: a count that is only
    # off by the lost clusters it reclaimed follows from "lost", not from FSInfo
    reclaimed = re.search(r"Reclaimed (\d+) unused", fsck_text)
    summary = re.search(r"Free cluster summary wrong \((\d+) vs\. really (\d+)\)", fsck_text)
    if reclaimed and summary and \
            int(summary.group(2)) - int(summary.group(1)) == int(reclaimed.group(1)):
        expected.discard("fsinfo")
    findings = [line for line in fsck_text.splitlines()
                if not FSCK_BOILERPLATE.search(line)]
    # every case is damaged, and fsck.fat's report must fall in a class we know
    assert findings and expected, f"fsck.fat said nothing classifiable:\n{fsck_text}"
    proc = rayfs("check", image, check=False)
    asan_clean(proc)
    text = (proc.stdout + proc.stderr).decode(errors="replace")
    got = classes(text, RAYFS_CLASSES)
    assert expected <= got, (f"fsck.fat reports {sorted(expected)}, rayfs check only "
                             f"{sorted(got)}\n--- fsck.fat\n{fsck_text}\n--- rayfs\n{text}")
    # real damage (not only the dirty bit, a label or a stale count) makes check exit 1
    harmless = {"dirty", "label-mismatch", "lost", "fsinfo", "chain-too-long"}
    if expected - harmless:
        assert proc.returncode == 1, text


@pytest.mark.skipif(shutil.which("fatlabel") is None, reason="dosfstools not installed")
@pytest.mark.parametrize("case", label_cases(), ids=case_id)
def test_dosfstools_label_case(case, tmp_path):
    image = str(xxd_reverse(case, tmp_path / "case.img"))
    with open(case[:-len(".xxd")] + ".label") as f:
        expected = f.read().rstrip("\n")
    fatlabel = run("fatlabel", image).stdout.decode().rstrip("\n")
    assert fatlabel == expected  # the reference itself agrees with the case
    proc = rayfs("label", image)
    asan_clean(proc)
    assert proc.stdout.decode().rstrip("\n") == expected
    df = rayfs("df", image).stdout.decode()
    assert re.search(r"^label: (.*)$", df, re.M).group(1) == (expected or "(none)")
    # setting a label writes the root entry and the boot sector: every tool agrees, and
    # fsck.fat finds no label to fix
    rayfs("label", image, "NEW LABEL")
    assert run("fatlabel", image).stdout.decode().rstrip("\n") == "NEW LABEL"
    mlabel = run("mlabel", "-s", "-i", image, "::").stdout.decode()
    assert "Volume label is NEW LABEL" in mlabel
    fsck = run("fsck.fat", "-n", image, check=False).stdout.decode()
    assert "label-mismatch" not in classes(fsck, FSCK_CLASSES), fsck
    check = rayfs("check", image, check=False).stdout.decode()
    assert "label-mismatch" not in classes(check, RAYFS_CLASSES), check
    with open(image, "rb") as f:
        boot = f.read(512)
    assert boot[71:82] == b"NEW LABEL  "  # FAT32 boot sector
    # and removing it: no label anywhere, "NO NAME" in the boot sector as fatlabel -r does
    rayfs("label", image, "")
    assert run("fatlabel", image).stdout.decode().rstrip("\n") == ""
    assert rayfs("label", image).stdout.decode() == "\n"
    with open(image, "rb") as f:
        assert f.read(512)[71:82] == b"NO NAME    "
    fsck = run("fsck.fat", "-n", image, check=False).stdout.decode()
    assert "label-mismatch" not in classes(fsck, FSCK_CLASSES), fsck


def mtools_listing(image, offset, directory):
    """(8.3 name, long name or None, is_dir, size) of each entry mtools lists."""
    spec = f"{image}@@{offset}" if offset else image
    out = subprocess.run(["mdir", "-a", "-i", spec, "::" + directory], capture_output=True,
                         env=MTOOLS_ENV, timeout=120).stdout.decode("utf-8", "replace")
    entries = []
    for line in out.splitlines():
        m = re.match(r"^(.{8}) (.{3}) +(<DIR>|\d[\d ]*?) +(\d{4}-\d\d-\d\d) +\d+:\d\d"
                     r"(?:  (.*)| ?)$", line)
        if not m:
            continue
        base, ext = m.group(1).rstrip(), m.group(2).rstrip()
        short = base + ("." + ext if ext else "")
        if short in (".", ".."):
            continue
        is_dir = m.group(3) == "<DIR>"
        size = 0 if is_dir else int(m.group(3).replace(" ", ""))
        entries.append((short, m.group(5), is_dir, size))
    return entries


def rayfs_listing(spec, directory, truncated):
    """rayfs's (name, is_dir, size) entries; None for a directory past the end of a truncated
    volume (an I/O error, where mtools reads zeros: an empty directory)."""
    proc = rayfs("ls", "-l", spec, directory, check=False)
    asan_clean(proc)
    if truncated and proc.returncode and "Input/output error" in proc.stderr.decode():
        return None
    assert proc.returncode == 0, proc.stderr.decode()
    entries = []
    for line in proc.stdout.decode("utf-8").splitlines():
        kind, size, name = line[0], int(line[2:12]), line[13:]
        entries.append((name, kind == "d", size))
    return entries


def partition_offset(image):
    """Byte offset of the first MBR partition when the image is a partitioned disk."""
    with open(image, "rb") as f:
        sector = f.read(512)
    if len(sector) < 512 or sector[510:512] != b"\x55\xaa" or sector[0] in (0xeb, 0xe9):
        return 0
    return int.from_bytes(sector[446 + 8:446 + 12], "little") * 512


@pytest.mark.skipif(shutil.which("mdir") is None, reason="mtools not installed")
@pytest.mark.parametrize("image", real_images(), ids=case_id)
def test_real_image_walk(image, tmp_path):
    offset = partition_offset(image)
    spec = f"{image}@1" if offset else image
    df = rayfs("df", spec, check=False)
    asan_clean(df)
    mdir = subprocess.run(["mdir", "-i", f"{image}@@{offset}" if offset else image, "::"],
                          capture_output=True, env=MTOOLS_ENV, timeout=120)
    if df.returncode != 0:
        # only what mtools cannot read either (a lone boot sector) may be refused
        assert mdir.returncode != 0, (df.stderr.decode(), mdir.stdout.decode())
        return
    assert mdir.returncode == 0, mdir.stderr.decode()
    check = rayfs("check", spec, check=False)
    asan_clean(check)
    truncated = "truncated" in classes(check.stdout.decode(), RAYFS_CLASSES)
    pending, walked, read_bytes = ["/"], 0, 0
    while pending:
        directory = pending.pop()
        ours = rayfs_listing(spec, directory, truncated)
        theirs = mtools_listing(image, offset, directory)
        if ours is None:
            assert theirs == [], (directory, theirs)
            continue
        assert len(ours) == len(theirs), (directory, ours, theirs)
        for (short, long, is_dir, size), (name, our_dir, our_size) in zip(theirs, ours):
            # mtools shows the long name when there is one; rayfs too, unless it is one
            # Linux's vfat would not have made (then the 8.3 name, as vfat shows it)
            assert name in (long, short) or name.upper() == short.upper(), (name, short, long)
            assert (is_dir, size) == (our_dir, our_size), name
            path = directory.rstrip("/") + "/" + name
            walked += 1
            if is_dir:
                pending.append(path)
                continue
            cat = rayfs("cat", spec, path, check=False)
            asan_clean(cat)
            if cat.returncode != 0:
                # only data past the end of a truncated image may fail, with EIO
                assert truncated and "Input/output error" in cat.stderr.decode(), \
                    cat.stderr.decode()
                continue
            mspec = f"{image}@@{offset}" if offset else image
            mcopy = subprocess.run(["mcopy", "-n", "-i", mspec, "::" + path, "-"],
                                   capture_output=True, env=MTOOLS_ENV, timeout=120)
            assert mcopy.returncode == 0, mcopy.stderr.decode()
            assert cat.stdout == mcopy.stdout, path
            assert len(cat.stdout) == size
            read_bytes += size
    print(f"{os.path.basename(image)}: {walked} entries, {read_bytes} bytes compared")
