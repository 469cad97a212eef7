/* MCFG windows against the boot memory map: a synthetic MCFG (the table as firmware lays it out)
 * and a memory map like QEMU q35's.  The regression case is issue 16's: a second segment whose
 * window lies over the kernel image in RAM, which enumeration used to read as configuration
 * space and BAR sizing wrote all ones into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/acpi.h>
#include <rayos/bytes.h>
#include <rayos/mm.h>
#include <rayos/string.h>

#include "drivers/pci/pci_core.h"

/* QEMU q35 with 256 MiB under SeaBIOS: the ECAM window is firmware-reserved. */
static const struct memory_region q35_map[] = {
    {0x0, 0x9fc00, MEMORY_USABLE},
    {0x9fc00, 0x400, MEMORY_RESERVED},
    {0xf0000, 0x10000, MEMORY_RESERVED},
    {0x100000, 0xfee0000, MEMORY_USABLE}, /* the kernel is loaded at 1 MiB */
    {0xffe0000, 0x20000, MEMORY_RESERVED},
    {0xb0000000, 0x10000000, MEMORY_RESERVED},
    {0xfed1c000, 0x4000, MEMORY_RESERVED},
    {0xfeffc000, 0x4000, MEMORY_RESERVED},
    {0xfffc0000, 0x40000, MEMORY_RESERVED},
};

static uint8_t table[36 + 8 + 16 * 8];

static const struct acpi_table_header *mcfg(unsigned entries)
{
    memset(table, 0, sizeof(table));
    memcpy(table, "MCFG", 4);
    put_le32(table + 4, 44 + 16 * entries);
    return (const struct acpi_table_header *)table;
}

static void entry(unsigned index, uint64_t base, uint16_t segment, uint8_t start, uint8_t end)
{
    uint8_t *e = table + 44 + 16 * index;
    put_le64(e, base);
    put_le16(e + 8, segment);
    e[10] = start;
    e[11] = end;
}

static bool usable(const struct acpi_mcfg_window *w, const char *expected_why)
{
    char why[128] = "";
    bool ok = pci_ecam_window_usable(w, q35_map, ARRAY_SIZE(q35_map), why, sizeof(why));
    if (expected_why)
        assert_string_equal(why, expected_why);
    return ok;
}

static void test_second_segment_over_the_kernel_rejected(void **state)
{
    const struct acpi_table_header *t = mcfg(2);
    entry(0, 0xb0000000, 0, 0, 0xff);
    entry(1, 0x100000, 1, 0, 57);
    struct acpi_mcfg_window windows[4];
    assert_int_equal(acpi_parse_mcfg(t, windows, 4), 2);
    assert_int_equal(windows[1].segment, 1);
    assert_int_equal(windows[1].base, 0x100000);
    assert_true(usable(&windows[0], NULL));
    assert_false(
        usable(&windows[1], "it overlaps usable RAM at 0x100000-0xffdffff in the memory map"));
}

static void test_every_kind_of_ram_and_low_memory_rejected(void **state)
{
    static const struct memory_region map[] = {
        {0xc0000000, 0x100000, MEMORY_ACPI_RECLAIMABLE},
        {0xc0200000, 0x100000, MEMORY_ACPI_NVS},
        {0xc0400000, 0x100000, MEMORY_BAD},
        {0xc0600000, 0x100000, MEMORY_RESERVED},
    };
    char why[128];
    struct acpi_mcfg_window w = {0xc0000000, 2, 0, 0};
    assert_false(pci_ecam_window_usable(&w, map, 4, why, sizeof(why)));
    assert_string_equal(why, "it overlaps ACPI tables at 0xc0000000-0xc00fffff in the memory map");
    w.base = 0xc0200000;
    assert_false(pci_ecam_window_usable(&w, map, 4, why, sizeof(why)));
    assert_string_equal(why,
                        "it overlaps ACPI NVS memory at 0xc0200000-0xc02fffff in the memory map");
    w.base = 0xc0400000;
    assert_false(pci_ecam_window_usable(&w, map, 4, why, sizeof(why)));
    w.base = 0xc0600000; /* firmware-reserved: where ECAM belongs */
    assert_true(pci_ecam_window_usable(&w, map, 4, why, sizeof(why)));
    w.base = 0xc0500000; /* a hole in the map */
    assert_true(pci_ecam_window_usable(&w, map, 4, why, sizeof(why)));
    w.base = 0xbff00000; /* two buses: the second reaches into ACPI tables */
    w.end_bus = 1;
    assert_false(pci_ecam_window_usable(&w, map, 4, why, sizeof(why)));
    w.base = 0;
    w.start_bus = w.end_bus = 0;
    assert_false(usable(&w, "it overlaps the first MiB (firmware data and legacy devices)"));
}

