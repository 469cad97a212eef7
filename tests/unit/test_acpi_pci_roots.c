/* PCI host bridges read from AML without an interpreter: devices built here byte by byte in
 * the encoding the ACPI specification gives (DeviceOp, PkgLength, NameOp, MethodOp, integer
 * prefixes, EISA IDs), the way QEMU's pxb-pcie roots and common PC firmware write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/acpi.h>
#include <rayos/string.h>

static uint8_t aml[8192];
static size_t used;

static void emit(const void *bytes, size_t n)
{
    assert_true(used + n <= sizeof(aml));
    memcpy(aml + used, bytes, n);
    used += n;
}

static void byte(uint8_t b)
{
    emit(&b, 1);
}

/* Opens a package: returns where its PkgLength goes (two bytes reserved, filled by close). */
static size_t open_package(uint8_t op1, int op2)
{
    byte(op1);
    if (op2 >= 0)
        byte((uint8_t)op2);
    size_t at = used;
    used += 2;
    return at;
}

static void close_package(size_t at)
{
    size_t length = used - at; /* the PkgLength counts itself */
    assert_true(length < 4096);
    aml[at] = (uint8_t)(0x40 | (length & 0x0f));
    aml[at + 1] = (uint8_t)(length >> 4);
}

static size_t device(const char *name)
{
    size_t at = open_package(0x5b, 0x82);
    emit(name, 4);
    return at;
}

static void name_eisa(const char *name, uint8_t product)
{
    byte(0x08);
    emit(name, 4);
    const uint8_t id[] = {0x0c, 0x41, 0xd0, 0x0a, product};
    emit(id, sizeof(id));
}

static void name_string(const char *name, const char *value)
{
    byte(0x08);
    emit(name, 4);
    byte(0x0d);
    emit(value, strlen(value) + 1);
}

static void name_integer(const char *name, const uint8_t *encoded, size_t n)
{
    byte(0x08);
    emit(name, 4);
    emit(encoded, n);
}

static void method_returning_zero(const char *name)
{
    size_t at = open_package(0x14, -1);
    emit(name, 4);
    const uint8_t body[] = {0x00, 0xa4, 0x00}; /* flags, Return (Zero) */
    emit(body, sizeof(body));
    close_package(at);
}

static struct acpi_pci_roots roots;

static void find(void)
{
    memset(&roots, 0, sizeof(roots));
    acpi_find_pci_roots(aml, used, &roots);
}

static int setup(void **state)
{
    memset(aml, 0, sizeof(aml));
    used = 0;
    return 0;
}

static void test_root_and_expander_bridges(void **state)
{
    /* Scope (\_SB) { Device (PCI0) { _HID PNP0A08, _CID PNP0A03, children } Device (PC40) ... } */
    size_t sb = open_package(0x10, -1);
    emit("_SB_", 4);
    size_t pci0 = device("PCI0");
    name_eisa("_HID", 0x08);
    name_eisa("_CID", 0x03);
    size_t child = device("S00_"); /* a child with an object of the same name */
    const uint8_t child_bbn[] = {0x0a, 0x77};
    name_integer("_BBN", child_bbn, sizeof(child_bbn));
    close_package(child);
    close_package(pci0);
    size_t pc40 = device("PC40");
    const uint8_t bbn40[] = {0x0a, 0x40};
    name_integer("_BBN", bbn40, sizeof(bbn40)); /* before _HID, as QEMU writes it */
    name_string("_HID", "PNP0A08");
    close_package(pc40);
    size_t pc80 = device("PC80");
    name_eisa("_HID", 0x03);
    const uint8_t seg[] = {0x01};
    name_integer("_SEG", seg, sizeof(seg));
    const uint8_t bbn80[] = {0x0b, 0x80, 0x00};
    name_integer("_BBN", bbn80, sizeof(bbn80));
    close_package(pc80);
    close_package(sb);
    find();
    assert_int_equal(roots.bridges, 3);
    assert_int_equal(roots.unknown, 0);
    assert_int_equal(roots.known, 3);
    assert_int_equal(roots.roots[0].segment, 0);
    assert_int_equal(roots.roots[0].bus, 0); /* no _BBN: bus 0; the child's is not PCI0's */
    assert_int_equal(roots.roots[1].segment, 0);
    assert_int_equal(roots.roots[1].bus, 0x40);
    assert_int_equal(roots.roots[2].segment, 1);
    assert_int_equal(roots.roots[2].bus, 0x80);
}

static void test_method_bbn_is_unknown(void **state)
{
    /* The common firmware form: Method (_BBN) { Return (BN00 ()) }. */
    size_t pci0 = device("PCI0");
    name_eisa("_HID", 0x08);
    method_returning_zero("_BBN");
    close_package(pci0);
    size_t other = device("PCI1");
    name_eisa("_HID", 0x03);
    method_returning_zero("_SEG");
    close_package(other);
    find();
    assert_int_equal(roots.bridges, 2);
    assert_int_equal(roots.unknown, 2);
    assert_int_equal(roots.known, 0);
}

