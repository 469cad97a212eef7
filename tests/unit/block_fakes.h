#ifndef TEST_BLOCK_FAKES_H
#define TEST_BLOCK_FAKES_H

#include <rayos/types.h>

/* dma_map_buffer succeeds only while this is true (false forces bounce buffers). */
extern bool fake_dma_mappable;
/* dma_map_buffer maps nothing that crosses a page boundary (forces page-wise mapping). */
extern bool fake_dma_page_at_a_time;
/* DMA buffers currently allocated (leak checks). */
extern unsigned fake_dma_allocations;

#endif
