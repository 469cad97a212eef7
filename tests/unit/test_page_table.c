/* The shared page-table walk (mm/page_table.c) with both architectures' entry formats, on
 * table pages from a fake allocator whose "physical" addresses are the host addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rayos/mm.h>
#include <rayos/page_table.h>

#include <stdlib.h>
#include <string.h>

/* The formats as the architectures' paging code gives them (Intel SDM vol. 3 4.5; Arm ARM
 * D8.3, 4 KiB granule). */
#define X86_PRESENT  (1ULL << 0)
#define X86_WRITABLE (1ULL << 1)
#define X86_LARGE    (1ULL << 7)
#define X86_NX       (1ULL << 63)
#define ARM_VALID    (1ULL << 0)
#define ARM_TABLE    (1ULL << 1)
#define ARM_AF       (1ULL << 10)
#define ADDRESS      0x0000fffffffff000ULL

static unsigned published;
static void count_publish(void)
{
    published++;
}

static const struct page_table_format x86 = {
    .valid = X86_PRESENT,
    .table_mask = X86_PRESENT | X86_LARGE,
    .table_value = X86_PRESENT,
    .table_entry = X86_PRESENT | X86_WRITABLE,
    .block_entry = X86_PRESENT | X86_WRITABLE | X86_LARGE,
    .page_entry = X86_PRESENT | X86_WRITABLE,
    .address = ADDRESS,
};

static const struct page_table_format arm = {
    .valid = ARM_VALID,
    .table_mask = ARM_VALID | ARM_TABLE,
    .table_value = ARM_VALID | ARM_TABLE,
    .table_entry = ARM_VALID | ARM_TABLE,
    .block_entry = ARM_VALID,
    .page_entry = ARM_VALID | ARM_TABLE,
    .address = ADDRESS,
    .publish = count_publish,
};

/* The fake physical memory: pages handed out until the budget runs out, each filled with a
 * pattern so a table that is not zeroed shows. */
#define PAGES_MAX 64
static void *pages[PAGES_MAX];
static unsigned pages_used, page_budget;
static phys_addr_t last_limit;

phys_addr_t page_alloc(size_t count, size_t align, phys_addr_t limit)
{
    assert_int_equal(count, 1);
    assert_int_equal(align, PAGE_SIZE);
    last_limit = limit;
    if (pages_used == page_budget)
        return 0;
    void *page = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
    assert_non_null(page);
    memset(page, 0xa5, PAGE_SIZE);
    pages[pages_used++] = page;
    return (phys_addr_t)(uintptr_t)page;
}

void *phys_to_virt(phys_addr_t phys)
{
    return (void *)(uintptr_t)phys;
}

static int setup(void **state)
{
    pages_used = 0;
    page_budget = PAGES_MAX;
    published = 0;
    return 0;
}

static int teardown(void **state)
{
    for (unsigned i = 0; i < pages_used; i++)
        free(pages[i]);
    return 0;
}

/* The level-2 entry for virt, read by hand (to see blocks, which page_table_leaf does not). */
static uint64_t level2_entry(const struct page_table *table, uint64_t virt)
{
    const uint64_t *level = table->root;
    for (unsigned shift = 39; shift > 21; shift -= 9)
        level = phys_to_virt(level[(virt >> shift) & 511] & ADDRESS);
    return level[(virt >> 21) & 511];
}

static void test_pages_and_their_tables(void **state)
{
    const struct page_table_format *formats[] = {&x86, &arm};
    for (int f = 0; f < 2; f++) {
        struct page_table table;
        unsigned first = pages_used;
        published = 0;
        assert_true(page_table_init(&table, formats[f], 4 * GiB));
        assert_int_equal(last_limit, 4 * GiB);
        uint64_t virt = 0xffff800012345000ULL, phys = 0x7654321000ULL;
        assert_null(page_table_leaf(&table, virt));
        assert_true(page_table_map(&table, virt, phys, false, X86_NX));
        assert_int_equal(pages_used - first, 4); /* the root and three tables below it */
        uint64_t *leaf = page_table_leaf(&table, virt);
        assert_non_null(leaf);
        assert_int_equal(*leaf, phys | formats[f]->page_entry | X86_NX);
        /* the neighbour shares the tables, unmapped (the tables were zeroed) */
        uint64_t *next = page_table_leaf(&table, virt + PAGE_SIZE);
        assert_ptr_equal(next, leaf + 1);
        assert_int_equal(*next, 0);
        /* 1 GiB away: another level-2 table is needed */
        assert_null(page_table_leaf(&table, virt + GiB));
        assert_true(page_table_map(&table, virt + GiB, phys, false, 0));
        assert_int_equal(pages_used - first, 6);
        /* AArch64 publishes each zeroed table before an entry points at it */
        assert_int_equal(published, formats[f]->publish ? 6 : 0);
    }
}

/* An unaligned range: pages up to the first 2 MiB boundary, blocks, then pages again. */
static void test_range_uses_blocks_where_aligned(void **state)
{
    const struct page_table_format *formats[] = {&x86, &arm};
    for (int f = 0; f < 2; f++) {
        struct page_table table;
        assert_true(page_table_init(&table, formats[f], 0));
        uint64_t virt = 0xffff900000000000ULL, start = 0x40100000ULL, end = 0x40900800ULL;
        assert_true(page_table_map_range(&table, virt + start, start, end, 0));
        for (uint64_t phys = start; phys < ALIGN_UP(end, PAGE_SIZE); phys += PAGE_SIZE) {
            bool in_block = phys >= 0x40200000ULL && phys < 0x40800000ULL;
            uint64_t *leaf = page_table_leaf(&table, virt + phys);
            if (in_block) {
                assert_null(leaf);
                uint64_t block = ALIGN_DOWN(phys, PAGE_TABLE_BLOCK);
                assert_int_equal(level2_entry(&table, virt + phys),
                                 block | formats[f]->block_entry);
            } else {
                assert_non_null(leaf);
                assert_int_equal(*leaf, phys | formats[f]->page_entry);
            }
        }
        assert_int_equal(*page_table_leaf(&table, virt + 0x40a00000ULL - PAGE_SIZE), 0);
        /* a page inside a block has no table to go in */
        assert_false(page_table_map(&table, virt + 0x40300000ULL, 0x1000, false, 0));
        /* a virtual address aligned differently from the physical one: pages only */
        assert_true(
            page_table_map_range(&table, 0xffffa00000001000ULL, 0x200000ULL, 0x600000ULL, 0));
        for (uint64_t off = 0; off < 0x400000ULL; off += PAGE_SIZE)
            assert_int_equal(*page_table_leaf(&table, 0xffffa00000001000ULL + off),
                             (0x200000ULL + off) | formats[f]->page_entry);
    }
}

/* Without table pages a mapping fails, and what was mapped before stays. */
static void test_out_of_table_pages(void **state)
{
    struct page_table table;
    page_budget = 0;
    assert_false(page_table_init(&table, &arm, 0));
    page_budget = 4;
    assert_true(page_table_init(&table, &arm, 0));
    uint64_t virt = 0xffff800000000000ULL;
    assert_true(page_table_map(&table, virt, 0x5000, false, ARM_AF));
    assert_false(page_table_map(&table, virt + 2 * MiB, 0x6000, false, ARM_AF));
    assert_false(page_table_map_range(&table, virt + GiB, 0x200000, 0x400000, ARM_AF));
    assert_int_equal(*page_table_leaf(&table, virt), 0x5000 | arm.page_entry | ARM_AF);
    assert_null(page_table_leaf(&table, virt + 2 * MiB));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pages_and_their_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_uses_blocks_where_aligned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_table_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
