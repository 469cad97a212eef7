"""RayOS's lspci lines against pciutils' own lspci reading the same configuration spaces.

Random functions (seeded, so failures reproduce) are written as a pciutils dump file; RayOS's
PCI core enumerates them through build/pci-lspci-dump and pciutils reads them with
`lspci -F FILE` (udev's hwdb disabled, so both use /usr/share/misc/pci.ids).  The `lspci`
and `lspci -n` forms must match byte for byte; for `lspci -v` the first line (with prog-if)
and the Subsystem line must match.  IDs are drawn where RayOS's compact table is complete:
device names of the vendors it keeps, unknown devices and vendors, every class, subclass and
programming interface.

The 40 `lspci -xxxx` dumps of real machines from pciutils' own test suite
(../shared/testdata/external/pciutils-tests.tar.xz, extracted into the build directory at test
time) go through the same comparison.  pciutils is given exactly the names RayOS's compact table
keeps (`lspci -i`, a pci.ids written by gen_pci_ids.write_ids), so the listings must be
byte-identical whatever the vendor.  The one class of difference, listed in docs/PCI.md:
functions 1-7 of a slot whose function 0 is not in the dump (partial dumps) are not found by
RayOS's scan, as they are not by any kernel's.
"""
import importlib.util
import os
import random
import re
import shutil
import subprocess
import tarfile
import tempfile

import pytest

BUILD = os.environ.get("RAYOS_BUILD", "build")
TOOL = os.path.join(BUILD, "pci-lspci-dump-asan")
PCI_IDS = "/usr/share/misc/pci.ids"
LSPCI = shutil.which("lspci")
HERE = os.path.dirname(os.path.abspath(__file__))

pytestmark = pytest.mark.skipif(LSPCI is None or not os.path.exists(PCI_IDS),
                                reason="pciutils' lspci or pci.ids not installed")


REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("RAYOS_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
ARCHIVE = os.path.join(SHARED, "testdata", "external", "pciutils-tests.tar.xz")


def archive_dumps():
    """Names of the dump files in the archive (the test ids), read at collection time."""
    if not os.path.exists(ARCHIVE):
        return ["archive-missing"]
    with tarfile.open(ARCHIVE) as tar:
        return sorted(os.path.basename(m.name) for m in tar.getmembers() if m.isfile())


def generator_module():
    path = os.path.join(HERE, "..", "..", "drivers", "pci", "gen_pci_ids.py")
    spec = importlib.util.spec_from_file_location("gen_pci_ids", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def database():
    gen = generator_module()
    vendors, classes = gen.parse(PCI_IDS)
    return gen, {v["id"]: v for v in vendors}, classes


def random_function(rng, gen, vendors, classes):
    kept = sorted(v for v in gen.DEVICE_VENDORS if v in vendors)
    choice = rng.random()
    if choice < 0.6:  # a named device of a kept vendor
        vendor = rng.choice(kept)
        devices = vendors[vendor]["devices"]
        device = rng.choice(devices)["id"] if devices else 0x1234
    elif choice < 0.8:  # a kept vendor, a device pci.ids does not know
        vendor = rng.choice(kept)
        known = {d["id"] for d in vendors[vendor]["devices"]}
        device = next(d for d in range(0xfffe, 0, -1) if d not in known)
    elif choice < 0.9:  # any vendor, a device id it does not list
        vendor = rng.choice(sorted(vendors))
        known = {d["id"] for d in vendors[vendor]["devices"]}
        device = next(d for d in range(0xfffe, 0, -1) if d not in known)
    else:  # an unknown vendor
        vendor = next(v for v in range(0xabcd, 0xffff) if v not in vendors)
        device = rng.randrange(0x10000)
    level, klass, subclass, prog_if, _ = rng.choice(classes)
    if rng.random() < 0.1:
        klass, subclass, prog_if = rng.randrange(0x14, 0xff), rng.randrange(256), 0
    elif level < 3:
        prog_if = rng.choice([0, 0, rng.randrange(256)])
    revision = rng.choice([0, 0, 1, 2, rng.randrange(256)])
    sub = rng.random()
    if sub < 0.3:
        subvendor, subdevice = 0, 0
    elif sub < 0.5:
        subvendor, subdevice = vendor, device
    elif sub < 0.7:
        subvendor, subdevice = 0x1af4, rng.choice([0x1100, rng.randrange(0x10000)])
    elif sub < 0.8:
        subvendor, subdevice = 0xffff, 0xffff
    else:
        subvendor = next(v for v in range(0xbcde, 0xffff) if v not in vendors)
        subdevice = rng.randrange(0x10000)
    config = bytearray(64)
    config[0:2] = vendor.to_bytes(2, "little")
    config[2:4] = device.to_bytes(2, "little")
    config[8] = revision
    config[9], config[10], config[11] = prog_if, subclass, klass
    config[0x2c:0x2e] = subvendor.to_bytes(2, "little")
    config[0x2e:0x30] = subdevice.to_bytes(2, "little")
    return config


def write_dump(path, functions):
    with open(path, "w") as f:
        for (domain, slot), config in functions:
            f.write(f"{domain:04x}:00:{slot:02x}.0 function\n" if domain else
                    f"00:{slot:02x}.0 function\n")
            for row in range(0, len(config), 16):
                f.write(f"{row:02x}: " + " ".join(f"{b:02x}" for b in config[row:row + 16]) +
                        "\n")
            f.write("\n")


def pciutils(path, *options):
    out = subprocess.run([LSPCI, "-O", "hwdb.disable=1", *options, "-F", str(path)],
                         capture_output=True, text=True, check=True)
    return out.stdout


def rayos(path, *options):
    out = subprocess.run([TOOL, *options, str(path)], capture_output=True, text=True,
                         check=True)
    return out.stdout


def verbose_essentials(text):
    """First line and Subsystem line of each function in an `lspci -v` listing."""
    kept = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if not lines:
            continue
        kept.append(lines[0])
        kept += [l for l in lines[1:] if l.startswith("\tSubsystem: ")]
    return kept


@pytest.mark.parametrize("seed", range(int(os.environ.get("PCI_SEEDS", "8"))))
def test_terse_numeric_and_subsystem_lines_match_pciutils(tmp_path, seed):
    gen, vendors, classes = database()
    rng = random.Random(seed)
    functions = [((0, slot), random_function(rng, gen, vendors, classes)) for slot in range(32)]
    if seed % 2:  # a second domain: every address gets the domain prefix
        functions += [((1, slot), random_function(rng, gen, vendors, classes))
                      for slot in range(4)]
    dump = tmp_path / f"dump{seed}.txt"
    write_dump(dump, functions)
    assert rayos(dump) == pciutils(dump)
    assert rayos(dump, "-n") == pciutils(dump, "-n")
    assert verbose_essentials(rayos(dump, "-v")) == verbose_essentials(pciutils(dump, "-v"))
    assert verbose_essentials(rayos(dump, "-n", "-v")) == \
        verbose_essentials(pciutils(dump, "-n", "-v"))


@pytest.fixture(scope="session")
def external(tmp_path_factory):
    """The extracted dumps (build/external/pciutils-tests) and a pci.ids of RayOS's subset."""
    assert os.path.exists(ARCHIVE), f"{ARCHIVE} is missing (shared/ must sit beside the clone)"
    target = os.path.join(BUILD, "external", "pciutils-tests")
    if not os.path.isdir(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        staging = tempfile.mkdtemp(dir=os.path.dirname(target))  # xdist workers race here
        with tarfile.open(ARCHIVE) as tar:
            for member in tar.getmembers():  # regular files only, never outside staging
                if member.isfile() and not os.path.isabs(member.name) and \
                        ".." not in member.name.split("/"):
                    path = os.path.join(staging, member.name)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with tar.extractfile(member) as src, open(path, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        try:
            os.rename(staging, target)
        except OSError:
            shutil.rmtree(staging)  # another worker was first
    dumps = {}
    for root, _, files in os.walk(target):
        for name in files:
            dumps[name] = os.path.join(root, name)
    gen, vendors, classes = database()
    ids = tmp_path_factory.mktemp("ids") / "rayos-subset.ids"
    gen.write_ids(list(vendors.values()), classes, ids)
    return dumps, ids


ADDRESS = re.compile(r"^(?:([0-9a-f]{4,}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])\b")


def orphan_functions(dump):
    """Functions 1-7 whose slot has no function 0 in the dump: no scan can find them."""
    present = set()
    with open(dump) as f:
        for line in f:
            m = ADDRESS.match(line)
            if m:
                present.add((int(m.group(1) or "0", 16), int(m.group(2), 16), int(m.group(3), 16),
                             int(m.group(4))))
    return {a for a in present if a[3] and (a[0], a[1], a[2], 0) not in present}


def without(text, orphans):
    """A listing without the blocks (or lines) of the given functions."""
    def keep(block):
        m = ADDRESS.match(block)
        return not m or (int(m.group(1) or "0", 16), int(m.group(2), 16), int(m.group(3), 16),
                         int(m.group(4))) not in orphans
    if "\n\n" in text:
        return "".join(b + "\n\n" for b in text.split("\n\n")[:-1] if keep(b)) + \
            text.split("\n\n")[-1]
    return "".join(l for l in text.splitlines(keepends=True) if keep(l))


@pytest.mark.parametrize("name", archive_dumps())
def test_real_machine_dumps_match_pciutils(external, name):
    dumps, ids = external
    assert name in dumps, f"{name} not extracted from {ARCHIVE}"
    dump = dumps[name]
    orphans = orphan_functions(dump)
    for options in ([], ["-n"]):
        expected = without(pciutils(dump, "-i", str(ids), *options), orphans)
        assert rayos(dump, *options) == expected, options
        assert expected.strip() or orphans  # something was compared
    for options in (["-v"], ["-n", "-v"]):
        expected = without(pciutils(dump, "-i", str(ids), *options), orphans)
        assert verbose_essentials(rayos(dump, *options)) == verbose_essentials(expected), options
