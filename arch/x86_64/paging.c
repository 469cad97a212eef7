/* Kernel page tables.  Three windows:
 *   DIRECT_MAP_BASE + phys   every RAM range of the memory map (write-back, 2 MiB pages where
 *                            aligned), so any page from the allocator has a kernel address;
 *   KERNEL_VIRT_BASE + phys  the kernel image (kernel code model);
 *   IOMAP_BASE + ...         map_phys(): device registers and firmware tables anywhere in the
 *                            64-bit physical space, uncached unless asked otherwise. */
#define pr_fmt(fmt) "mm: " fmt
#include <rayos/boot_info.h>
#include <rayos/io.h>
#include <rayos/lock.h>
#include <rayos/mm.h>
#include <rayos/page_table.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include "x86.h"

#define PTE_PRESENT  (1ULL << 0)
#define PTE_WRITABLE (1ULL << 1)
#define PTE_PWT      (1ULL << 3)
#define PTE_PCD      (1ULL << 4)
#define PTE_LARGE    (1ULL << 7)
#define PTE_NX       (1ULL << 63)
#define PTE_ADDRESS  0x000ffffffffff000ULL
#define LARGE_PAGE   (2 * MiB)

extern char _kernel_end[];

static struct page_table kernel_table;
static uint64_t iomap_next = IOMAP_BASE;
static phys_addr_t direct_map_end; /* highest RAM address mapped in the direct map */
static struct spinlock paging_lock = SPINLOCK_INIT("paging");

void *phys_to_virt(phys_addr_t phys)
{
    return (void *)(DIRECT_MAP_BASE + phys);
}

bool virt_is_linear(const void *virt)
{
    uint64_t v = (uint64_t)virt;
    return (v >= DIRECT_MAP_BASE && v < DIRECT_MAP_BASE + direct_map_end) ||
           (v >= KERNEL_VIRT_BASE && v < (uint64_t)_kernel_end);
}

/* EFER.NXE, set by boot.S when the CPU has no-execute pages. */
static bool nx_enabled(void)
{
    return (rdmsr(MSR_EFER) >> 11) & 1;
}

/* Entries pointing at tables are writable: the leaf decides. */
static const struct page_table_format x86_format = {
    .valid = PTE_PRESENT,
    .table_mask = PTE_PRESENT | PTE_LARGE,
    .table_value = PTE_PRESENT,
    .table_entry = PTE_PRESENT | PTE_WRITABLE,
    .block_entry = PTE_PRESENT | PTE_WRITABLE | PTE_LARGE,
    .page_entry = PTE_PRESENT | PTE_WRITABLE,
    .address = PTE_ADDRESS,
};

/* Maps [phys, end) at offset + phys; the tables come from below 4 GiB (the AP trampoline
 * loads the root into CR3 while still in 32-bit mode). */
static void map_range(uint64_t offset, phys_addr_t phys, phys_addr_t end, uint64_t attributes)
{
    if (!page_table_map_range(&kernel_table, offset + phys, phys, end, attributes))
        panic("mm: out of memory for page tables");
}

void paging_init(void)
{
    if (!page_table_init(&kernel_table, &x86_format, 4 * GiB))
        panic("mm: no page for the kernel page tables");
    map_range(DIRECT_MAP_BASE, 0, 0x100000, 0);
    direct_map_end = 0x100000;
    for (unsigned i = 0; i < boot_info.region_count; i++) {
        const struct memory_region *r = &boot_info.regions[i];
        if (memory_type_is_ram(r->type)) {
            map_range(DIRECT_MAP_BASE, r->base, r->base + r->length, 0);
            direct_map_end = MAX(direct_map_end, ALIGN_UP(r->base + r->length, PAGE_SIZE));
        }
    }
    phys_addr_t kernel_end_phys = (uint64_t)_kernel_end - KERNEL_VIRT_BASE;
    map_range(KERNEL_VIRT_BASE, 0, ALIGN_UP(kernel_end_phys, LARGE_PAGE), 0);
    write_cr3(kernel_table.root_phys);
}

uint64_t paging_kernel_cr3(void)
{
    return kernel_table.root_phys;
}

