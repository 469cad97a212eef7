/* Memory for loaded modules: 4 KiB pages in the area the architecture reserves within reach of
 * the kernel's code model (arch_module_area: x86-64's top 2 GiB for -mcmodel=kernel, a window
 * next to the image for AArch64's BL and ADRP).  Pages start writable and non-executable; the
 * loader makes text read-only and executable and rodata read-only once it has relocated them (W^X).
 * Virtual space is handed out upwards; freed ranges are remembered and reused first fit, so
 * rmmod/insmod cycles neither use up the area nor keep allocating page tables. */
#include <rayos/lock.h>
#include <rayos/mm.h>
#include <rayos/module.h>
#include <rayos/string.h>

static struct spinlock area_lock = SPINLOCK_INIT("module area");
static uint64_t area_base, area_end, area_next;

struct free_range {
    uint64_t start, pages; /* guard page included */
};
static struct free_range free_ranges[64];

/* A range of pages (plus its guard page) from the free list or the top of the area, or 0. */
static uint64_t take_range(size_t pages)
{
    for (unsigned i = 0; i < ARRAY_SIZE(free_ranges); i++) {
        struct free_range *r = &free_ranges[i];
        if (r->pages >= pages + 1) {
            uint64_t start = r->start;
            r->start += (pages + 1) * PAGE_SIZE;
            r->pages -= pages + 1;
            return start;
        }
    }
    if (!area_base) {
        arch_module_area(&area_base, &area_end);
        area_next = area_base;
    }
    uint64_t start = area_next;
    if (start + (pages + 1) * PAGE_SIZE > area_end - 1)
        return 0;
    area_next += (pages + 1) * PAGE_SIZE; /* an unmapped guard page after each region */
    return start;
}

/* Remembers a freed range; with no slot left its address space is simply not reused. */
static void give_range(uint64_t start, size_t pages)
{
    irqflags_t flags = spin_lock_irqsave(&area_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(free_ranges); i++) {
        if (free_ranges[i].pages == 0) {
            free_ranges[i] = (struct free_range){start, pages + 1};
            break;
        }
    }
    spin_unlock_irqrestore(&area_lock, flags);
}

static void unmap_and_free(uint64_t start, uint64_t end)
{
    phys_addr_t pages[64];
    for (uint64_t v = start; v < end;) {
        unsigned count = 0;
        uint64_t chunk = v;
        for (; v < end && count < ARRAY_SIZE(pages); v += PAGE_SIZE)
            pages[count++] = virt_to_phys((void *)v);
        arch_module_unmap(chunk, v);
        for (unsigned i = 0; i < count; i++)
            if (pages[i])
                page_free(pages[i], 1);
    }
}

void *module_memory_alloc(size_t size)
{
    size_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
    if (pages == 0)
        return NULL;
    irqflags_t flags = spin_lock_irqsave(&area_lock);
    uint64_t start = take_range(pages);
    spin_unlock_irqrestore(&area_lock, flags);
    if (!start)
        return NULL;
    for (size_t i = 0; i < pages; i++) {
        phys_addr_t page = page_alloc(1, PAGE_SIZE, 0);
        if (!page || !arch_module_map_page(start + i * PAGE_SIZE, page)) {
            if (page)
                page_free(page, 1);
            unmap_and_free(start, start + i * PAGE_SIZE);
            give_range(start, pages);
            return NULL;
        }
        memset((void *)(start + i * PAGE_SIZE), 0, PAGE_SIZE);
    }
    return (void *)start;
}

void module_memory_protect(void *virt, size_t size, bool writable, bool executable)
{
    for (uint64_t v = (uint64_t)virt; v < (uint64_t)virt + size; v += PAGE_SIZE)
        arch_module_protect_page(v, writable, executable);
}

void module_memory_free(void *virt, size_t size)
{
    uint64_t start = (uint64_t)virt, end = start + ALIGN_UP(size, PAGE_SIZE);
    if (start == end)
        return;
    unmap_and_free(start, end);
    give_range(start, (end - start) / PAGE_SIZE);
}
