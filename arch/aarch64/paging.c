/* Kernel page tables (4 KiB granule, four levels, all in TTBR1).  Three windows:
 *   DIRECT_MAP_BASE + phys    every RAM range of the memory map (normal write-back memory,
 *                             2 MiB blocks where aligned), so any allocated page has an address;
 *   KERNEL_VIRT_BASE + offset the image, wherever the boot loader put it;
 *   IOMAP_BASE + ...          map_phys(): device registers (Device-nGnRE) and firmware data.
 * Stores to the tables are made visible to the table walker with dsb ishst; entries that were
 * valid are invalidated in every CPU's TLB with the broadcast tlbi ...is forms, so no
 * cross-CPU call is needed. */
#define pr_fmt(fmt) "mm: " fmt
#include <rayos/boot_info.h>
#include <rayos/io.h>
#include <rayos/lock.h>
#include <rayos/mm.h>
#include <rayos/page_table.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "aarch64.h"

#define PTE_VALID    (1ULL << 0)
#define PTE_TABLE    (1ULL << 1) /* at levels 0-2; at level 3 the same bit marks a page */
#define PTE_ATTR(i)  ((uint64_t)(i) << 2)
#define PTE_RDONLY   (1ULL << 7)
#define PTE_SH_INNER (3ULL << 8)
#define PTE_AF       (1ULL << 10)
#define PTE_PXN      (1ULL << 53)
#define PTE_UXN      (1ULL << 54)
#define PTE_ADDRESS  0x0000fffffffff000ULL
#define ATTR_DEVICE  0
#define ATTR_NORMAL  1
#define BLOCK_2M     PAGE_TABLE_BLOCK

#define PTE_NORMAL (PTE_ATTR(ATTR_NORMAL) | PTE_SH_INNER | PTE_AF | PTE_UXN)
#define PTE_DEVICE (PTE_ATTR(ATTR_DEVICE) | PTE_AF | PTE_UXN | PTE_PXN)

extern char _kernel_start[], _kernel_end[];
extern uint64_t secondary_ttbr1;

phys_addr_t kernel_phys_base;
/* Until paging_init switches to it, tables must lie in the boot map: table_limit is its end. */
static struct page_table kernel_table;
static uint64_t iomap_next = IOMAP_BASE;
static phys_addr_t direct_map_end;
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

static void walker_sync(void)
{
    __asm__ volatile("dsb ishst; isb" ::: "memory");
}

static void tlb_flush_page(uint64_t virt)
{
    __asm__ volatile("dsb ishst; tlbi vaae1is, %0; dsb ish; isb" : : "r"(virt >> 12) : "memory");
}

/* Level 3 marks a page with the bit that marks a table at levels 0-2. */
static const struct page_table_format arm_format = {
    .valid = PTE_VALID,
    .table_mask = PTE_VALID | PTE_TABLE,
    .table_value = PTE_VALID | PTE_TABLE,
    .table_entry = PTE_VALID | PTE_TABLE,
    .block_entry = PTE_VALID,
    .page_entry = PTE_VALID | PTE_TABLE,
    .address = PTE_ADDRESS,
    .publish = walker_sync,
};

static void map_range(uint64_t virt, phys_addr_t phys, phys_addr_t end, uint64_t attributes)
{
    if (!page_table_map_range(&kernel_table, virt, phys, end, attributes))
        panic("mm: out of memory for page tables");
}

void paging_init(void)
{
    /* The boot tables map the direct map of the kernel's gigabyte only. */
    if (!page_table_init(&kernel_table, &arm_format, ALIGN_DOWN(kernel_phys_base, GiB) + GiB))
        panic("mm: no page for the kernel page tables");
    for (unsigned i = 0; i < boot_info.region_count; i++) {
        const struct memory_region *r = &boot_info.regions[i];
        if (!memory_type_is_ram(r->type))
            continue;
        map_range(DIRECT_MAP_BASE + r->base, r->base, r->base + r->length, PTE_NORMAL | PTE_PXN);
        direct_map_end = MAX(direct_map_end, ALIGN_UP(r->base + r->length, PAGE_SIZE));
    }
    uint64_t image_size = ALIGN_UP((uint64_t)_kernel_end - KERNEL_VIRT_BASE, BLOCK_2M);
    map_range(KERNEL_VIRT_BASE, kernel_phys_base, kernel_phys_base + image_size, PTE_NORMAL);
    walker_sync();
    __asm__ volatile("msr ttbr1_el1, %0; isb; tlbi vmalle1is; dsb ish; isb"
                     :
                     : "r"(kernel_table.root_phys)
                     : "memory");
    kernel_table.table_limit = 0;
    /* Secondary CPUs read this with their MMU (and so their caches) off. */
    secondary_ttbr1 = kernel_table.root_phys;
    __asm__ volatile("dc civac, %0; dsb sy" : : "r"(&secondary_ttbr1) : "memory");
    paging_disable_identity();
}

