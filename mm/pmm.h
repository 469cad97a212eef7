#ifndef MM_PMM_H
#define MM_PMM_H

#include <rayos/mm.h>

struct pmm_reserved {
    phys_addr_t start, end;
};

/* Builds the allocator from the memory map; reserved ranges (kernel image, boot modules) are
 * never handed out.  Low memory below 1 MiB is always reserved. */
void pmm_init(const struct memory_region *regions, unsigned count,
              const struct pmm_reserved *reserved, unsigned reserved_count);
void pmm_stats(uint64_t *total, uint64_t *free, uint64_t *reserved);

void heap_stats(uint64_t *used, uint64_t *mapped, uint64_t *allocations);
uint64_t dma_bytes_in_use(void);

#endif
