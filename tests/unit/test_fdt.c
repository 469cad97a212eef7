/* Device tree reader: QEMU's virt tree as QEMU dumps it, trees built here for addresses,
 * /chosen and reservations, and malformed blobs that fdt_open() must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/fdt.h>

#include "fdt_builder.h"
#include "qemu_virt_dtb.h"

static void open_virt(struct fdt *fdt)
{
    int error = fdt_open(fdt, qemu_virt_dtb, qemu_virt_dtb_size);
    if (error)
        fail_msg("virt tree rejected: %s", fdt->why);
}

static void test_virt_nodes_and_paths(void **state)
{
    struct fdt fdt;
    open_virt(&fdt);
    assert_int_equal(fdt.version, 17);
    assert_true(fdt_is_compatible(&fdt, fdt.root, "linux,dummy-virt"));
    assert_string_equal(fdt_node_name(&fdt, fdt.root), "");
    assert_int_equal(fdt_parent(&fdt, fdt.root), FDT_NONE);
    int uart = fdt_find_path(&fdt, "/pl011@9000000");
    assert_int_not_equal(uart, FDT_NONE);
    assert_int_equal(fdt_find_compatible(&fdt, FDT_NONE, "arm,pl011"), uart);
    assert_int_equal(fdt_find_path(&fdt, "/pl011"), uart); /* no unit address: first match */
    assert_int_equal(fdt_find_path(&fdt, "//pl011@9000000/"), uart);
    assert_int_equal(fdt_find_path(&fdt, "/pl011@9000001"), FDT_NONE);
    assert_int_equal(fdt_find_path(&fdt, "pl011@9000000"), FDT_NONE); /* not absolute */
    assert_int_equal(fdt_parent(&fdt, uart), fdt.root);
    uint32_t len;
    const void *compatible = fdt_property(&fdt, uart, "compatible", &len);
    assert_int_equal(len, 24);
    assert_string_equal(fdt_stringlist_get(compatible, len, 1), "arm,primecell");
    /* The ITS is a child of the GIC. */
    int its = fdt_find_compatible(&fdt, FDT_NONE, "arm,gic-v3-its");
    int gic = fdt_find_compatible(&fdt, FDT_NONE, "arm,gic-v3");
    assert_int_equal(fdt_parent(&fdt, its), gic);
    assert_int_equal(fdt_find_path(&fdt, "/intc@8000000/its@8080000"), its);
    assert_int_equal(fdt_first_child(&fdt, gic), its);
    assert_int_equal(fdt_next_sibling(&fdt, its), FDT_NONE);
    /* 32 virtio-mmio transports, in ascending document order of offsets. */
    unsigned count = 0;
    for (int node = fdt_find_compatible(&fdt, FDT_NONE, "virtio,mmio"); node != FDT_NONE;
         node = fdt_find_compatible(&fdt, node, "virtio,mmio"))
        count++;
    assert_int_equal(count, 32);
    /* Every node is reached by next_node and by its parent's child list. */
    unsigned nodes = 0;
    for (int node = fdt_next_node(&fdt, FDT_NONE); node != FDT_NONE;
         node = fdt_next_node(&fdt, node), nodes++) {
        int parent = fdt_parent(&fdt, node);
        if (parent == FDT_NONE) {
            assert_int_equal(node, fdt.root);
            continue;
        }
        int child = fdt_first_child(&fdt, parent);
        while (child != FDT_NONE && child != node)
            child = fdt_next_sibling(&fdt, child);
        assert_int_equal(child, node);
    }
    assert_true(nodes > 50);
}

