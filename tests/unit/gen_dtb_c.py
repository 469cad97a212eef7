#!/usr/bin/env python3
"""Turns a device tree blob into a C array.  QEMU's dumpdtb writes its whole 1 MiB buffer and
says so in totalsize; the array ends with the last block instead and totalsize says that.
Usage: gen_dtb_c.py BLOB SYMBOL OUT.c"""
import struct
import sys


def compact(data):
    """The blob cut after its last block, totalsize saying so (None if not a blob)."""
    (magic, total, off_struct, off_strings, off_reserve, _, _, _, strings_size,
     struct_size) = struct.unpack(">10I", data[:40])
    if magic != 0xD00DFEED or total > len(data):
        return None
    end = max(off_struct + struct_size, off_strings + strings_size, off_reserve + 16)
    return data[:4] + struct.pack(">I", end) + data[8:end]


def main():
    blob_path, symbol, out_path = sys.argv[1:4]
    data = compact(open(blob_path, "rb").read())
    if data is None:
        sys.exit(f"{blob_path}: not a device tree blob")
    lines = [f"/* Generated from {blob_path} by tests/unit/gen_dtb_c.py. */",
             "#include <stddef.h>", f"const unsigned char {symbol}[] = {{"]
    for i in range(0, len(data), 16):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + 16]) + ",")
    lines += ["};", f"const size_t {symbol}_size = {len(data)};", ""]
    with open(out_path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
