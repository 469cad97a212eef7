/* Physical memory and the kernel's view of it. */
#ifndef RAYOS_MM_H
#define RAYOS_MM_H

#include <rayos/types.h>

#define PAGE_SIZE  4096ULL
#define PAGE_SHIFT 12

/* RAM is mapped linearly; these convert between the two views. */
void *phys_to_virt(phys_addr_t phys);
phys_addr_t virt_to_phys(const void *virt);
/* False for addresses outside the linear map (MMIO windows, unmapped space). */
bool virt_is_linear(const void *virt);

/* Physical pages.  page_alloc returns the first page's address or 0 when no run of count pages
 * below limit (exclusive; 0 = anywhere) aligned to align bytes is free. */
phys_addr_t page_alloc(size_t count, size_t align, phys_addr_t limit);
void page_free(phys_addr_t phys, size_t count);

struct memory_stats {
    uint64_t total_pages; /* usable RAM from the memory map */
    uint64_t free_pages;
    uint64_t reserved_pages; /* kernel image, boot data, firmware areas */
    uint64_t heap_bytes_used;
    uint64_t heap_bytes_mapped;
    uint64_t heap_allocations;
    uint64_t dma_bytes;
};
void memory_stats(struct memory_stats *out);

/* The boot loader's memory map, after sanitising. */
enum memory_type {
    MEMORY_USABLE = 1,
    MEMORY_RESERVED = 2,
    MEMORY_ACPI_RECLAIMABLE = 3,
    MEMORY_ACPI_NVS = 4,
    MEMORY_BAD = 5,
};
/* RAM the kernel maps: usable and ACPI memory. */
static inline bool memory_type_is_ram(uint32_t type)
{
    return type == MEMORY_USABLE || type == MEMORY_ACPI_RECLAIMABLE || type == MEMORY_ACPI_NVS;
}
/* RAM at all, bad RAM included: what no device window may cover. */
static inline bool memory_type_is_ram_or_bad(uint32_t type)
{
    return memory_type_is_ram(type) || type == MEMORY_BAD;
}
struct memory_region {
    phys_addr_t base;
    uint64_t length;
    uint32_t type;
};

/* A physical range the page allocator must never hand out: [start, end). */
struct pmm_reserved {
    phys_addr_t start, end;
};

/* Builds the page allocator from the memory map (called once by the architecture's boot code);
 * reserved ranges (kernel image, boot modules, whatever the firmware or the architecture keeps
 * for itself) are never handed out. */
void pmm_init(const struct memory_region *regions, unsigned count,
              const struct pmm_reserved *reserved, unsigned reserved_count);

#endif
