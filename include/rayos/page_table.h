/* Kernel page tables, walked the same way on every architecture RayOS runs on: a 4 KiB
 * granule, four levels of 512 eight-byte entries, 48-bit virtual addresses (x86-64's four-level
 * paging, AArch64's 4 KiB granule with a 48-bit range).  Only the entry format differs; the
 * architecture's paging code describes it once (struct page_table_format) and keeps what only it
 * knows: attributes, TLB maintenance, loading the root.  Callers serialise changes to one
 * table (the architecture's paging lock). */
#ifndef RAYOS_PAGE_TABLE_H
#define RAYOS_PAGE_TABLE_H

#include <rayos/types.h>

#define PAGE_TABLE_BLOCK (2 * MiB) /* a level-2 leaf: x86's large page, arm's block */

struct page_table_format {
    uint64_t valid; /* set in every entry in use */
    /* At levels 0-2, an entry with (entry & table_mask) == table_value points at a table
     * (table_value includes valid; anything else valid there is a block). */
    uint64_t table_mask, table_value;
    uint64_t table_entry; /* the bits of an entry pointing at a new table, beside its address */
    uint64_t block_entry; /* of a 2 MiB leaf at level 2, beside address and attributes */
    uint64_t page_entry;  /* of a 4 KiB leaf at level 3, likewise */
    uint64_t address;     /* an entry's address bits */
    /* Makes stores to tables visible to the hardware walker before they are used (AArch64:
     * dsb ishst); NULL where the walker sees them anyway (x86). */
    void (*publish)(void);
};

struct page_table {
    const struct page_table_format *format;
    uint64_t *root;
    phys_addr_t root_phys;
    phys_addr_t table_limit; /* table pages come from below it (0: anywhere) */
};

/* An empty table (its root page allocated below table_limit); false without a free page. */
bool page_table_init(struct page_table *table, const struct page_table_format *format,
                     phys_addr_t table_limit);
/* Maps one 4 KiB page, or a 2 MiB block (virt and phys aligned to it); false when a table page
 * could not be had or a block is where a table would have to be. */
bool page_table_map(struct page_table *table, uint64_t virt, phys_addr_t phys, bool block,
                    uint64_t attributes);
/* Maps [phys, end) at virt onwards (rounded out to pages), with blocks wherever both addresses
 * are aligned; false as page_table_map (what was mapped before stays). */
bool page_table_map_range(struct page_table *table, uint64_t virt, phys_addr_t phys,
                          phys_addr_t end, uint64_t attributes);
/* The level-3 entry that maps virt (valid or not), or NULL when no table reaches it: nothing
 * mapped nearby, or virt is inside a block. */
uint64_t *page_table_leaf(const struct page_table *table, uint64_t virt);

#endif