static void test_virt_properties(void **state)
{
    struct fdt fdt;
    open_virt(&fdt);
    int uart = fdt_find_path(&fdt, "/pl011@9000000");
    uint64_t base, size;
    assert_int_equal(fdt_reg(&fdt, uart, 0, &base, &size), 0);
    assert_int_equal(base, 0x9000000);
    assert_int_equal(size, 0x1000);
    assert_int_equal(fdt_reg(&fdt, uart, 1, &base, &size), -ENOENT);
    assert_int_equal(fdt_address_cells(&fdt, fdt.root), 2);
    assert_int_equal(fdt_size_cells(&fdt, fdt.root), 2);
    int gic = fdt_interrupt_parent(&fdt, uart);
    assert_string_equal(fdt_node_name(&fdt, gic), "intc@8000000");
    assert_int_equal(fdt_interrupt_cells(&fdt, gic), 3);
    uint32_t len;
    const uint8_t *interrupts = fdt_property(&fdt, uart, "interrupts", &len);
    assert_int_equal(len, 12);
    assert_int_equal(get_be32(interrupts + 4), 1); /* SPI 1 */
    assert_null(fdt_property(&fdt, uart, "no-such-property", &len));
    /* Property iteration sees every property once. */
    const char *name;
    const void *value;
    unsigned properties = 0;
    bool saw_reg = false;
    for (int p = fdt_next_property(&fdt, uart, FDT_NONE, &name, &value, &len); p != FDT_NONE;
         p = fdt_next_property(&fdt, uart, p, &name, &value, &len), properties++)
        saw_reg |= strcmp(name, "reg") == 0 && len == 16;
    assert_int_equal(properties, 5);
    assert_true(saw_reg);
    /* The GIC's second reg entry (the redistributors). */
    assert_int_equal(fdt_reg(&fdt, gic, 1, &base, &size), 0);
    assert_int_equal(base, 0x80a0000);
    assert_int_equal(size, 0xf60000);
    /* The ITS sits under the GIC's empty ranges: identity. */
    int its = fdt_first_child(&fdt, gic);
    assert_int_equal(fdt_reg(&fdt, its, 0, &base, &size), 0);
    assert_int_equal(base, 0x8080000);
}

static void test_virt_chosen_memory_pci_ranges(void **state)
{
    struct fdt fdt;
    open_virt(&fdt);
    const char *options;
    int console = fdt_stdout_node(&fdt, &options);
    assert_string_equal(fdt_node_name(&fdt, console), "pl011@9000000");
    assert_null(options);
    assert_null(fdt_bootargs(&fdt)); /* none without -append */
    struct fdt_region regions[4];
    assert_int_equal(fdt_memory_regions(&fdt, regions, 4), 1);
    assert_int_equal(regions[0].base, 0x40000000);
    assert_int_equal(regions[0].size, 128 << 20);
    assert_int_equal(fdt_reserved_regions(&fdt, regions, 4), 0);
    int pcie = fdt_find_compatible(&fdt, FDT_NONE, "pci-host-ecam-generic");
    struct fdt_range range;
    assert_int_equal(fdt_range(&fdt, pcie, 0, &range), 0);
    assert_int_equal(range.child_flags, 0x01000000); /* I/O */
    assert_int_equal(range.child, 0);
    assert_int_equal(range.parent, 0x3eff0000);
    assert_int_equal(range.size, 0x10000);
    assert_int_equal(fdt_range(&fdt, pcie, 2, &range), 0);
    assert_int_equal(range.child_flags, 0x03000000); /* 64-bit memory */
    assert_int_equal(range.child, 0x8000000000);
    assert_int_equal(range.size, 0x8000000000);
    assert_int_equal(fdt_range(&fdt, pcie, 3, &range), -ENOENT);
    uint64_t ecam, size;
    assert_int_equal(fdt_reg(&fdt, pcie, 0, &ecam, &size), 0);
    assert_int_equal(ecam, 0x4010000000);
    assert_int_equal(size, 0x10000000);
}

/* QEMU hands the guest the whole 1 MiB buffer, the tree's total size saying so. */
static void test_virt_in_a_larger_buffer(void **state)
{
    size_t total = 1 << 20;
    uint8_t *blob = calloc(1, total);
    memcpy(blob, qemu_virt_dtb, qemu_virt_dtb_size);
    blob[4] = 0x00, blob[5] = 0x10, blob[6] = 0, blob[7] = 0;
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, total), 0);
    assert_int_equal(fdt.total_size, total);
    assert_int_equal(fdt_open(&fdt, blob, total - 1), -EINVAL); /* buffer shorter than tree */
    assert_non_null(strstr(fdt.why, "total size"));
    free(blob);
}