static void test_other_devices_and_references_ignored(void **state)
{
    size_t kbd = device("PS2K");
    name_eisa("_HID", 0x06); /* PNP0A06: not a PCI host bridge */
    close_package(kbd);
    size_t pci0 = device("PCI0");
    name_eisa("_HID", 0x08);
    const uint8_t store[] = {0x70, 0x0a, 0x05, '_', 'B', 'B', 'N'}; /* Store (5, _BBN) */
    emit(store, sizeof(store));
    const uint8_t bbn[] = {0x00};
    name_integer("_BBN", bbn, sizeof(bbn));
    close_package(pci0);
    size_t twice = device("PCI2"); /* the same root described again */
    name_string("_HID", "PNP0A03");
    close_package(twice);
    find();
    assert_int_equal(roots.bridges, 2);
    assert_int_equal(roots.unknown, 0);
    assert_int_equal(roots.known, 1);
    assert_int_equal(roots.roots[0].bus, 0);
}

static void test_truncated_and_impossible_values(void **state)
{
    size_t big = device("PCI3");
    name_eisa("_HID", 0x08);
    const uint8_t bbn[] = {0x0b, 0x00, 0x01}; /* bus 256 */
    name_integer("_BBN", bbn, sizeof(bbn));
    close_package(big);
    size_t bad = device("PCI4");
    name_eisa("_HID", 0x08);
    name_string("_BBN", "zero"); /* not an integer */
    close_package(bad);
    find();
    assert_int_equal(roots.bridges, 2);
    assert_int_equal(roots.unknown, 2);
    /* Cut the block inside the last device: its package no longer fits, so its _HID has no
     * device around it; nothing is read past the end. */
    size_t cut = used - 3;
    memset(&roots, 0, sizeof(roots));
    acpi_find_pci_roots(aml, cut, &roots);
    assert_int_equal(roots.bridges, 2);
    assert_int_equal(roots.unknown, 2);
    for (size_t length = 0; length < used; length++) {
        memset(&roots, 0, sizeof(roots));
        acpi_find_pci_roots(aml, length, &roots); /* ASan checks every prefix */
        assert_true(roots.known <= roots.bridges);
    }
}

static uint8_t big[1 << 20];

static void test_hostile_block_stays_linear(void **state)
{
    /* A MiB of host bridge IDs with no Device around them: each would send a scan back to the
     * start of the block (quadratic: about 10^10 steps).  The budget keeps it linear; every
     * bridge is counted, none is known. */
    static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08};
    size_t n = 0;
    for (; n + sizeof(hid) <= sizeof(big); n += sizeof(hid))
        memcpy(big + n, hid, sizeof(hid));
    memset(&roots, 0, sizeof(roots));
    acpi_find_pci_roots(big, n, &roots);
    assert_int_equal(roots.bridges, n / sizeof(hid));
    assert_int_equal(roots.unknown, roots.bridges);
    assert_int_equal(roots.known, 0);
    /* The same inside one Device whose body is all Method (_BBN) look-alikes: the device's own
     * scan is cut by the budget too, and the bridge counts as unknown. */
    memset(big, 0, sizeof(big));
    big[0] = 0x5b;
    big[1] = 0x82;
    size_t body = sizeof(big) - 2;
    big[2] = (uint8_t)(0xc0 | (body & 0x0f)); /* four-byte PkgLength */
    big[3] = (uint8_t)(body >> 4);
    big[4] = (uint8_t)(body >> 12);
    big[5] = (uint8_t)(body >> 20);
    memcpy(big + 6, "PCI0", 4);
    memcpy(big + 10, hid, sizeof(hid));
    static const uint8_t nested[] = {0x5b, 0x82, 0x0a, 'S', '0', '0', '_',
                                     0x08, '_',  'B',  'B', 'N', 0x00};
    for (size_t at = 20; at + sizeof(nested) <= sizeof(big); at += sizeof(nested))
        memcpy(big + at, nested, sizeof(nested));
    memset(&roots, 0, sizeof(roots));
    acpi_find_pci_roots(big, sizeof(big), &roots);
    assert_int_equal(roots.bridges, 1);
    assert_true(roots.known + roots.unknown == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_root_and_expander_bridges, setup),
        cmocka_unit_test_setup(test_method_bbn_is_unknown, setup),
        cmocka_unit_test_setup(test_other_devices_and_references_ignored, setup),
        cmocka_unit_test_setup(test_truncated_and_impossible_values, setup),
        cmocka_unit_test_setup(test_hostile_block_stays_linear, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
