"""Helpers shared by the rayfs tests: the binaries, images made by dosfstools/mtools."""
import hashlib
import os
import random
import shutil
import subprocess

BUILD = os.environ.get("RAYOS_BUILD", "build")
RAYFS = os.path.join(BUILD, "rayfs-asan")
ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1", ASAN_OPTIONS="detect_leaks=1")


def rayfs(*args, check=True, input_bytes=None):
    proc = subprocess.run([RAYFS, *map(str, args)], capture_output=True, env=ENV,
                          input=input_bytes, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"rayfs {args} failed ({proc.returncode}): {proc.stderr.decode()}")
    return proc


def run(*args, check=True):
    proc = subprocess.run(list(map(str, args)), capture_output=True, env=ENV, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}): "
                             f"{proc.stdout.decode()} {proc.stderr.decode()}")
    return proc


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def blank_image(path, size_mib):
    with open(path, "wb") as f:
        f.truncate(size_mib * 1024 * 1024)


def fsck_clean(image):
    """fsck.fat -n: exit 0 and nothing to fix."""
    proc = run("fsck.fat", "-n", image, check=False)
    out = proc.stdout.decode() + proc.stderr.decode()
    return proc.returncode == 0, out


def tree_spec(seed):
    """A deterministic tree: directories, long names, sizes around sector/cluster edges."""
    rnd = random.Random(seed)
    sizes = [0, 1, 511, 512, 513, 2047, 2048, 4096, 4097, 65536, 100_000, 1 << 20]
    files = {}
    dirs = ["Docs", "Docs/Sub Folder", "src", "src/deep", "src/deep/er"]
    names = ["README.TXT", "notes.txt", "A Long File Name.text", "MiXeD.Case", "x",
             "data.bin", "file with spaces and more than twenty characters.dat",
             "caf\u00e9 \u00fcber.txt"]
    for i, name in enumerate(names):
        where = dirs[i % len(dirs)] if i % 3 else ""
        path = f"{where}/{name}" if where else name
        files[path] = rnd.randbytes(sizes[(i * 5 + seed) % len(sizes)])
    for i in range(12):
        files[f"src/deep/file{i:02d}.c"] = rnd.randbytes(rnd.randint(0, 9000))
    return dirs, files


def write_local_tree(root, dirs, files):
    for d in dirs:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for path, data in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


def have(tool):
    return shutil.which(tool) is not None or os.path.exists(f"/usr/sbin/{tool}")