/* A bus with a translating ranges, a bus without ranges, aliases, reservations. */
static uint8_t *build_board(size_t *size)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_reserve(&b, 0x48000000, 0x100000);
    fdt_builder_begin(&b, "");
    fdt_builder_cells(&b, "#address-cells", 1, 2);
    fdt_builder_cells(&b, "#size-cells", 1, 2);
    fdt_builder_begin(&b, "chosen");
    fdt_builder_string(&b, "bootargs", "console=ttyAMA0 pci=assign-all");
    fdt_builder_string(&b, "stdout-path", "serial0:115200n8");
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "aliases");
    fdt_builder_string(&b, "serial0", "/soc/serial@1000");
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "memory@40000000");
    fdt_builder_string(&b, "device_type", "memory");
    fdt_builder_cells(&b, "reg", 8, 0, 0x40000000, 0, 0x10000000, 1, 0, 0, 0x20000000);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "memory@0");
    fdt_builder_string(&b, "device_type", "memory");
    fdt_builder_string(&b, "status", "disabled");
    fdt_builder_cells(&b, "reg", 4, 0, 0, 0, 0x1000);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "reserved-memory");
    fdt_builder_cells(&b, "#address-cells", 1, 2);
    fdt_builder_cells(&b, "#size-cells", 1, 2);
    fdt_builder_prop(&b, "ranges", NULL, 0);
    fdt_builder_begin(&b, "firmware@4f000000");
    fdt_builder_cells(&b, "reg", 4, 0, 0x4f000000, 0, 0x200000);
    fdt_builder_prop(&b, "no-map", NULL, 0);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "pool");
    fdt_builder_cells(&b, "size", 2, 0, 0x400000); /* dynamic: not listed */
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "soc");
    fdt_builder_strings(&b, "compatible", "simple-bus");
    fdt_builder_cells(&b, "#address-cells", 1, 1);
    fdt_builder_cells(&b, "#size-cells", 1, 1);
    fdt_builder_cells(&b, "ranges", 4, 0, 0, 0x10000000, 0x100000); /* child 0 -> 0x10000000 */
    fdt_builder_begin(&b, "serial@1000");
    fdt_builder_strings(&b, "compatible", "vendor,uart\nns16550a");
    fdt_builder_cells(&b, "reg", 2, 0x1000, 0x100);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "outside@200000");
    fdt_builder_cells(&b, "reg", 2, 0x200000, 0x100); /* beyond the soc's range */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "straddle@ff000");
    fdt_builder_cells(&b, "reg", 2, 0xff000, 0x2000); /* runs past the range's end */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "badreg@0");
    fdt_builder_cells(&b, "reg", 3, 0, 0x100, 7); /* not a whole number of entries */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "inner");
    fdt_builder_cells(&b, "ranges", 3, 0x8000, 0x4000, 0x1000); /* inherits 1/1 cells */
    fdt_builder_begin(&b, "timer@8010");
    fdt_builder_cells(&b, "reg", 2, 0x8010, 0x10);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "opaque-bus");
    fdt_builder_cells(&b, "#address-cells", 1, 1);
    fdt_builder_cells(&b, "#size-cells", 1, 1);
    fdt_builder_begin(&b, "thing@10");
    fdt_builder_cells(&b, "reg", 2, 0x10, 0x10);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    uint8_t *blob = fdt_builder_finish(&b, size);
    fdt_builder_free(&b);
    return blob;
}

