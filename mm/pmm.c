/* Physical page allocator: one bit per page over the boot memory map (1 = in use).  Runs of
 * pages for DMA come from the same bitmap, searched first-fit with alignment and an address
 * limit (for devices that only reach the first 4 GiB). */
#define pr_fmt(fmt) "mm: " fmt
#include <rayos/lock.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "pmm.h"

static uint64_t *bitmap;
static uint64_t page_count; /* pages covered by the bitmap */
static uint64_t total_pages, free_pages, reserved_pages;
static uint64_t search_hint;
static struct spinlock pmm_lock = SPINLOCK_INIT("pmm");

static bool page_used(uint64_t page)
{
    return bitmap[page / 64] & (1ULL << (page % 64));
}
static void mark(uint64_t page, bool used)
{
    if (used)
        bitmap[page / 64] |= 1ULL << (page % 64);
    else
        bitmap[page / 64] &= ~(1ULL << (page % 64));
}

/* Set bits in a word (the kernel has no libgcc for __builtin_popcount on a baseline CPU). */
static unsigned bit_count(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

/* Changes one bitmap word's bits under mask to used or free, keeping free_pages right. */
static void mark_word(uint64_t index, uint64_t mask, bool used)
{
    uint64_t changing = used ? ~bitmap[index] & mask : bitmap[index] & mask;
    if (used) {
        bitmap[index] |= mask;
        free_pages -= bit_count(changing);
    } else {
        bitmap[index] &= ~mask;
        free_pages += bit_count(changing);
    }
}

/* A word at a time: at boot this covers all of RAM, and a loop per page costs milliseconds
 * under emulation. */
static void mark_range(phys_addr_t start, phys_addr_t end, bool used)
{
    uint64_t first = start / PAGE_SIZE, last = MIN(DIV_ROUND_UP(end, PAGE_SIZE), page_count);
    while (first < last) {
        uint64_t bit = first % 64, bits = MIN(64 - bit, last - first);
        uint64_t mask = bits == 64 ? ~0ULL : ((1ULL << bits) - 1) << bit;
        mark_word(first / 64, mask, used);
        first += bits;
    }
}

void pmm_init(const struct memory_region *regions, unsigned count,
              const struct pmm_reserved *reserved, unsigned reserved_count)
{
    phys_addr_t top = 0;
    for (unsigned i = 0; i < count; i++)
        if (regions[i].type == MEMORY_USABLE)
            top = MAX(top, regions[i].base + regions[i].length);
    page_count = top / PAGE_SIZE;
    size_t bitmap_bytes = ALIGN_UP(DIV_ROUND_UP(page_count, 64) * 8, PAGE_SIZE);

    /* The bitmap goes in the first usable stretch that avoids every reserved range and lies in
     * the boot direct map (below 4 GiB). */
    phys_addr_t place = 0;
    bool placed = false;
    for (unsigned i = 0; i < count && !placed; i++) {
        if (regions[i].type != MEMORY_USABLE)
            continue;
        phys_addr_t start = ALIGN_UP(regions[i].base, PAGE_SIZE);
        phys_addr_t end = regions[i].base + regions[i].length;
        for (unsigned r = 0; r < reserved_count; r++)
            if (reserved[r].start < start + bitmap_bytes && reserved[r].end > start)
                start = ALIGN_UP(reserved[r].end, PAGE_SIZE), r = (unsigned)-1;
        if (start + bitmap_bytes <= end && start + bitmap_bytes <= 4 * GiB) {
            place = start;
            placed = true;
        }
    }
    if (!placed)
        panic("mm: no room for the page bitmap (%llu pages of RAM)",
              (unsigned long long)page_count);
    bitmap = phys_to_virt(place);
    memset(bitmap, 0xff, bitmap_bytes);

    for (unsigned i = 0; i < count; i++) {
        if (regions[i].type != MEMORY_USABLE)
            continue;
        phys_addr_t start = ALIGN_UP(regions[i].base, PAGE_SIZE);
        phys_addr_t end = ALIGN_DOWN(regions[i].base + regions[i].length, PAGE_SIZE);
        if (end > start) {
            total_pages += (end - start) / PAGE_SIZE;
            mark_range(start, end, false);
        }
    }
    uint64_t before = free_pages;
    mark_range(place, place + bitmap_bytes, true);
    for (unsigned r = 0; r < reserved_count; r++)
        mark_range(reserved[r].start, reserved[r].end, true);
    reserved_pages = before - free_pages;
    pr_info("%llu MiB usable, %llu MiB free, %llu KiB reserved (kernel, boot data, firmware)",
            (unsigned long long)(total_pages * PAGE_SIZE / MiB),
            (unsigned long long)(free_pages * PAGE_SIZE / MiB),
            (unsigned long long)(reserved_pages * PAGE_SIZE / KiB));
}

phys_addr_t page_alloc(size_t count, size_t align, phys_addr_t limit)
{
    if (count == 0)
        return 0;
    uint64_t align_pages = MAX((uint64_t)align / PAGE_SIZE, 1);
    uint64_t end = limit ? MIN(page_count, limit / PAGE_SIZE) : page_count;
    irqflags_t flags = spin_lock_irqsave(&pmm_lock);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t p = pass == 0 ? ALIGN_UP(search_hint, align_pages) : 0;
        uint64_t stop = pass == 0 ? end : MIN(end, search_hint + count + align_pages);
        while (p + count <= stop) {
            if (count == 1 && bitmap[p / 64] == ~0ULL) { /* skip full words quickly */
                p = ALIGN_UP(ALIGN_DOWN(p, 64) + 64, align_pages);
                continue;
            }
            uint64_t run = 0;
            while (run < count && !page_used(p + run))
                run++;
            if (run == count) {
                for (uint64_t i = 0; i < count; i++)
                    mark(p + i, true);
                free_pages -= count;
                if (align_pages == 1)
                    search_hint = p + count;
                spin_unlock_irqrestore(&pmm_lock, flags);
                return p * PAGE_SIZE;
            }
            p = ALIGN_UP(p + run + 1, align_pages);
        }
    }
    spin_unlock_irqrestore(&pmm_lock, flags);
    return 0;
}

void page_free(phys_addr_t phys, size_t count)
{
    irqflags_t flags = spin_lock_irqsave(&pmm_lock);
    uint64_t first = phys / PAGE_SIZE;
    for (uint64_t p = first; p < first + count && p < page_count; p++) {
        if (!page_used(p))
            panic("mm: page 0x%llx freed twice", (unsigned long long)(p * PAGE_SIZE));
        mark(p, false);
        free_pages++;
    }
    if (first < search_hint)
        search_hint = first;
    spin_unlock_irqrestore(&pmm_lock, flags);
}

void pmm_stats(uint64_t *total, uint64_t *free, uint64_t *reserved)
{
    *total = total_pages;
    *free = free_pages;
    *reserved = reserved_pages;
}
