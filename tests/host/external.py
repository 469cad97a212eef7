"""Real-world test data from other projects (../shared/testdata/external, read-only), unpacked
at test time into the build directory: dosfstools' check and label cases, FAT images written by
other systems.  Nothing here is made by hand; see the README next to the archives."""
import fcntl
import gzip
import os
import re
import shutil
import tarfile

from fatutil import BUILD

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
EXTERNAL = os.environ.get("RAYOS_EXTERNAL",
                          os.path.join(REPO, "..", "shared", "testdata", "external"))
UNPACKED = os.path.join(BUILD, "external")


def unpack(archive):
    """The archive's directory under build/external, extracted once (safe across pytest-xdist
    workers); gzip members are decompressed beside themselves."""
    source = os.path.join(EXTERNAL, archive)
    if not os.path.exists(source):
        raise AssertionError(f"{source} is missing: the shared test data must be at "
                             "../shared/testdata/external (or RAYOS_EXTERNAL)")
    os.makedirs(UNPACKED, exist_ok=True)
    target = os.path.join(UNPACKED, archive.split(".")[0])
    with open(os.path.join(UNPACKED, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = os.path.join(target, ".done")
        if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(source):
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(target)
            with tarfile.open(source) as tar:
                for member in tar.getmembers():
                    if not member.isfile() or ".." in member.name.split("/"):
                        continue
                    data = tar.extractfile(member).read()
                    name = os.path.basename(member.name)
                    if name.endswith(".gz"):
                        name, data = name[:-3], gzip.decompress(data)
                    with open(os.path.join(target, name), "wb") as out:
                        out.write(data)
            open(stamp, "w").close()
    return target


def files(archive, pattern):
    directory = unpack(archive)
    return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                  if re.fullmatch(pattern, name))


def xxd_reverse(text_path, image_path):
    """`xxd -r` of dosfstools' hex dumps: "ADDRESS: HEX  ASCII" lines, "*" for repeated lines
    (what a dump leaves out reads as zeros)."""
    chunks, end = [], 0
    with open(text_path) as f:
        for line in f:
            if not re.match(r"[0-9a-f]{8}:", line):
                continue
            address = int(line[:8], 16)
            data = bytes.fromhex(line[10:49].replace(" ", ""))
            chunks.append((address, data))
            end = max(end, address + len(data))
    with open(image_path, "wb") as f:
        f.truncate(end)  # sparse: the large cases are mostly zeros
        for address, data in chunks:
            f.seek(address)
            f.write(data)
    return image_path
