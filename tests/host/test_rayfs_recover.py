"""Renames through the intent record on volumes other systems made: mkfs.fat's layouts
(FAT12 with one reserved sector: the record goes in root slots; FAT16 with four and FAT32 with
32: a spare reserved sector), checked by fsck.fat and mtools, with the reserved sectors left
exactly as they were.  `rayfs recover` on a volume with nothing
to do says so, exits 0 and writes nothing."""
import pytest

from fatutil import blank_image, fsck_clean, rayfs, run, sha

LAYOUTS = [(12, 4), (16, 40), (32, 40)]


def reserved_area(image):
    raw = image.read_bytes()
    sector = int.from_bytes(raw[11:13], "little")
    reserved = int.from_bytes(raw[14:16], "little")
    boot = bytearray(raw[:sector])
    boot[37] = boot[65] = 0  # the dirty bits (FAT16 and FAT32 places) are not the record's
    return bytes(boot) + raw[sector:reserved * sector]


@pytest.mark.parametrize("fat,size", LAYOUTS)
def test_moves_on_mkfs_fat_volumes(tmp_path, fat, size):
    image = tmp_path / "v.img"
    blank_image(image, size)
    run("mkfs.fat", "-F", fat, image)
    payload = tmp_path / "p"
    payload.write_bytes(bytes(range(256)) * 40)
    run("mmd", "-i", image, "::/from", "::/to", "::/from/sub")
    run("mcopy", "-i", image, payload, "::/from/data.bin")
    run("mcopy", "-i", image, payload, "::/from/sub/inner.bin")
    before = reserved_area(image)
    rayfs("mv", image, "/from/data.bin", "/to/a much longer name than before.bin")
    rayfs("mv", image, "/from/sub", "/to/moved sub")
    rayfs("mv", image, "/to/moved sub/inner.bin", "/INNER.BIN")
    rayfs("mv", image, "/INNER.BIN", "/inner.bin")  # a change of case only
    assert reserved_area(image) == before
    ok, report = fsck_clean(image)
    assert ok, report
    listing = run("mdir", "-b", "-i", image, "::/to").stdout.decode()
    assert "a much longer name than before.bin" in listing and "moved sub" in listing
    assert "data.bin" not in run("mdir", "-b", "-i", image, "::/from").stdout.decode()
    out = tmp_path / "out"
    run("mcopy", "-i", image, "::/to/a much longer name than before.bin", out)
    assert out.read_bytes() == payload.read_bytes()
    out.unlink()
    run("mcopy", "-i", image, "::/inner.bin", out)
    assert out.read_bytes() == payload.read_bytes()
    dotdot = rayfs("stat", image, "/to/moved sub/..").stdout.decode()
    to = rayfs("stat", image, "/to").stdout.decode()
    assert dotdot.split("cluster: ")[1].split()[0] == to.split("cluster: ")[1].split()[0]


def test_recover_with_nothing_to_do_writes_nothing(tmp_path):
    image = tmp_path / "v.img"
    blank_image(image, 8)
    rayfs("mkfs", image)
    rayfs("mkdir", image, "/d")
    digest = sha(image)
    proc = rayfs("recover", image)
    assert proc.stdout.decode() == "nothing to recover\n"
    assert sha(image) == digest


def test_recover_refuses_what_is_not_fat(tmp_path):
    image = tmp_path / "v.img"
    blank_image(image, 1)
    proc = rayfs("recover", image, check=False)
    assert proc.returncode == 1
    assert "not a valid FAT volume" in proc.stderr.decode()


def test_move_with_no_place_for_a_record(tmp_path):
    """A FAT12 root of 16 slots with 14 in use has no four unused slots and one reserved
    sector: the move only orders its writes (new entry durable first) and still works."""
    image = tmp_path / "v.img"
    blank_image(image, 2)
    run("mkfs.fat", "-F", "12", "-r", "16", image)
    run("mmd", "-i", image, "::/a", "::/b")
    payload = tmp_path / "p"
    payload.write_bytes(b"moved" * 300)
    run("mcopy", "-i", image, payload, "::/a/x.bin")
    for i in range(12):
        run("mcopy", "-i", image, payload, f"::/F{i}")
    raw = image.read_bytes()
    root = (1 + 2 * int.from_bytes(raw[22:24], "little")) * 512
    before = raw[root:root + 512]
    rayfs("mv", image, "/a/x.bin", "/b/a longer name.bin")
    assert image.read_bytes()[root:root + 512] == before
    ok, report = fsck_clean(image)
    assert ok, report
    assert rayfs("cat", image, "/b/a longer name.bin").stdout == payload.read_bytes()
    assert rayfs("stat", image, "/a/x.bin", check=False).returncode == 1
