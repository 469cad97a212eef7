/* PCI host bridges in AML, found without an interpreter.
 *
 * A host bridge is a Device whose _HID is PNP0A03 (PCI) or PNP0A08 (PCI Express), as an EISA ID
 * or a string.  Its root bus is its _BBN and its segment its _SEG, both 0 when absent (ACPI
 * specification).  Only what is declared with Name() and a constant integer can be read without
 * executing AML; a bridge whose _BBN or _SEG is a Method (or anything else) is counted as
 * "unknown", so the caller knows the description is incomplete and can probe instead.
 *
 * Devices are found by their encoding (ExtOpPrefix 0x5b, DeviceOp 0x82, PkgLength, NameString);
 * an object belongs to the innermost Device whose package contains it.  Bytes inside buffers can
 * look like a Device: that may misplace an object, never read outside the table.  Portable. */
#include <rayos/acpi.h>
#include <rayos/bytes.h>
#include <rayos/string.h>

#define NAME_OP    0x08
#define METHOD_OP  0x14
#define EXT_PREFIX 0x5b
#define DEVICE_OP  0x82

/* PkgLength at p: the package's length (counting the PkgLength bytes) and how many bytes the
 * encoding takes; false if it does not fit before end. */
static bool pkg_length(const uint8_t *p, const uint8_t *end, size_t *length, unsigned *bytes)
{
    if (p >= end)
        return false;
    unsigned follow = p[0] >> 6;
    if (end - p < 1 + (ptrdiff_t)follow)
        return false;
    size_t value = follow ? p[0] & 0x0f : p[0] & 0x3f;
    for (unsigned i = 0; i < follow; i++)
        value |= (size_t)p[1 + i] << (4 + 8 * i);
    *length = value;
    *bytes = 1 + follow;
    return true;
}

struct span {
    size_t start, end; /* the DeviceOp's first byte; one past its package */
};

/* The Device whose encoding starts at offset, if it is one and lies inside the block. */
static bool device_at(const uint8_t *aml, size_t length, size_t offset, struct span *device)
{
    if (offset + 2 >= length || aml[offset] != EXT_PREFIX || aml[offset + 1] != DEVICE_OP)
        return false;
    size_t package;
    unsigned bytes;
    if (!pkg_length(aml + offset + 2, aml + length, &package, &bytes) || package < bytes + 4 ||
        package > length - offset - 2)
        return false;
    device->start = offset;
    device->end = offset + 2 + package;
    return true;
}

/* The innermost Device containing offset (with start at or after floor), or false. */
static bool enclosing_device(const uint8_t *aml, size_t length, size_t offset, size_t floor,
                             struct span *device)
{
    for (size_t q = offset; q-- > floor;) {
        if (device_at(aml, length, q, device) && device->end > offset)
            return true;
    }
    return false;
}

/* A constant integer data object at p (Zero, One, Ones, Byte/Word/DWord/QWord prefixes). */
static bool integer_at(const uint8_t *p, const uint8_t *end, uint64_t *value)
{
    if (p >= end)
        return false;
    static const unsigned sizes[] = {[0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8};
    switch (p[0]) {
    case 0x00:
    case 0x01:
        *value = p[0];
        return true;
    case 0xff:
        *value = UINT64_MAX;
        return true;
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0e: {
        unsigned size = sizes[p[0]];
        if (end - p < 1 + (ptrdiff_t)size)
            return false;
        *value = 0;
        for (unsigned i = 0; i < size; i++)
            *value |= (uint64_t)p[1 + i] << (8 * i);
        return true;
    }
    }
    return false;
}

static bool is_host_bridge_id(const uint8_t *p, const uint8_t *end)
{
    /* EISA IDs PNP0A03 and PNP0A08 (compressed "PNP", then the product number). */
    if (end - p >= 5 && p[0] == 0x0c && p[1] == 0x41 && p[2] == 0xd0 && p[3] == 0x0a &&
        (p[4] == 0x03 || p[4] == 0x08))
        return true;
    return end - p >= 9 && p[0] == 0x0d &&
           (memcmp(p + 1, "PNP0A03", 8) == 0 || memcmp(p + 1, "PNP0A08", 8) == 0);
}

enum object_kind { OBJECT_ABSENT, OBJECT_CONSTANT, OBJECT_UNREADABLE };

/* The object `name` declared directly in the device (not in a nested one). */
static enum object_kind device_object(const uint8_t *aml, size_t length, const struct span *device,
                                      const char *name, uint64_t *value)
{
    enum object_kind kind = OBJECT_ABSENT;
    for (size_t i = device->start + 3; i + 4 <= device->end; i++) {
        if (memcmp(aml + i, name, 4) != 0)
            continue;
        struct span inner;
        if (!enclosing_device(aml, length, i, device->start, &inner) ||
            inner.start != device->start)
            continue; /* a nested device's own */
        if (aml[i - 1] == NAME_OP) {
            if (integer_at(aml + i + 4, aml + device->end, value))
                return OBJECT_CONSTANT;
            kind = OBJECT_UNREADABLE;
            continue;
        }
        /* MethodOp PkgLength NameString: a method we cannot run. */
        for (unsigned k = 1; k <= 4 && i >= k + 1; k++) {
            size_t package;
            unsigned bytes;
            if (aml[i - k - 1] == METHOD_OP &&
                pkg_length(aml + i - k, aml + device->end, &package, &bytes) && bytes == k)
                kind = OBJECT_UNREADABLE;
        }
    }
    return kind;
}

static void add_root(struct acpi_pci_roots *out, uint64_t segment, uint64_t bus)
{
    if (segment > 0xffff || bus > 0xff) {
        out->unknown++;
        return;
    }
    for (unsigned i = 0; i < out->known; i++) {
        if (out->roots[i].segment == segment && out->roots[i].bus == bus)
            return; /* the same root described twice */
    }
    if (out->known < ARRAY_SIZE(out->roots)) {
        out->roots[out->known].segment = (uint16_t)segment;
        out->roots[out->known].bus = (uint8_t)bus;
        out->known++;
    } else {
        out->unknown++;
    }
}

void acpi_find_pci_roots(const uint8_t *aml, size_t length, struct acpi_pci_roots *out)
{
    for (size_t i = 1; i + 4 < length; i++) {
        if (aml[i - 1] != NAME_OP || memcmp(aml + i, "_HID", 4) != 0 ||
            !is_host_bridge_id(aml + i + 4, aml + length))
            continue;
        out->bridges++;
        struct span device;
        if (!enclosing_device(aml, length, i, 0, &device)) {
            out->unknown++;
            continue;
        }
        uint64_t segment = 0, bus = 0;
        enum object_kind seg = device_object(aml, length, &device, "_SEG", &segment);
        enum object_kind bbn = device_object(aml, length, &device, "_BBN", &bus);
        if (seg == OBJECT_UNREADABLE || bbn == OBJECT_UNREADABLE)
            out->unknown++;
        else
            add_root(out, segment, bus);
    }
}
