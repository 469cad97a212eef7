"""Images cut at power-failure points by the C crash test, judged by fsck.fat -n: no
cross-links, no loops, no entry pointing at free clusters or beyond the volume, no chain
shorter than its file.  (Lost clusters, a chain longer than the size and the dirty bit are the
expected, harmless results of a cut: docs/FAT.md.)  Every cut of the renames and moves
(including cuts inside a request, at 512-byte granularity) is settled by `rayfs recover` and
judged by tests/host/crash_judge.sh as the C test runs."""
import os
import re
import subprocess

from fatutil import BUILD, ENV, RAYFS, blank_image, rayfs, run

CRASH_TEST = os.path.join(BUILD, "tests", "unit", "test_fat_crash")
JUDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_judge.sh")
FORBIDDEN = ["share clusters", "Circular cluster chain", "free cluster", "beyond limit",
             "Deleting", "Invalid", "Bad FAT32 root"]
SHORT_CHAIN = re.compile(r"File size is (\d+) bytes, cluster chain length is (\d+) bytes")


def damage(report):
    found = [p for p in FORBIDDEN if p in report]
    for size, chain in SHORT_CHAIN.findall(report):
        if int(chain) < int(size):
            found.append(f"chain {chain} shorter than size {size}")
    return found


def check_record_image(image):
    """A cut right after a rename's intent record was written: fsck.fat sees nothing but the
    dirty bit (the record reads as deleted entries or an unused reserved sector); after
    `rayfs recover` the volume is clean for fsck.fat."""
    fsck = run("fsck.fat", "-n", image, check=False)
    report = fsck.stdout.decode() + fsck.stderr.decode()
    lines = [line for line in report.splitlines()[1:] if line.strip()]
    allowed = ("Dirty bit", "Automatically removing dirty bit", "Leaving filesystem unchanged",
               "There are differences between boot sector and its backup",
               "This is mostly harmless", "65:01/00", "Not automatically fixing",
               "Free cluster summary uninitialized", "Differences: (offset:original/backup)",
               f"{image}:")
    assert all(any(a in line for a in allowed) for line in lines), report
    check = rayfs("check", image, check=False)
    assert check.returncode == 0, check.stdout.decode()
    assert "warning: a rename was interrupted" in check.stdout.decode() + check.stderr.decode()
    recovered = rayfs("recover", image).stdout.decode()
    assert recovered.strip() == "undid an interrupted rename", recovered
    fsck = run("fsck.fat", "-n", image, check=False)
    assert fsck.returncode == 0, fsck.stdout.decode()
    assert rayfs("recover", image).stdout.decode().strip() == "nothing to recover"


def test_cut_images_pass_fsck(tmp_path):
    if not os.path.exists(CRASH_TEST):
        subprocess.run(["make", "-s", f"BUILD={BUILD}", CRASH_TEST], check=True)
    dump_dir = tmp_path / "cuts"
    dump_dir.mkdir()
    judge = f"{JUDGE} {os.path.abspath(RAYFS)}"
    proc = subprocess.run([CRASH_TEST], env=dict(ENV, FAT_CRASH_DUMP_DIR=str(dump_dir),
                                                 FAT_CRASH_JUDGE=judge),
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout.decode()[-3000:], proc.stderr.decode()[-3000:])
    images = sorted(p for p in dump_dir.iterdir() if p.name.startswith("fat"))
    assert len(images) >= 12
    for record in sorted(dump_dir.glob("record-*.img")):
        check_record_image(record)
    assert len(list(dump_dir.glob("record-*.img"))) == 4
    repair_cuts = sorted(dump_dir.glob("repaircut-*.img"))
    assert len(repair_cuts) >= 5
    for image in repair_cuts:  # a repair cut short, then a second repair: fsck.fat is content
        repaired = rayfs("check", "--repair", image, check=False)
        assert repaired.returncode == 0, repaired.stdout.decode() + repaired.stderr.decode()
        fsck = run("fsck.fat", "-n", image, check=False)
        assert fsck.returncode == 0, (image.name, fsck.stdout.decode())
    for image in images:
        fsck = run("fsck.fat", "-n", image, check=False)
        report = fsck.stdout.decode() + fsck.stderr.decode()
        assert fsck.returncode in (0, 1), report
        assert not damage(report), (image.name, report)


def test_fsck_judge_catches_cross_links(tmp_path):
    """The judge itself must be able to fail: a real cross-link is reported."""
    image = tmp_path / "x.img"
    blank_image(image, 8)
    run("mkfs.fat", "-F", "16", "-s", "1", image)
    payload = tmp_path / "p"
    payload.write_bytes(b"q" * 3000)
    run("mcopy", "-i", image, payload, "::/A")
    run("mcopy", "-i", image, payload, "::/B")
    first_a = int(rayfs("stat", image, "/A").stdout.decode().split("cluster: ")[1].split()[0])
    raw = bytearray(image.read_bytes())
    root = (1 + 2 * int.from_bytes(raw[22:24], "little")) * 512
    for slot in range(16):  # point B's entry at A's chain
        entry = raw[root + slot * 32: root + slot * 32 + 32]
        if entry[:11] == b"B          ":
            raw[root + slot * 32 + 26: root + slot * 32 + 28] = first_a.to_bytes(2, "little")
    image.write_bytes(bytes(raw))
    fsck = run("fsck.fat", "-n", image, check=False)
    assert damage(fsck.stdout.decode() + fsck.stderr.decode())
