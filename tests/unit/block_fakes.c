/* Host stand-ins for the kernel's DMA and interrupt services used by the block layer and the
 * virtqueue: DMA memory is ordinary memory whose bus address is its virtual address. */
#include "block_fakes.h"

#include <rayos/dma.h>
#include <rayos/io.h>
#include <rayos/irq.h>

#include <stdlib.h>
#include <string.h>

bool fake_dma_mappable = true;
bool fake_dma_page_at_a_time;
unsigned fake_dma_allocations;

void *dma_alloc(size_t size, size_t align, phys_addr_t *phys)
{
    void *p = aligned_alloc(align < 16 ? 16 : align, (size + align - 1) / align * align);
    if (!p)
        return NULL;
    memset(p, 0, size);
    *phys = (phys_addr_t)(uintptr_t)p;
    fake_dma_allocations++;
    return p;
}

void *dma_alloc_low(size_t size, size_t align, phys_addr_t *phys)
{
    return dma_alloc(size, align, phys);
}

void dma_free(void *virt, size_t size)
{
    (void)size;
    if (virt)
        fake_dma_allocations--;
    free(virt);
}

bool dma_map_buffer(const void *virt, size_t size, phys_addr_t *phys)
{
    (void)size;
    if (!fake_dma_mappable)
        return false;
    /* Like memory that is only contiguous within each page. */
    if (fake_dma_page_at_a_time && size &&
        (uintptr_t)virt / 4096 != ((uintptr_t)virt + size - 1) / 4096)
        return false;
    *phys = (phys_addr_t)(uintptr_t)virt;
    return true;
}

struct fake_dma_sync fake_dma_syncs[FAKE_DMA_SYNCS];
unsigned fake_dma_sync_count;

static void record_sync(phys_addr_t phys, size_t size, enum dma_direction direction,
                        bool for_device)
{
    unsigned slot = fake_dma_sync_count < FAKE_DMA_SYNCS ? fake_dma_sync_count : FAKE_DMA_SYNCS - 1;
    if (fake_dma_sync_count >= FAKE_DMA_SYNCS)
        memmove(fake_dma_syncs, fake_dma_syncs + 1,
                sizeof(fake_dma_syncs[0]) * (FAKE_DMA_SYNCS - 1));
    fake_dma_syncs[slot] = (struct fake_dma_sync){phys, size, direction, for_device};
    fake_dma_sync_count++;
}

void dma_sync_for_device(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    record_sync(phys, size, direction, true);
}

void dma_sync_for_cpu(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    record_sync(phys, size, direction, false);
}

bool fake_dma_synced(phys_addr_t phys, size_t size, enum dma_direction direction, bool for_device)
{
    unsigned recorded = fake_dma_sync_count < FAKE_DMA_SYNCS ? fake_dma_sync_count : FAKE_DMA_SYNCS;
    for (unsigned i = 0; i < recorded; i++) {
        const struct fake_dma_sync *s = &fake_dma_syncs[i];
        if (s->phys == phys && s->size == size && s->direction == direction &&
            s->for_device == for_device)
            return true;
    }
    return false;
}

/* Weak: a test with device registers of its own (test_virtio_mmio) maps them itself. */
__attribute__((weak)) void *map_phys(phys_addr_t phys, size_t size, enum map_attr attr)
{
    (void)size;
    (void)attr;
    return (void *)(uintptr_t)phys;
}

__attribute__((weak)) void unmap_phys(void *virt, size_t size)
{
    (void)virt;
    (void)size;
}

bool irq_enabled(void)
{
    return false;
}
void irq_disable(void)
{
}
void irq_enable(void)
{
}
void cpu_wait_for_interrupt(void)
{
}
