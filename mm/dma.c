/* DMA memory: physically contiguous page runs, zeroed, used through the direct map
 * (write-back), and the ownership hand-offs, which leave any cache maintenance to the
 * architecture. */
#include <rayos/dma.h>
#include <rayos/mm.h>
#include <rayos/string.h>
#include "pmm.h"

static uint64_t dma_bytes;

static void *allocate(size_t size, size_t align, phys_addr_t limit, phys_addr_t *phys)
{
    if (size == 0 || (align & (align - 1)))
        return NULL;
    size_t pages = DIV_ROUND_UP(size, PAGE_SIZE);
    phys_addr_t p = page_alloc(pages, MAX(align, (size_t)PAGE_SIZE), limit);
    if (!p)
        return NULL;
    void *virt = phys_to_virt(p);
    memset(virt, 0, pages * PAGE_SIZE);
    dma_bytes += pages * PAGE_SIZE;
    *phys = p;
    return virt;
}

void *dma_alloc(size_t size, size_t align, phys_addr_t *phys)
{
    return allocate(size, align, 0, phys);
}

void *dma_alloc_low(size_t size, size_t align, phys_addr_t *phys)
{
    return allocate(size, align, 4 * GiB, phys);
}

void dma_free(void *virt, size_t size)
{
    if (!virt)
        return;
    size_t pages = DIV_ROUND_UP(size, PAGE_SIZE);
    dma_bytes -= pages * PAGE_SIZE;
    page_free(virt_to_phys(virt), pages);
}

bool dma_map_buffer(const void *virt, size_t size, phys_addr_t *phys)
{
    /* The direct map and the kernel image are linear, so any range inside one is contiguous. */
    if (!virt_is_linear(virt) || (size && !virt_is_linear((const char *)virt + size - 1)))
        return false;
    *phys = virt_to_phys(virt);
    return true;
}

void dma_sync_for_device(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    if (size)
        arch_dma_sync_for_device(phys, size, direction);
}

void dma_sync_for_cpu(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    if (size)
        arch_dma_sync_for_cpu(phys, size, direction);
}

uint64_t dma_bytes_in_use(void)
{
    return dma_bytes;
}

void memory_stats(struct memory_stats *out)
{
    pmm_stats(&out->total_pages, &out->free_pages, &out->reserved_pages);
    heap_stats(&out->heap_bytes_used, &out->heap_bytes_mapped, &out->heap_allocations);
    out->dma_bytes = dma_bytes;
}
