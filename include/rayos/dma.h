/* DMA memory: physically contiguous, zeroed, cache-coherent buffers for devices. */
#ifndef RAYOS_DMA_H
#define RAYOS_DMA_H

#include <rayos/types.h>

/* Allocates size bytes aligned to align (a power of two, at least 4096 is cheapest).
 * Returns the kernel pointer and stores the bus address in *phys; NULL if none is free. */
void *dma_alloc(size_t size, size_t align, phys_addr_t *phys);
/* The same, for devices that can only address the first 4 GiB. */
void *dma_alloc_low(size_t size, size_t align, phys_addr_t *phys);
void dma_free(void *virt, size_t size);

/* The bus address of a kernel buffer, if [virt, virt+size) is physically contiguous and
 * DMA-able; returns false otherwise (the caller then uses a bounce buffer). */
bool dma_map_buffer(const void *virt, size_t size, phys_addr_t *phys);

#endif
