#!/usr/bin/env python3
"""Finishes a kernel module: checks that every symbol it needs is exported (by the kernel,
kernel/exports.c, or by another module), and writes its .modinfo section as assembly: name,
version, the kernel ABI (FNV-1a over the sorted export names, as kernel/module.c computes it),
dependencies and the device aliases generated from its match table.  Also writes the module's
lines of the alias index.

usage: modpost.py NAME VERSION MODULE.o EXPORTS.c OUT.S OUT.alias [OTHER-MODULE.o ...]"""
import re
import struct
import sys

PCI_ANY_ID = 0xFFFFFFFF


def elf_symbols(path):
    """(symbols, sections) of an ELF64 relocatable object: symbols as (name, shndx, value,
    size, bind), sections as (name, offset, size)."""
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit(f"modpost: {path}: not an ELF64 object")
    shoff, = struct.unpack_from("<Q", data, 40)
    shnum, shstrndx = struct.unpack_from("<HH", data, 60)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(shnum)]
    names = headers[shstrndx]

    def string(table, offset):
        start = table[4] + offset
        return data[start:data.index(b"\0", start)].decode()

    sections = [(string(names, h[0]), h[4], h[5]) for h in headers]
    symbols = []
    for h in headers:
        if h[1] != 2:  # SHT_SYMTAB
            continue
        strtab = headers[h[6]]
        for at in range(h[4] + 24, h[4] + h[5], 24):
            name_offset, info, _, shndx, value, size = struct.unpack_from("<IBBHQQ", data, at)
            symbols.append((string(strtab, name_offset), shndx, value, size, info >> 4))
    return data, symbols, sections


def kernel_exports(paths):
    """The kernel's exports: kernel/exports.c and the architecture's own (arch/NAME/exports.c),
    given as one colon-separated list."""
    names = set()
    for path in paths.split(":"):
        names |= set(re.findall(r"^EXPORT_SYMBOL\((\w+)\);", open(path).read(), re.M))
    return sorted(names)


def abi_hash(names):
    value = 0xCBF29CE484222325
    for name in names:
        for byte in name.encode() + b"\n":
            value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def pci_aliases(data, symbols, sections):
    """Patterns for each entry of the table MODULE_DEVICE_TABLE(pci, ...) marked."""
    table = [s for s in symbols if s[0] == "__module_pci_device_table" and s[1] != 0]
    if not table:
        return []
    _, shndx, value, size, _ = table[0]
    base = sections[shndx][1] + value
    aliases = []
    for at in range(base, base + size, 32):
        vendor, device, subvendor, subdevice, class_code, class_mask = \
            struct.unpack_from("<6I", data, at)
        if not (vendor or device or subvendor or subdevice or class_mask):
            break

        def field(v, width):
            return "*" if v == PCI_ANY_ID else f"{v:0{width}X}"

        def class_byte(shift):
            if (class_mask >> shift) & 0xFF != 0xFF:
                return "*"
            return f"{(class_code >> shift) & 0xFF:02X}"

        aliases.append(f"pci:v{field(vendor, 8)}d{field(device, 8)}sv{field(subvendor, 8)}"
                       f"sd{field(subdevice, 8)}bc{class_byte(16)}sc{class_byte(8)}"
                       f"i{class_byte(0)}")
    return aliases


def main():
    name, version, obj, exports_c, out_s, out_alias = sys.argv[1:7]
    others = sys.argv[7:]
    data, symbols, sections = elf_symbols(obj)
    exported = set(kernel_exports(exports_c))
    provided = {}
    for other in others:
        other_name = other.rsplit("/", 1)[-1].split(".")[0]
        for sym in elf_symbols(other)[1]:
            if sym[0].startswith("__export_") and sym[1] != 0:
                provided[sym[0][len("__export_"):]] = other_name
    defined = {s[0] for s in symbols if s[1] != 0}
    depends = []
    missing = []
    for sym in sorted({s[0] for s in symbols if s[1] == 0 and s[0]} - defined):
        if sym == "__this_module" or sym in exported:
            continue
        if sym in provided:
            if provided[sym] not in depends:
                depends.append(provided[sym])
        else:
            missing.append(sym)
    if missing:
        sys.exit(f"modpost: {name}: needs symbols nothing exports: {', '.join(missing)} "
                 "(add them to kernel/exports.c or export them from a module)")
    aliases = pci_aliases(data, symbols, sections)
    # MODULE_ALIAS() entries already sit in the object's .modinfo section.
    for section_name, offset, size in sections:
        if section_name == ".modinfo":
            for entry in data[offset:offset + size].split(b"\0"):
                if entry.startswith(b"alias="):
                    aliases.append(entry[len("alias="):].decode())
    entries = [f"name={name}", f"version={version}", f"abi={abi_hash(sorted(exported))}",
               f"depends={','.join(depends)}"] + [f"alias={a}" for a in pci_aliases(data, symbols, sections)]
    with open(out_s, "w") as f:
        f.write('\t.section .modinfo, "a"\n')
        for entry in entries:
            f.write(f'\t.asciz "{entry}"\n')
        f.write('\t.section .note.GNU-stack, "", @progbits\n')
    with open(out_alias, "w") as f:
        for alias in aliases:
            f.write(f"alias {alias} {name}\n")


main()
