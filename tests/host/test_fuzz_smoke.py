"""A short libFuzzer run of fuzz_fat on seed images made at test time: it must find nothing."""
import os
import shutil
import subprocess

import pytest

from fatutil import BUILD, blank_image, rayfs

FUZZER = os.path.join(BUILD, "fuzz", "fuzz_fat")


def make_seeds(directory, tmp_path):
    payload = tmp_path / "payload"
    payload.write_bytes(bytes(range(256)) * 12)
    small = tmp_path / "small"
    small.write_bytes(b"hello\n")
    for name, size_kib, extra in [("fat12", 200, []), ("fat12-4k", 400, ["--sector-size", "4096"])]:
        image = directory / f"{name}.img"
        with open(image, "wb") as f:
            f.truncate(size_kib * 1024)
        rayfs("mkfs", image, "--fat", "12", *extra)
        rayfs("mkdir", image, "/Some Directory")
        rayfs("mkdir", image, "/Some Directory/deeper")
        rayfs("put", image, small, "/Some Directory/A long file name.txt")
        rayfs("put", image, payload, "/data.bin")
        rayfs("put", image, small, "/Some Directory/deeper/x")


def test_fuzz_fat_smoke(tmp_path):
    if shutil.which("clang") is None:
        pytest.skip("clang (Debian package clang) is not installed: no libFuzzer build")
    build = subprocess.run(["make", "-s", f"BUILD={BUILD}", "fuzz"], capture_output=True,
                           timeout=600)
    assert build.returncode == 0, build.stderr.decode()[-3000:]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_seeds(corpus, tmp_path)
    blank = corpus / "zeros.img"
    blank_image(blank, 1)
    proc = subprocess.run([FUZZER, "-max_total_time=20", "-max_len=450000", "-timeout=10",
                           "-rss_limit_mb=1024", f"-artifact_prefix={tmp_path}/", str(corpus)],
                          capture_output=True, timeout=120)
    log = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, log[-4000:]
    assert "Done" in log