static void test_translation(void **state)
{
    size_t size;
    uint8_t *blob = build_board(&size);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), 0);
    uint64_t address, length;
    int serial = fdt_find_path(&fdt, "/soc/serial@1000");
    assert_int_equal(fdt_reg_raw(&fdt, serial, 0, &address, &length), 0);
    assert_int_equal(address, 0x1000);
    assert_int_equal(fdt_reg(&fdt, serial, 0, &address, &length), 0);
    assert_int_equal(address, 0x10001000);
    assert_int_equal(length, 0x100);
    assert_int_equal(fdt_reg(&fdt, fdt_find_path(&fdt, "/soc/outside"), 0, &address, &length),
                     -ERANGE);
    assert_int_equal(fdt_reg(&fdt, fdt_find_path(&fdt, "/soc/straddle"), 0, &address, &length),
                     -ERANGE);
    assert_int_equal(fdt_reg(&fdt, fdt_find_path(&fdt, "/soc/badreg"), 0, &address, &length),
                     -EINVAL);
    /* Two levels: 0x8010 -> 0x4010 (inner) -> 0x10004010 (soc). */
    assert_int_equal(fdt_reg(&fdt, fdt_find_path(&fdt, "/soc/inner/timer"), 0, &address, &length),
                     0);
    assert_int_equal(address, 0x10004010);
    assert_int_equal(fdt_address_cells(&fdt, fdt_find_path(&fdt, "/soc/inner")), 1);
    /* A bus without ranges is not visible from the CPU. */
    assert_int_equal(
        fdt_reg(&fdt, fdt_find_path(&fdt, "/opaque-bus/thing@10"), 0, &address, &length), -ERANGE);
    assert_int_equal(fdt_reg(&fdt, fdt.root, 0, &address, &length), -EINVAL);
    struct fdt_range range;
    assert_int_equal(fdt_range(&fdt, fdt_find_path(&fdt, "/soc"), 0, &range), 0);
    assert_int_equal(range.parent, 0x10000000);
    assert_int_equal(range.size, 0x100000);
    free(blob);
}

static void test_chosen_memory_reservations(void **state)
{
    size_t size;
    uint8_t *blob = build_board(&size);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), 0);
    assert_string_equal(fdt_bootargs(&fdt), "console=ttyAMA0 pci=assign-all");
    const char *options;
    int console = fdt_stdout_node(&fdt, &options);
    assert_int_equal(console, fdt_find_path(&fdt, "/soc/serial@1000"));
    assert_string_equal(options, "115200n8");
    assert_true(fdt_is_compatible(&fdt, console, "ns16550a"));
    assert_false(fdt_is_compatible(&fdt, console, "ns16550"));
    struct fdt_region regions[4];
    assert_int_equal(fdt_memory_regions(&fdt, regions, 4), 2); /* the disabled one skipped */
    assert_int_equal(regions[0].base, 0x40000000);
    assert_int_equal(regions[1].base, 0x100000000);
    assert_int_equal(regions[1].size, 0x20000000);
    assert_int_equal(fdt_memory_regions(&fdt, regions, 1), 2); /* count beyond the array */
    assert_int_equal(fdt_reserved_regions(&fdt, regions, 4), 2);
    assert_int_equal(regions[0].base, 0x48000000);
    assert_int_equal(regions[0].size, 0x100000);
    assert_int_equal(regions[1].base, 0x4f000000);
    assert_int_equal(regions[1].size, 0x200000);
    free(blob);
}

static void test_string_lists(void **state)
{
    static const char list[] = "a,b\0c\0";
    assert_string_equal(fdt_stringlist_get(list, sizeof(list) - 1, 0), "a,b");
    assert_string_equal(fdt_stringlist_get(list, sizeof(list) - 1, 1), "c");
    assert_null(fdt_stringlist_get(list, sizeof(list) - 1, 2));
    assert_true(fdt_stringlist_contains(list, sizeof(list) - 1, "c"));
    assert_false(fdt_stringlist_contains(list, sizeof(list) - 1, "a"));
    assert_false(fdt_stringlist_contains(list, 2, "a,")); /* not terminated: refused */
    assert_null(fdt_stringlist_get(list, 0, 0));
}

/* ---- Malformed blobs ---- */

static uint8_t *small_tree(size_t *size)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_begin(&b, "");
    fdt_builder_cells(&b, "#address-cells", 1, 1);
    fdt_builder_begin(&b, "node@1");
    fdt_builder_string(&b, "compatible", "x");
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    uint8_t *blob = fdt_builder_finish(&b, size);
    fdt_builder_free(&b);
    return blob;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The blob with the header word at offset set to value must be refused with reason. */
