"""The architecture seam holds (docs/ARCHITECTURE.md, "Architecture interface"): outside arch/,
kernel code includes no architecture header except through <rayos/io.h> and <rayos/smp.h> (and
lib/string.c's optional <asm/string.h>), and
no other folder's private header; a private header is included by its bare name from its own
folder (the kernel build has no -I. to find anything else).  arch/NAME includes
<rayos/...>, its own <asm/...> and its own headers only."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORTABLE_DIRS = ["kernel", "mm", "lib", "drivers", "fs", "include"]
# The only portable files that pull in an architecture's <asm/...> header (lib/string.c: the
# optional block copy and fill).
ASM_GATEWAYS = {"include/rayos/io.h": "asm/io.h", "include/rayos/smp.h": "asm/percpu.h",
                "lib/string.c": "asm/string.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(top):
    for directory in top:
        for dirpath, _, files in os.walk(os.path.join(ROOT, directory)):
            for name in sorted(files):
                if name.endswith((".c", ".h", ".S")):
                    path = os.path.join(dirpath, name)
                    yield os.path.relpath(path, ROOT), path


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def portable_violations(rel, path):
    found = []
    for kind, name in includes(path):
        if kind == "<" and name.startswith("asm/") and ASM_GATEWAYS.get(rel) != name:
            found.append(f"{rel}: <{name}> (only {', '.join(ASM_GATEWAYS)} may include <asm/...>)")
        elif kind == '"' and ("/" in name or not os.path.exists(
                os.path.join(os.path.dirname(path), name))):
            found.append(f'{rel}: "{name}" is not a header of its own folder')
    return found


def arch_violations(rel, path, arch_dir):
    found = []
    for kind, name in includes(path):
        if kind != '"':
            continue
        target = os.path.realpath(os.path.join(os.path.dirname(path), name))
        if not target.startswith(arch_dir + os.sep) or not os.path.exists(target):
            found.append(f'{rel}: "{name}" is not a header of {os.path.relpath(arch_dir, ROOT)}')
    return found


def all_violations():
    found = []
    for rel, path in sources(PORTABLE_DIRS):
        found += portable_violations(rel, path)
    arches = sorted(os.listdir(os.path.join(ROOT, "arch")))
    for arch in arches:
        arch_dir = os.path.realpath(os.path.join(ROOT, "arch", arch))
        for rel, path in sources([os.path.join("arch", arch)]):
            found += arch_violations(rel, path, arch_dir)
    return found


def test_no_file_crosses_the_seam():
    assert all_violations() == []


@pytest.mark.parametrize("line, bad", [
    ('#include "kernel/console.h"\n', True),
    ('#include "../acpi/acpi_internal.h"\n', True),
    ("#include <asm/io.h>\n", True),
    ('#include "private.h"\n', False),
    ("#include <rayos/io.h>\n", False),
])
def test_checker_catches_a_crossing(tmp_path, line, bad):
    """The checker itself: a driver including another folder's private header or an
    architecture header directly is reported; its own private header and <rayos/...> are not."""
    (tmp_path / "private.h").write_text("/* private */\n")
    driver = tmp_path / "driver.c"
    driver.write_text(line + "int x;\n")
    assert bool(portable_violations("drivers/x/driver.c", str(driver))) == bad


@pytest.mark.parametrize("line, bad", [
    ('#include "drivers/acpi/acpi_internal.h"\n', True),
    ('#include "../other/private.h"\n', True),
    ('#include "cpu.h"\n', False),
    ("#include <asm/io.h>\n", False),
])
def test_checker_catches_an_arch_crossing(tmp_path, line, bad):
    """arch/NAME may include its own headers and <...> ones, not another folder's."""
    arch_dir = tmp_path / "arch" / "toy"
    arch_dir.mkdir(parents=True)
    (arch_dir / "cpu.h").write_text("/* private */\n")
    (tmp_path / "arch" / "other").mkdir()
    (tmp_path / "arch" / "other" / "private.h").write_text("/* private */\n")
    setup = arch_dir / "setup.c"
    setup.write_text(line + "int x;\n")
    found = arch_violations("arch/toy/setup.c", str(setup), os.path.realpath(arch_dir))
    assert bool(found) == bad
