/* DMA ownership hand-offs (<rayos/dma.h>).  x86 keeps DMA coherent with the caches (devices
 * snoop them), so nothing has to be cleaned or invalidated: both hooks are empty.  A
 * non-coherent architecture cleans the range to memory for TO_DEVICE, invalidates it for
 * FROM_DEVICE (before the device writes, so no dirty line is written back over its data, and
 * again after, for lines fetched speculatively meanwhile), and does both for BIDIRECTIONAL. */
#include <rayos/dma.h>

void arch_dma_sync_for_device(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    (void)phys;
    (void)size;
    (void)direction;
}

void arch_dma_sync_for_cpu(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    (void)phys;
    (void)size;
    (void)direction;
}