static void expect_header_refused(unsigned offset, uint32_t value, const char *reason)
{
    size_t size;
    uint8_t *blob = small_tree(&size);
    put32(blob + offset, value);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), -EINVAL);
    if (!strstr(fdt.why, reason))
        fail_msg("header word %u = %#x: \"%s\" lacks \"%s\"", offset, value, fdt.why, reason);
    assert_int_equal(fdt_next_node(&fdt, FDT_NONE), FDT_NONE); /* nothing to walk */
    free(blob);
}

static void test_bad_headers(void **state)
{
    size_t size;
    uint8_t *blob = small_tree(&size);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), 0);
    uint32_t off_struct = get_be32(blob + 8), off_strings = get_be32(blob + 12);
    assert_int_equal(fdt_open(&fdt, blob, 39), -EINVAL);
    assert_int_equal(fdt_open(&fdt, NULL, 0), -EINVAL);
    for (size_t cut = 0; cut < size; cut++) /* every truncation */
        assert_int_equal(fdt_open(&fdt, blob, cut), -EINVAL);
    free(blob);
    expect_header_refused(0, 0xd00dfeee, "magic");
    expect_header_refused(20, 15, "version");         /* too old */
    expect_header_refused(24, 18, "version");         /* needs a newer reader */
    expect_header_refused(4, 0x10000, "total");       /* larger than the buffer */
    expect_header_refused(4, 20, "total");            /* smaller than a header */
    expect_header_refused(8, 0x10000, "beyond");      /* structure offset out of the blob */
    expect_header_refused(8, off_struct + 2, "");     /* misaligned structure */
    expect_header_refused(36, 0xfffffff0, "beyond");  /* huge structure size */
    expect_header_refused(36, 6, "");                 /* structure size not a token multiple */
    expect_header_refused(32, 0xffffff00, "beyond");  /* huge strings size */
    expect_header_refused(12, off_struct, "overlap"); /* strings inside the structure */
    expect_header_refused(12, 8, "overlap");          /* strings over the header */
    expect_header_refused(8, 0, "overlap");           /* structure over the header */
    expect_header_refused(16, 44, "aligned");         /* reservations misaligned */
    expect_header_refused(16, 8, "outside");          /* reservations over the header */
    expect_header_refused(16, off_strings + 8, "");   /* reservations in the strings */
}

static void test_reservation_block_without_end(void **state)
{
    size_t size;
    uint8_t *blob = small_tree(&size);
    memset(blob + 40, 0xff, 16); /* the terminator becomes an entry: no end before the tree */
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), -EINVAL);
    assert_non_null(strstr(fdt.why, "reservation"));
    free(blob);
}

/* A structure block of raw words (after the root's begin token), checked for the reason. */
static void expect_structure_refused(const uint32_t *words, unsigned count, const char *reason)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_string(&b, "name", "v"); /* a strings-block entry: offset 0 */
    b.structure_size = 0;                /* drop the property, keep its name */
    for (unsigned i = 0; i < count; i++)
        fdt_builder_word(&b, words[i]);
    size_t size;
    uint8_t *blob = fdt_builder_finish(&b, &size);
    fdt_builder_free(&b);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), -EINVAL);
    if (!strstr(fdt.why, reason))
        fail_msg("\"%s\" lacks \"%s\"", fdt.why, reason);
    free(blob);
}

#define BEGIN_ROOT 1, 0 /* begin token, empty name padded */
#define END        2

