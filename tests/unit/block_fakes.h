#ifndef TEST_BLOCK_FAKES_H
#define TEST_BLOCK_FAKES_H

#include <rayos/dma.h>
#include <rayos/types.h>

/* dma_map_buffer succeeds only while this is true (false forces bounce buffers). */
extern bool fake_dma_mappable;
/* dma_map_buffer maps nothing that crosses a page boundary (forces page-wise mapping). */
extern bool fake_dma_page_at_a_time;
/* DMA buffers currently allocated (leak checks). */
extern unsigned fake_dma_allocations;

/* The last FAKE_DMA_SYNCS hand-offs (dma_sync_for_device/for_cpu), oldest first, and how many
 * there were in all; tests clear fake_dma_sync_count. */
#define FAKE_DMA_SYNCS 64
struct fake_dma_sync {
    phys_addr_t phys;
    size_t size;
    enum dma_direction direction;
    bool for_device;
};
extern struct fake_dma_sync fake_dma_syncs[FAKE_DMA_SYNCS];
extern unsigned fake_dma_sync_count;
/* Whether a hand-off of exactly this range, way and direction is among the recorded ones. */
bool fake_dma_synced(phys_addr_t phys, size_t size, enum dma_direction direction, bool for_device);

#endif