/* The identity map was only needed to turn the MMU on: without it a null pointer faults. */
void paging_disable_identity(void)
{
    write_sysreg(tcr_el1, read_sysreg(tcr_el1) | (1ULL << 7)); /* EPD0 */
    __asm__ volatile("isb; tlbi vmalle1; dsb nsh; isb" ::: "memory");
}

uint64_t paging_kernel_ttbr1(void)
{
    return kernel_table.root_phys;
}

void *map_phys(phys_addr_t phys, size_t size, enum map_attr attr)
{
    if (size == 0 || phys + size < phys)
        return NULL;
    /* Device register addresses come from firmware and devices: never map RAM as a device. */
    const struct memory_region *ram =
        attr == MAP_UNCACHED ? boot_info_ram_overlap(phys, size) : NULL;
    if (ram) {
        pr_warn("not mapping 0x%llx-0x%llx as device memory: it overlaps RAM at 0x%llx-0x%llx "
                "in the memory map",
                (unsigned long long)phys, (unsigned long long)(phys + size - 1),
                (unsigned long long)ram->base, (unsigned long long)(ram->base + ram->length - 1));
        return NULL;
    }
    uint64_t attributes = attr == MAP_CACHED ? PTE_NORMAL | PTE_PXN : PTE_DEVICE;
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
    walker_sync();
    spin_unlock_irqrestore(&paging_lock, flags);
    return (void *)(virt + (phys - start));
}

static uint64_t *find_pte(uint64_t virt)
{
    return page_table_leaf(&kernel_table, virt);
}

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
        if (pte && (*pte & PTE_VALID)) {
            *pte = 0;
            tlb_flush_page(v);
        }
    }
    spin_unlock_irqrestore(&paging_lock, flags);
}

bool paging_map_page(uint64_t virt, phys_addr_t phys, bool executable)
{
    irqflags_t flags = spin_lock_irqsave(&paging_lock);
    bool mapped =
        page_table_map(&kernel_table, virt, phys, false, PTE_NORMAL | (executable ? 0 : PTE_PXN));
    walker_sync();
    spin_unlock_irqrestore(&paging_lock, flags);
    return mapped;
}

/* Changes permissions with break-before-make: the entry is invalidated everywhere before the
 * new one is written, as the architecture requires when attributes change. */
void paging_protect_page(uint64_t virt, bool writable, bool executable)
{
    irqflags_t flags = spin_lock_irqsave(&paging_lock);
    uint64_t *pte = find_pte(virt);
    if (pte && (*pte & PTE_VALID)) {
        uint64_t entry = *pte & ~(PTE_RDONLY | PTE_PXN);
        entry |= writable ? 0 : PTE_RDONLY;
        entry |= executable ? 0 : PTE_PXN;
        *pte = 0;
        tlb_flush_page(virt);
        *pte = entry;
        walker_sync();
        if (executable)
            __asm__ volatile("ic ialluis; dsb ish; isb" ::: "memory");
    }
    spin_unlock_irqrestore(&paging_lock, flags);
}

phys_addr_t virt_to_phys(const void *virt)
{
    uint64_t v = (uint64_t)virt;
    if (v >= KERNEL_VIRT_BASE && v < (uint64_t)_kernel_end)
        return v - KERNEL_VIRT_BASE + kernel_phys_base;
    if (v >= DIRECT_MAP_BASE && v < DIRECT_MAP_BASE + direct_map_end)
        return v - DIRECT_MAP_BASE;
    uint64_t *pte = find_pte(v);
    return pte && (*pte & PTE_VALID) ? (*pte & PTE_ADDRESS) | (v & (PAGE_SIZE - 1)) : 0;
}