static void test_bad_structures(void **state)
{
    const uint32_t unknown[] = {BEGIN_ROOT, 7, END};
    expect_structure_refused(unknown, ARRAY_SIZE(unknown), "unknown token");
    const uint32_t open_node[] = {BEGIN_ROOT};
    expect_structure_refused(open_node, ARRAY_SIZE(open_node), "open");
    const uint32_t extra_end[] = {BEGIN_ROOT, END, END};
    expect_structure_refused(extra_end, ARRAY_SIZE(extra_end), "outside any node");
    const uint32_t two_roots[] = {BEGIN_ROOT, END, BEGIN_ROOT, END};
    expect_structure_refused(two_roots, ARRAY_SIZE(two_roots), "second root");
    const uint32_t no_root[] = {4, 4};
    expect_structure_refused(no_root, ARRAY_SIZE(no_root), "no root");
    const uint32_t huge_property[] = {BEGIN_ROOT, 3, 0x7ffffff0, 0, END};
    expect_structure_refused(huge_property, ARRAY_SIZE(huge_property), "runs past");
    const uint32_t bad_name_offset[] = {BEGIN_ROOT, 3, 0, 0x100, END};
    expect_structure_refused(bad_name_offset, ARRAY_SIZE(bad_name_offset), "name offset");
    const uint32_t property_outside[] = {3, 0, 0, BEGIN_ROOT, END};
    expect_structure_refused(property_outside, ARRAY_SIZE(property_outside), "outside a node");
    const uint32_t property_after_child[] = {BEGIN_ROOT, 1, 0x61000000, END, 3, 0, 0, END};
    expect_structure_refused(property_after_child, ARRAY_SIZE(property_after_child),
                             "after a child");
    const uint32_t empty_child_name[] = {BEGIN_ROOT, 1, 0, END, END};
    expect_structure_refused(empty_child_name, ARRAY_SIZE(empty_child_name), "empty name");
}

/* A name that is not terminated before the end of the structure block. */
static void test_unterminated_names(void **state)
{
    size_t size;
    uint8_t *blob = small_tree(&size);
    uint32_t off_struct = get_be32(blob + 8), struct_size = get_be32(blob + 36);
    /* Fill everything after the root's begin token with 'a': the root's name runs on. */
    memset(blob + off_struct + 4, 'a', struct_size - 4);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), -EINVAL);
    assert_non_null(strstr(fdt.why, "not terminated"));
    free(blob);
    /* A property name offset pointing at the last byte of an unterminated strings block. */
    blob = small_tree(&size);
    uint32_t off_strings = get_be32(blob + 12), strings_size = get_be32(blob + 32);
    blob[off_strings + strings_size - 1] = 'x';
    assert_int_equal(fdt_open(&fdt, blob, size), -EINVAL);
    assert_non_null(strstr(fdt.why, "name offset"));
    free(blob);
}

static uint8_t *nested(unsigned depth, size_t *size)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_begin(&b, "");
    for (unsigned i = 1; i < depth; i++)
        fdt_builder_begin(&b, "n");
    fdt_builder_string(&b, "compatible", "deep");
    for (unsigned i = 0; i < depth; i++)
        fdt_builder_end(&b);
    uint8_t *blob = fdt_builder_finish(&b, size);
    fdt_builder_free(&b);
    return blob;
}

static void test_nesting_limit(void **state)
{
    size_t size;
    uint8_t *blob = nested(FDT_MAX_DEPTH, &size);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), 0);
    int deep = fdt_find_compatible(&fdt, FDT_NONE, "deep");
    assert_int_not_equal(deep, FDT_NONE);
    unsigned depth = 0;
    for (int node = deep; node != FDT_NONE; node = fdt_parent(&fdt, node))
        depth++;
    assert_int_equal(depth, FDT_MAX_DEPTH);
    uint64_t address, length;
    assert_int_equal(fdt_reg(&fdt, deep, 0, &address, &length), -ENOENT);
    free(blob);
    blob = nested(FDT_MAX_DEPTH + 1, &size);
    assert_int_equal(fdt_open(&fdt, blob, size), -EINVAL);
    assert_non_null(strstr(fdt.why, "deeper"));
    free(blob);
    blob = nested(100000, &size); /* no recursion anywhere: refused quickly */
    assert_int_equal(fdt_open(&fdt, blob, size), -EINVAL);
    free(blob);
}

/* Offsets that are not node starts, handed to every call, stay inside the blob. */
static void test_bogus_node_offsets(void **state)
{
    struct fdt fdt;
    open_virt(&fdt);
    const char *name;
    const void *value;
    uint32_t len;
    uint64_t a, s;
    struct fdt_range range;
    for (int node = -8; node < (int)fdt.structure_size + 8; node++) {
        fdt_first_child(&fdt, node);
        fdt_next_sibling(&fdt, node);
        fdt_parent(&fdt, node);
        fdt_next_node(&fdt, node);
        fdt_node_name(&fdt, node);
        fdt_next_property(&fdt, node, FDT_NONE, &name, &value, &len);
        fdt_property(&fdt, node, "reg", &len);
        fdt_reg(&fdt, node, 0, &a, &s);
        fdt_range(&fdt, node, 0, &range);
        if (node % 64 == 0)
            fdt_interrupt_parent(&fdt, node);
    }
}

