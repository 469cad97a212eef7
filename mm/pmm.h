#ifndef MM_PMM_H
#define MM_PMM_H

#include <rayos/mm.h>

/* Private to mm/: the statistics memory_stats gathers. */
void pmm_stats(uint64_t *total, uint64_t *free, uint64_t *reserved);

void heap_stats(uint64_t *used, uint64_t *mapped, uint64_t *allocations);
uint64_t dma_bytes_in_use(void);

#endif
