"""Every fuzz target, briefly: its committed seeds and regression inputs
(tests/fuzz/corpus/NAME, replayed first) must pass, then a short fuzzing run must find
nothing.  The whole budget stays at 17 s of fuzzing (fuzz_fat 5 s, the rest 1 s each);
`make fuzz-long` runs them for real (docs/FUZZING.md)."""
import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

from fatutil import BUILD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SECONDS = {"fuzz_fat": 5}
MAX_LEN = {"fuzz_fat": 65536, "fuzz_partition": 65536}


def declared_targets():
    targets = []
    for fragment in sorted(glob.glob(os.path.join(ROOT, "**", "*.mk"), recursive=True)):
        if os.sep + "build" in fragment[len(ROOT):] or os.sep + "mk" + os.sep in fragment:
            continue
        with open(fragment) as f:
            targets += re.findall(r"^FUZZ_TARGETS\s*\+=\s*(.+)$", f.read(), re.M)
    return sorted({name for line in targets for name in line.split()})


TARGETS = declared_targets()


def build_fuzzers():
    """make fuzz once, whichever pytest worker gets here first."""
    os.makedirs(os.path.join(BUILD, "fuzz"), exist_ok=True)
    with open(os.path.join(BUILD, "fuzz", ".build-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build = subprocess.run(["make", "-s", f"BUILD={BUILD}", "fuzz"], capture_output=True,
                               timeout=900)
    assert build.returncode == 0, build.stderr.decode()[-3000:]


def test_targets_are_found():
    assert len(TARGETS) >= 13 and "fuzz_fat" in TARGETS, TARGETS


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_smoke(tmp_path, target):
    if shutil.which("clang") is None:
        pytest.skip("clang (Debian package clang) is not installed: no libFuzzer build")
    build_fuzzers()
    corpus = tmp_path / "corpus"  # new inputs go here, never into the repository
    corpus.mkdir()
    seeds = os.path.join(SEEDS, target)
    dirs = [str(corpus)] + ([seeds] if os.path.isdir(seeds) else [])
    options = [f"-max_total_time={SECONDS.get(target, 1)}", "-timeout=10", "-rss_limit_mb=1024",
               f"-artifact_prefix={tmp_path}/"]
    if target in MAX_LEN:
        options.append(f"-max_len={MAX_LEN[target]}")
    proc = subprocess.run([os.path.join(BUILD, "fuzz", target), *options, *dirs],
                          capture_output=True, timeout=120)
    log = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, log[-4000:]
    assert "Done" in log, log[-2000:]
    if os.path.isdir(seeds):  # every committed input was run
        assert re.search(r"INITED", log), log[-2000:]


def test_fuzz_long_stops_after_runs(tmp_path):
    """make fuzz-long FUZZ_RUNS=N: a target stops after exactly N executions, and the table
    reports them."""
    if shutil.which("clang") is None:
        pytest.skip("clang (Debian package clang) is not installed: no libFuzzer build")
    build_fuzzers()
    os.symlink(os.path.abspath(os.path.join(BUILD, "fuzz")), tmp_path / "fuzz")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fuzz", "fuzz_long.py"),
                           "--build", str(tmp_path), "--seconds", "60", "--runs", "3000",
                           "fuzz_shell_tokenize"], capture_output=True, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert re.search(r"^\| fuzz_shell_tokenize \| \d+ \(\d+\) \| 3,000 \|.*\| ok \|$", out, re.M), out