/* Interrupt parents that form a loop end the walk. */
static void test_interrupt_parent_loop(void **state)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_begin(&b, "");
    fdt_builder_begin(&b, "a");
    fdt_builder_cells(&b, "phandle", 1, 1);
    fdt_builder_cells(&b, "interrupt-parent", 1, 2);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "b");
    fdt_builder_cells(&b, "phandle", 1, 2);
    fdt_builder_cells(&b, "interrupt-parent", 1, 1);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    struct fdt fdt;
    uint8_t *blob = fdt_builder_open(&b, &fdt);
    assert_non_null(blob);
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/a")), FDT_NONE);
    free(blob);
}

/* Siblings with one name (invalid, but a blob can hold them; fuzz_fdt met one): a path takes
 * the first, so what only the second holds is not found by path, and every node still walks. */
static void test_duplicate_sibling_names(void **state)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_begin(&b, "");
    fdt_builder_begin(&b, "intc@8000000");
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "intc@8000000");
    fdt_builder_begin(&b, "v2m@8020000");
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    struct fdt fdt;
    uint8_t *blob = fdt_builder_open(&b, &fdt);
    assert_non_null(blob);
    int first = fdt_first_child(&fdt, fdt.root), second = fdt_next_sibling(&fdt, first);
    assert_int_not_equal(second, FDT_NONE);
    assert_int_equal(fdt_find_path(&fdt, "/intc@8000000"), first);
    assert_int_equal(fdt_find_path(&fdt, "/intc"), first);
    assert_int_equal(fdt_find_path(&fdt, "/intc@8000000/v2m@8020000"), FDT_NONE);
    int v2m = fdt_first_child(&fdt, second);
    assert_string_equal(fdt_node_name(&fdt, v2m), "v2m@8020000");
    assert_int_equal(fdt_parent(&fdt, v2m), second);
    free(blob);
}

/* The trees of the next test: intc (phandle 5, a controller), bus (#interrupt-cells, no
 * phandle) holding a -> b -> c, a's interrupt-parent given; left open inside bus. */
static void begin_interrupt_tree(struct fdt_builder *b, uint32_t a_interrupt_parent)
{
    fdt_builder_init(b);
    fdt_builder_begin(b, "");
    fdt_builder_begin(b, "intc");
    fdt_builder_cells(b, "phandle", 1, 5);
    fdt_builder_cells(b, "#interrupt-cells", 1, 1);
    fdt_builder_end(b);
    fdt_builder_begin(b, "bus");
    fdt_builder_cells(b, "#interrupt-cells", 1, 2);
    fdt_builder_begin(b, "a");
    fdt_builder_cells(b, "interrupt-parent", 1, a_interrupt_parent);
    fdt_builder_begin(b, "b");
    fdt_builder_begin(b, "c");
    fdt_builder_end(b);
    fdt_builder_end(b);
    fdt_builder_end(b);
}

/* Without interrupt-parent properties the walk goes up the tree to the nearest interrupt
 * controller; a property on the way jumps to its phandle, and the walk goes on from there. */
