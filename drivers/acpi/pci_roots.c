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

/* Name segments compared as little-endian words: most bytes fail the first test, which keeps
 * the scan of a large DSDT cheap (it runs during boot enumeration). */
#define NAMESEG(a, b, c, d)                                                                        \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define SEG_HID NAMESEG('_', 'H', 'I', 'D')
#define SEG_BBN NAMESEG('_', 'B', 'B', 'N')
#define SEG_SEG NAMESEG('_', 'S', 'E', 'G')

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

/* The work the scans behind each candidate may do in all: linear in the block, so hostile AML
 * (thousands of host bridge IDs, each far from any Device) cannot make boot quadratic.  Real
 * tables use a small fraction of it; when it runs out, the remaining bridges count as unknown
 * (and the caller falls back to probing). */
#define BUDGET_PER_BYTE 8
#define BUDGET_MINIMUM  65536

/* The innermost Device containing offset (with start at or after floor), or false (also when
 * the budget is spent). */
static bool enclosing_device(const uint8_t *aml, size_t length, size_t offset, size_t floor,
                             struct span *device, size_t *budget)
{
    for (size_t q = offset; q-- > floor;) {
        if (*budget == 0)
            return false;
        --*budget;
        if (aml[q] == EXT_PREFIX && device_at(aml, length, q, device) && device->end > offset)
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

/* What declares the name segment at i (inside device): a Name with a constant, something else
 * we cannot read (a Name of another type, a Method), or nothing (a reference in code). */
static enum object_kind declaration_at(const uint8_t *aml, size_t i, const struct span *device,
                                       uint64_t *value)
{
    if (aml[i - 1] == NAME_OP)
        return integer_at(aml + i + 4, aml + device->end, value) ? OBJECT_CONSTANT
                                                                 : OBJECT_UNREADABLE;
    /* MethodOp PkgLength NameString: a method we cannot run. */
    for (unsigned k = 1; k <= 4 && i >= device->start + k + 1; k++) {
        size_t package;
        unsigned bytes;
        if (aml[i - k - 1] == METHOD_OP &&
            pkg_length(aml + i - k, aml + device->end, &package, &bytes) && bytes == k)
            return OBJECT_UNREADABLE;
    }
    return OBJECT_ABSENT;
}

struct device_objects {
    enum object_kind segment_kind, bus_kind;
    uint64_t segment, bus;
};

/* _SEG and _BBN declared directly in the device (not in a nested one), in one pass; false if
 * the budget ran out before the end. */
static bool device_objects(const uint8_t *aml, size_t length, const struct span *device,
                           struct device_objects *out, size_t *budget)
{
    for (size_t i = device->start + 3; i + 4 <= device->end; i++) {
        if (*budget == 0)
            return false;
        --*budget;
        if (aml[i] != '_')
            continue;
        uint32_t name = get_le32(aml + i);
        if (name != SEG_BBN && name != SEG_SEG)
            continue;
        enum object_kind *kind = name == SEG_BBN ? &out->bus_kind : &out->segment_kind;
        uint64_t *value = name == SEG_BBN ? &out->bus : &out->segment;
        if (*kind == OBJECT_CONSTANT)
            continue; /* the first declaration counts */
        uint64_t found = 0;
        enum object_kind here = declaration_at(aml, i, device, &found);
        if (here == OBJECT_ABSENT)
            continue;
        struct span inner;
        if (!enclosing_device(aml, length, i, device->start, &inner, budget)) {
            if (*budget == 0)
                return false;
            continue;
        }
        if (inner.start != device->start)
            continue; /* a nested device's own */
        *kind = here;
        *value = found;
    }
    return true;
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
    size_t budget = length <= (SIZE_MAX - BUDGET_MINIMUM) / BUDGET_PER_BYTE
                        ? BUDGET_PER_BYTE * length + BUDGET_MINIMUM
                        : SIZE_MAX;
    for (size_t i = 1; i + 4 < length; i++) {
        if (aml[i] != '_' || aml[i - 1] != NAME_OP || get_le32(aml + i) != SEG_HID ||
            !is_host_bridge_id(aml + i + 4, aml + length))
            continue;
        out->bridges++;
        struct span device;
        if (!enclosing_device(aml, length, i, 0, &device, &budget)) {
            out->unknown++;
            continue;
        }
        struct device_objects objects = {OBJECT_ABSENT, OBJECT_ABSENT, 0, 0};
        if (!device_objects(aml, length, &device, &objects, &budget) ||
            objects.segment_kind == OBJECT_UNREADABLE || objects.bus_kind == OBJECT_UNREADABLE)
            out->unknown++;
        else
            add_root(out, objects.segment, objects.bus);
    }
}