void *map_phys(phys_addr_t phys, size_t size, enum map_attr attr)
{
    if (size == 0 || phys + size < phys)
        return NULL;
    /* Device registers are never in RAM.  Their addresses come from firmware tables and from
     * the devices themselves (BARs), so an uncached window over RAM is refused: the kernel's
     * MMIO writes would land in its own memory. */
    const struct memory_region *ram =
        attr == MAP_UNCACHED ? boot_info_ram_overlap(phys, size) : NULL;
    if (ram) {
        pr_warn("not mapping 0x%llx-0x%llx as device memory: it overlaps RAM at 0x%llx-0x%llx "
                "in the memory map\n",
                (unsigned long long)phys, (unsigned long long)(phys + size - 1),
                (unsigned long long)ram->base, (unsigned long long)(ram->base + ram->length - 1));
        return NULL;
    }
    uint64_t attributes = attr == MAP_CACHED ? 0 : PTE_PCD | PTE_PWT;
    phys_addr_t start = ALIGN_DOWN(phys, PAGE_SIZE);
    uint64_t length = ALIGN_UP(phys + size, PAGE_SIZE) - start;
    irqflags_t flags = spin_lock_irqsave(&paging_lock);
    if (iomap_next + length > IOMAP_BASE + IOMAP_SIZE) {
        spin_unlock_irqrestore(&paging_lock, flags);
        return NULL;
    }
    uint64_t virt = iomap_next;
    iomap_next += length + PAGE_SIZE; /* an unmapped guard page between windows */
    for (uint64_t off = 0; off < length; off += PAGE_SIZE) {
        if (!page_table_map(&kernel_table, virt + off, start + off, false, attributes)) {
            spin_unlock_irqrestore(&paging_lock, flags);
            return NULL;
        }
    }
    spin_unlock_irqrestore(&paging_lock, flags);
    return (void *)(virt + (phys - start));
}

/* The page entry for virt: NULL inside a large page (the direct map) or where nothing is. */
static uint64_t *find_pte(uint64_t virt)
{
    return page_table_leaf(&kernel_table, virt);
}

struct flush_range {
    uint64_t start, end;
};

static void flush_range(void *arg)
{
    const struct flush_range *r = arg;
    for (uint64_t v = r->start; v < r->end; v += PAGE_SIZE)
        invlpg(v);
}

/* Other CPUs may have the unmapped pages in their TLBs: shoot them down before the caller can
 * reuse the addresses' physical pages.  Done after paging_lock is dropped, so a CPU spinning on
 * it with interrupts off cannot hold up the shoot-down. */
void unmap_phys(void *virt, size_t size)
{
    uint64_t start = ALIGN_DOWN((uint64_t)virt, PAGE_SIZE);
    uint64_t end = ALIGN_UP((uint64_t)virt + size, PAGE_SIZE);
    if (start < IOMAP_BASE || end > IOMAP_BASE + IOMAP_SIZE)
        return;
    paging_unmap(start, end);
}

void paging_unmap(uint64_t start, uint64_t end)
{
    irqflags_t flags = spin_lock_irqsave(&paging_lock);
    for (uint64_t v = start; v < end; v += PAGE_SIZE) {
        uint64_t *pte = find_pte(v);
        if (pte) {
            *pte = 0;
            invlpg(v);
        }
    }
    spin_unlock_irqrestore(&paging_lock, flags);
    /* Every CPU, this one again included: the caller may have moved since the local invlpg. */
    struct flush_range range = {start, end};
    if (cpu_online_count() > 1)
        smp_call_all(flush_range, &range);
}

bool paging_map_page(uint64_t virt, phys_addr_t phys, uint64_t attributes)
{
    irqflags_t flags = spin_lock_irqsave(&paging_lock);
    bool mapped = page_table_map(&kernel_table, virt, phys, false, attributes);
    spin_unlock_irqrestore(&paging_lock, flags);
    return mapped;
}

/* Only makes a page's access stricter, which needs no shoot-down of other CPUs' stale (more
 * permissive) entries as long as none of them has used the page yet: the module loader
 * protects pages before any code runs from them. */
void paging_protect_page(uint64_t virt, bool writable, bool executable)
{
    irqflags_t flags = spin_lock_irqsave(&paging_lock);
    uint64_t *pte = find_pte(virt);
    if (pte) {
        uint64_t entry = *pte & ~(PTE_WRITABLE | PTE_NX);
        entry |= writable ? PTE_WRITABLE : 0;
        entry |= executable || !nx_enabled() ? 0 : PTE_NX;
        *pte = entry;
        invlpg(virt);
    }
    spin_unlock_irqrestore(&paging_lock, flags);
}

phys_addr_t virt_to_phys(const void *virt)
{
    uint64_t v = (uint64_t)virt;
    if (v >= KERNEL_VIRT_BASE && v < (uint64_t)_kernel_end)
        return v - KERNEL_VIRT_BASE; /* beyond it lie the module area's 4 KiB pages */
    if (v >= DIRECT_MAP_BASE && v < DIRECT_MAP_BASE + direct_map_end)
        return v - DIRECT_MAP_BASE;
    uint64_t *pte = find_pte(v);
    return pte && (*pte & PTE_PRESENT) ? (*pte & PTE_ADDRESS) | (v & (PAGE_SIZE - 1)) : 0;
}