static void test_interrupt_parent_up_the_tree(void **state)
{
    struct fdt_builder b;
    begin_interrupt_tree(&b, 6);
    fdt_builder_end(&b); /* bus */
    fdt_builder_begin(&b, "x");
    fdt_builder_cells(&b, "phandle", 1, 6);
    fdt_builder_begin(&b, "y");
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    struct fdt fdt;
    uint8_t *blob = fdt_builder_open(&b, &fdt);
    assert_non_null(blob);
    /* c and b go up to a, whose interrupt-parent is x: no controller, and x's parent is the
     * root, which has none either */
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/bus/a/b/c")), FDT_NONE);
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/x/y")), FDT_NONE);
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/bus")), FDT_NONE);
    free(blob);
    /* the same with the jump going to the controller, and a node under the bus */
    begin_interrupt_tree(&b, 5);
    fdt_builder_begin(&b, "d");
    fdt_builder_begin(&b, "e");
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    fdt_builder_end(&b); /* bus */
    fdt_builder_end(&b);
    blob = fdt_builder_open(&b, &fdt);
    assert_non_null(blob);
    int bus = fdt_find_path(&fdt, "/bus");
    int intc = fdt_find_path(&fdt, "/intc");
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/bus/a/b/c")), intc);
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/bus/a")), intc);
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/bus/d/e")), bus);
    assert_int_equal(fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/bus/d")), bus);
    free(blob);
}

/* Phandle lookups: the first node in document order that has it ("phandle" before
 * "linux,phandle", a property of the wrong size is none), beyond the ones fdt_open notes too. */
static void test_phandles(void **state)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_begin(&b, "");
    char name[16];
    for (unsigned i = 1; i <= FDT_PHANDLES_NOTED + 8; i++) {
        snprintf(name, sizeof(name), "n%u", i);
        fdt_builder_begin(&b, name);
        fdt_builder_cells(&b, "phandle", 1, 100 + i);
        fdt_builder_end(&b);
    }
    fdt_builder_begin(&b, "old");
    fdt_builder_cells(&b, "linux,phandle", 1, 7);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "both");
    fdt_builder_cells(&b, "phandle", 2, 0, 8); /* two cells: not a phandle */
    fdt_builder_cells(&b, "linux,phandle", 1, 8);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "again");
    fdt_builder_cells(&b, "phandle", 1, 101); /* a duplicate: the first one wins */
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    struct fdt fdt;
    uint8_t *blob = fdt_builder_open(&b, &fdt);
    assert_non_null(blob);
    assert_false(fdt.phandles_complete);
    assert_int_equal(fdt_find_phandle(&fdt, 101), fdt_find_path(&fdt, "/n1"));
    assert_int_equal(fdt_find_phandle(&fdt, 100 + FDT_PHANDLES_NOTED), fdt_find_path(&fdt, "/n32"));
    assert_int_equal(fdt_find_phandle(&fdt, 100 + FDT_PHANDLES_NOTED + 8),
                     fdt_find_path(&fdt, "/n40"));
    assert_int_equal(fdt_find_phandle(&fdt, 7), fdt_find_path(&fdt, "/old"));
    assert_int_equal(fdt_find_phandle(&fdt, 8), fdt_find_path(&fdt, "/both"));
    assert_int_equal(fdt_find_phandle(&fdt, 99), FDT_NONE);
    assert_int_equal(fdt_find_phandle(&fdt, 0), FDT_NONE);
    free(blob);
    /* QEMU's virt tree has a few: all noted */
    open_virt(&fdt);
    assert_true(fdt.phandles_complete);
    assert_true(fdt.phandle_count > 0);
    assert_int_equal(fdt_find_phandle(&fdt, 0x12345), FDT_NONE);
    int gic = fdt_interrupt_parent(&fdt, fdt_find_path(&fdt, "/pl011@9000000"));
    assert_true(fdt_is_compatible(&fdt, gic, "arm,gic-v3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virt_nodes_and_paths),
        cmocka_unit_test(test_virt_properties),
        cmocka_unit_test(test_virt_chosen_memory_pci_ranges),
        cmocka_unit_test(test_virt_in_a_larger_buffer),
        cmocka_unit_test(test_translation),
        cmocka_unit_test(test_chosen_memory_reservations),
        cmocka_unit_test(test_string_lists),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_reservation_block_without_end),
        cmocka_unit_test(test_bad_structures),
        cmocka_unit_test(test_unterminated_names),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_bogus_node_offsets),
        cmocka_unit_test(test_phandles),
        cmocka_unit_test(test_interrupt_parent_up_the_tree),
        cmocka_unit_test(test_interrupt_parent_loop),
        cmocka_unit_test(test_duplicate_sibling_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
