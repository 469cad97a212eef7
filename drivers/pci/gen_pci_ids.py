#!/usr/bin/python3
"""Generates the kernel's compact PCI name table from pciutils' pci.ids.

Every class, subclass and programming interface and every vendor name are kept; device names
only for the vendors whose hardware QEMU and common PCs present, and subsystem names only where
the subsystem vendor is a virtual platform (what QEMU shows) or the subsystem repeats the
device's own IDs, so the kernel stays small (about
470 KiB).  Usage: gen_pci_ids.py PCI_IDS OUTPUT.c

`kept()` is the one definition of that subset; `write_ids()` writes it back in pci.ids form, so
tests can run pciutils' lspci with exactly the names the kernel knows (`lspci -i FILE`).
"""
import os
import sys

DEVICE_VENDORS = {
    0x8086, 0x1af4, 0x1b36, 0x1234, 0x10de, 0x1022, 0x10ec, 0x15ad, 0x1002, 0x144d, 0x1d0f,
    0x1013, 0x1106, 0x8087, 0x1b21, 0x1912, 0x168c, 0x14e4, 0x1c5c, 0x15b7, 0x1e0f, 0x126f,
    0x1cc1, 0x1987, 0x2646, 0x1344,
}

# Subsystem names only where the subsystem vendor is a virtual platform (what QEMU shows).
SUBSYSTEM_VENDORS = {0x1af4, 0x1b36, 0x1234, 0x15ad, 0x1d0f, 0x1414}


def parse(path):
    vendors, classes = [], []
    vendor = device = klass = subclass = None
    in_classes = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            depth = len(line) - len(line.lstrip("\t"))
            text = line.lstrip("\t")
            if depth == 0:
                if text.startswith("C "):
                    in_classes = True
                    code, name = text[2:].split(None, 1)
                    klass = int(code, 16)
                    classes.append((1, klass, 0, 0, name))
                    continue
                if len(text) > 4 and text[4] == " " and all(c in "0123456789abcdef" for c in text[:4]):
                    in_classes = False
                    vendor = {"id": int(text[:4], 16), "name": text[4:].strip(), "devices": []}
                    vendors.append(vendor)
                    continue
                in_classes = False  # another section (ignored)
                vendor = None
                continue
            if in_classes:
                code, name = text.split(None, 1)
                if depth == 1:
                    subclass = int(code, 16)
                    classes.append((2, klass, subclass, 0, name))
                elif depth == 2:
                    classes.append((3, klass, subclass, int(code, 16), name))
                continue
            if vendor is None:
                continue
            if depth == 1:
                code, name = text.split(None, 1)
                device = {"id": int(code, 16), "name": name, "subsystems": []}
                vendor["devices"].append(device)
            elif depth == 2 and device is not None:
                subvendor, subdevice, name = text.split(None, 2)
                device["subsystems"].append((int(subvendor, 16), int(subdevice, 16), name))
    return vendors, classes


class Strings:
    def __init__(self):
        self.offsets, self.blob = {}, bytearray()

    def add(self, text):
        if text not in self.offsets:
            self.offsets[text] = len(self.blob)
            self.blob += text.encode("utf-8") + b"\0"
        return self.offsets[text]


def c_string_lines(blob):
    out, line = [], ""
    for b in blob:
        if 0x20 <= b < 0x7f and chr(b) not in '"\\?':
            piece = chr(b)
        else:
            piece = "\\%03o" % b
        line += piece
        if len(line) > 90:
            out.append('    "%s"' % line)
            line = ""
    if line:
        out.append('    "%s"' % line)
    return "\n".join(out)


def kept(vendors):
    """The kernel's subset, sorted: [(vendor, [(device, [(subvendor, subdevice, name)])])]."""
    result = []
    for vendor in sorted(vendors, key=lambda v: v["id"]):
        devices = []
        if vendor["id"] in DEVICE_VENDORS:
            for device in sorted(vendor["devices"], key=lambda d: d["id"]):
                subsystems = [(sv, sd, name) for sv, sd, name in sorted(device["subsystems"])
                              if sv in SUBSYSTEM_VENDORS or (sv, sd) == (vendor["id"], device["id"])]
                devices.append((device, subsystems))
        result.append((vendor, devices))
    return result


def write_ids(vendors, classes, path):
    """The kernel's subset of the database in pci.ids form."""
    lines = []
    for vendor, devices in kept(vendors):
        lines.append("%04x  %s" % (vendor["id"], vendor["name"]))
        for device, subsystems in devices:
            lines.append("\t%04x  %s" % (device["id"], device["name"]))
            lines += ["\t\t%04x %04x  %s" % sub for sub in subsystems]
    for level, klass, subclass, prog_if, name in classes:
        if level == 1:
            lines.append("C %02x  %s" % (klass, name))
        elif level == 2:
            lines.append("\t%02x  %s" % (subclass, name))
        else:
            lines.append("\t\t%02x  %s" % (prog_if, name))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    vendors, classes = parse(sys.argv[1])
    strings = Strings()
    vendor_rows, device_rows, subsystem_rows = [], [], []
    for vendor, devices in kept(vendors):
        first = len(device_rows)
        for device, subsystems in devices:
            sub_first = len(subsystem_rows)
            for subvendor, subdevice, name in subsystems:
                subsystem_rows.append((subvendor, subdevice, strings.add(name)))
            device_rows.append((device["id"], strings.add(device["name"]), sub_first,
                                len(subsystem_rows) - sub_first))
        vendor_rows.append((vendor["id"], strings.add(vendor["name"]), first,
                            len(device_rows) - first))
    class_rows = [(level, c, s, p, strings.add(name)) for level, c, s, p, name in classes]

    # The layout header is private to drivers/pci: included by its path relative to the output,
    # since the kernel build has no include path to the source tree's root.
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pci_ids_table.h")
    header = os.path.relpath(header, os.path.dirname(os.path.abspath(sys.argv[2])))
    out = ["/* Generated by drivers/pci/gen_pci_ids.py from pci.ids; do not edit. */",
           '#include "%s"' % header, ""]
    out.append("const char pci_ids_strings[] =\n%s;" % c_string_lines(strings.blob))
    out.append("const struct pci_ids_vendor pci_ids_vendors[] = {")
    out += ["    {0x%04x, %d, %d, %d}," % row for row in vendor_rows]
    out.append("};")
    out.append("const unsigned pci_ids_vendor_count = %d;" % len(vendor_rows))
    out.append("const struct pci_ids_device pci_ids_devices[] = {")
    out += ["    {0x%04x, %d, %d, %d}," % row for row in device_rows] or ["    {0, 0, 0, 0},"]
    out.append("};")
    out.append("const struct pci_ids_subsystem pci_ids_subsystems[] = {")
    out += ["    {0x%04x, 0x%04x, %d}," % row for row in subsystem_rows] or ["    {0, 0, 0},"]
    out.append("};")
    out.append("const struct pci_ids_class pci_ids_classes[] = {")
    out += ["    {%d, 0x%02x, 0x%02x, 0x%02x, %d}," % row for row in class_rows]
    out.append("};")
    out.append("const unsigned pci_ids_class_count = %d;" % len(class_rows))
    with open(sys.argv[2], "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