static void test_base_is_bus_zero_of_the_segment(void **state)
{
    /* Buses 80-ff of a window whose base lies in RAM: only [base + 0x80 MiB, base + 0x100 MiB)
     * is ECAM, and it is above the RAM. */
    static const struct memory_region map[] = {{0x100000000ull, 0x8000000, MEMORY_USABLE}};
    struct acpi_mcfg_window w = {0x100000000ull, 0, 0x80, 0xff};
    uint64_t start, end;
    pci_ecam_window_range(&w, &start, &end);
    assert_int_equal(start, 0x108000000ull);
    assert_int_equal(end, 0x110000000ull);
    char why[128];
    assert_true(pci_ecam_window_usable(&w, map, 1, why, sizeof(why)));
    w.start_bus = 0x7f;
    assert_false(pci_ecam_window_usable(&w, map, 1, why, sizeof(why)));
}

static void test_impossible_addresses_rejected(void **state)
{
    struct acpi_mcfg_window w = {0xb0000800, 0, 0, 0xff};
    assert_false(usable(&w, "base 0xb0000800 is not a 1 MiB-aligned physical address"));
    w.base = 1ull << 52;
    assert_false(usable(&w, "base 0x10000000000000 is not a 1 MiB-aligned physical address"));
    w.base = (1ull << 52) - (1ull << 20);
    assert_false(usable(&w, "it ends beyond the physical address space"));
}

static void test_malformed_entries_skipped(void **state)
{
    const struct acpi_table_header *t = mcfg(4);
    entry(0, 0, 0, 0, 0xff);             /* no base */
    entry(1, 0xb0000000, 0, 0x10, 0x0f); /* end below start */
    entry(2, 0xe0000000, 3, 0, 0x3f);
    entry(3, 0xf0000000, 4, 0, 0x3f);
    put_le32(table + 4, 44 + 16 * 3 + 15); /* the last entry is cut short */
    struct acpi_mcfg_window windows[4];
    assert_int_equal(acpi_parse_mcfg(t, windows, 4), 1);
    assert_int_equal(windows[0].segment, 3);
    assert_int_equal(windows[0].end_bus, 0x3f);
    put_le32(table + 4, 44 + 16 * 4);
    assert_int_equal(acpi_parse_mcfg(t, windows, 1), 1); /* no more than asked for */
}

static void test_overlapping_windows_refused(void **state)
{
    const struct acpi_mcfg_window first = {0xb0000000, 0, 0, 0xff};
    struct acpi_mcfg_window w = {0xe0000000, 0, 0x80, 0x8f}; /* segment 0 buses again */
    char why[128];
    assert_false(pci_ecam_windows_disjoint(&w, &first, why, sizeof(why)));
    assert_string_equal(why, "buses 00-ff of segment 0000 already have a window");
    w = (struct acpi_mcfg_window){0xb0000000, 1, 0x10, 0x1f}; /* segment 1 aliasing segment 0 */
    assert_false(pci_ecam_windows_disjoint(&w, &first, why, sizeof(why)));
    assert_string_equal(why, "its memory overlaps the window of segment 0000 buses 00-ff");
    w = (struct acpi_mcfg_window){0xc0000000, 1, 0, 0xff}; /* right after it */
    assert_true(pci_ecam_windows_disjoint(&w, &first, why, sizeof(why)));
    /* Same base, disjoint buses of another segment: the ranges start at base + start bus. */
    const struct acpi_mcfg_window low = {0xd0000000, 2, 0x00, 0x7f};
    w = (struct acpi_mcfg_window){0xd0000000, 3, 0x80, 0xff};
    assert_true(pci_ecam_windows_disjoint(&w, &low, why, sizeof(why)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_segment_over_the_kernel_rejected),
        cmocka_unit_test(test_every_kind_of_ram_and_low_memory_rejected),
        cmocka_unit_test(test_base_is_bus_zero_of_the_segment),
        cmocka_unit_test(test_impossible_addresses_rejected),
        cmocka_unit_test(test_malformed_entries_skipped),
        cmocka_unit_test(test_overlapping_windows_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
