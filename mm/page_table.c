/* The page-table walk both architectures share (<rayos/page_table.h>): tables are allocated on
 * first use, zeroed and published before an entry points at them. */
#include <rayos/mm.h>
#include <rayos/page_table.h>
#include <rayos/string.h>

#define LEVEL0_SHIFT 39
#define BLOCK_SHIFT  21 /* level 2 */

static uint64_t *entry_at(uint64_t *table, uint64_t virt, unsigned shift)
{
    return &table[(virt >> shift) & 511];
}

static void publish(const struct page_table *table)
{
    if (table->format->publish)
        table->format->publish();
}

static bool points_at_table(const struct page_table_format *format, uint64_t entry)
{
    return (entry & format->table_mask) == format->table_value;
}

static uint64_t *new_table(const struct page_table *table, phys_addr_t *phys)
{
    *phys = page_alloc(1, PAGE_SIZE, table->table_limit);
    if (!*phys)
        return NULL;
    uint64_t *page = phys_to_virt(*phys);
    memset(page, 0, PAGE_SIZE);
    publish(table); /* zeroes first: the walker may follow the entry as soon as it is stored */
    return page;
}

/* The table an entry points at, made when the entry is unused; NULL for a block or no page. */
static uint64_t *next_table(const struct page_table *table, uint64_t *entry)
{
    const struct page_table_format *format = table->format;
    if (!(*entry & format->valid)) {
        phys_addr_t phys;
        if (!new_table(table, &phys))
            return NULL;
        *entry = phys | format->table_entry;
    }
    if (!points_at_table(format, *entry))
        return NULL;
    return phys_to_virt(*entry & format->address);
}

bool page_table_init(struct page_table *table, const struct page_table_format *format,
                     phys_addr_t table_limit)
{
    table->format = format;
    table->table_limit = table_limit;
    table->root = new_table(table, &table->root_phys);
    return table->root != NULL;
}

bool page_table_map(struct page_table *table, uint64_t virt, phys_addr_t phys, bool block,
                    uint64_t attributes)
{
    const struct page_table_format *format = table->format;
    uint64_t *level = table->root;
    for (unsigned shift = LEVEL0_SHIFT; shift > BLOCK_SHIFT; shift -= 9)
        if (!(level = next_table(table, entry_at(level, virt, shift))))
            return false;
    if (block) {
        *entry_at(level, virt, BLOCK_SHIFT) = phys | format->block_entry | attributes;
        return true;
    }
    if (!(level = next_table(table, entry_at(level, virt, BLOCK_SHIFT))))
        return false;
    *entry_at(level, virt, PAGE_SHIFT) = phys | format->page_entry | attributes;
    return true;
}

bool page_table_map_range(struct page_table *table, uint64_t virt, phys_addr_t phys,
                          phys_addr_t end, uint64_t attributes)
{
    virt = ALIGN_DOWN(virt, PAGE_SIZE);
    phys = ALIGN_DOWN(phys, PAGE_SIZE);
    end = ALIGN_UP(end, PAGE_SIZE);
    while (phys < end) {
        bool block = IS_ALIGNED(phys, PAGE_TABLE_BLOCK) && IS_ALIGNED(virt, PAGE_TABLE_BLOCK) &&
                     end - phys >= PAGE_TABLE_BLOCK;
        if (!page_table_map(table, virt, phys, block, attributes))
            return false;
        uint64_t step = block ? PAGE_TABLE_BLOCK : PAGE_SIZE;
        phys += step;
        virt += step;
    }
    return true;
}

uint64_t *page_table_leaf(const struct page_table *table, uint64_t virt)
{
    const struct page_table_format *format = table->format;
    uint64_t *level = table->root;
    for (unsigned shift = LEVEL0_SHIFT; shift > PAGE_SHIFT; shift -= 9) {
        uint64_t entry = *entry_at(level, virt, shift);
        if (!points_at_table(format, entry))
            return NULL;
        level = phys_to_virt(entry & format->address);
    }
    return entry_at(level, virt, PAGE_SHIFT);
}
