"""The module loader links like ld: every module built here, placed at addresses A by the
loader's own code (build/module-link, the same lib/elf_module.c and arch relocations the kernel
runs), is byte for byte what GNU ld produces linking the same object at A with the same
symbol addresses.  ld merges duplicate strings of SHF_MERGE sections and the loader does not
(it loads sections as they are), so ld gets a copy of the object with that flag cleared."""
import glob
import os
import subprocess

import pytest

BUILD = os.environ.get("RAYOS_BUILD", "build")
TOOL = os.path.join(BUILD, "module-link-asan")
MODULES = sorted(glob.glob(os.path.join(BUILD, "modules", "*.ko")))
BASES = {"text": 0xFFFFFFFFC0200000, "rodata": 0xFFFFFFFFC0400000, "data": 0xFFFFFFFFC0600000}


def undefined_symbols(ko):
    out = subprocess.run(["nm", ko], capture_output=True, text=True, check=True).stdout
    return [line.split()[1] for line in out.splitlines() if line.split()[0] == "U"]


@pytest.mark.parametrize("ko", MODULES, ids=[os.path.basename(m) for m in MODULES])
def test_loader_output_equals_ld(ko, tmp_path):
    # Kernel symbols somewhere in the kernel's -2 GiB window, 16 bytes apart.
    symbols = {name: 0xFFFFFFFF80100000 + 16 * i for i, name in enumerate(undefined_symbols(ko))}
    defs = [f"{name}={address:#x}" for name, address in symbols.items()]
    out = tmp_path / "loaded"
    placed = subprocess.run([TOOL, ko, *(hex(BASES[r]) for r in ("text", "rodata", "data")),
                             str(out), *defs], capture_output=True, text=True, check=True)
    sections = [line.split() for line in placed.stdout.splitlines()]
    assert any(s[0] == ".text" for s in sections) and len(sections) >= 4, placed.stdout

    # The same placement as a linker script: each input section at the loader's address.
    script = ["SECTIONS {"]
    for name, region, offset, size, kind in sections:
        script.append(f"  {name} {BASES[region] + int(offset):#x} : {{ *({name}) }}")
    script += ["  /DISCARD/ : { *(*) }", "}"]
    (tmp_path / "place.ld").write_text("\n".join(script) + "\n")
    unmerged = tmp_path / "unmerged.o"
    merge_sections = [name for name, *_ in sections if name.startswith(".rodata.str")]
    subprocess.run(["objcopy", *(f"--set-section-flags={name}=alloc,load,readonly,data,contents"
                                 for name in merge_sections), ko, str(unmerged)], check=True)
    linked = tmp_path / "linked.elf"
    subprocess.run(["ld", "-nostdlib", "--no-warn-rwx-segments", "-z", "max-page-size=0x1000",
                    "-T", str(tmp_path / "place.ld"), "-o", str(linked), str(unmerged),
                    *(f"--defsym={d}" for d in defs)], check=True, capture_output=True)

    regions = {r: (tmp_path / f"loaded.{r}").read_bytes() for r in BASES}
    compared = 0
    for name, region, offset, size, kind in sections:
        mine = regions[region][int(offset):int(offset) + int(size)]
        if kind == "nobits":
            assert mine == bytes(int(size)), name
            continue
        dump = tmp_path / "section.bin"
        subprocess.run(["objcopy", "-O", "binary", f"--only-section={name}", str(linked),
                        str(dump)], check=True)
        theirs = dump.read_bytes()
        assert len(theirs) == int(size), name
        assert mine == theirs, f"{name} differs from ld's at offset " + str(
            next(i for i in range(len(mine)) if mine[i] != theirs[i]))
        compared += int(size)
    assert compared > 4096


def test_refuses_what_ld_would_need_a_got_for(tmp_path):
    """An object compiled as position-independent code needs GOT relocations: refused by name."""
    src = tmp_path / "pic.c"
    src.write_text("extern int counter;\nint bump(void) { return ++counter; }\n")
    obj = tmp_path / "pic.o"
    subprocess.run(["gcc", "-fPIC", "-O2", "-c", str(src), "-o", str(obj)], check=True)
    result = subprocess.run([TOOL, str(obj), "0", "0", "0", str(tmp_path / "x"),
                             "counter=0x1000"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "R_X86_64_REX_GOTPCRELX" in result.stderr or "R_X86_64_GOTPCREL" in result.stderr, \
        result.stderr
