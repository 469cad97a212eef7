/* DMA memory: physically contiguous, zeroed buffers for devices, and the hand-offs of any
 * memory a device reads or writes.
 *
 * Ownership: memory a device accesses by DMA (rings, command tables, data buffers, bounce
 * buffers) belongs either to the CPU or to the device.  Before the device may read what the
 * CPU wrote, or write where the CPU will read, the driver hands the bytes over with
 * dma_sync_for_device; once the device is done (a completion seen), dma_sync_for_cpu hands
 * them back before the CPU reads them.  The bus address (phys) is the handle.  Where DMA is
 * cache-coherent (x86; PCI and virtio-mmio on QEMU's aarch64 virt) both are no-ops; a
 * non-coherent architecture cleans (TO_DEVICE), invalidates (FROM_DEVICE) or does both in its
 * arch_dma_sync_* hooks.  The block layer hands request data segments over around
 * ops->submit and blk_request_done; drivers hand over what they own themselves. */
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

/* Which way the bytes go while the device owns them. */
enum dma_direction {
    DMA_TO_DEVICE,     /* the device reads them: commands, descriptors, data to write */
    DMA_FROM_DEVICE,   /* the device writes them: completions, status, data read */
    DMA_BIDIRECTIONAL, /* both (a ring the device updates, a status next to a command) */
};

/* Hands [phys, phys+size) to the device, after the CPU's last access. */
void dma_sync_for_device(phys_addr_t phys, size_t size, enum dma_direction direction);
/* Hands it back to the CPU, before the CPU's first access after the device's. */
void dma_sync_for_cpu(phys_addr_t phys, size_t size, enum dma_direction direction);

/* Architecture part (arch/<arch>/dma.c): the cache maintenance the hand-offs need, nothing
 * where DMA is coherent. */
void arch_dma_sync_for_device(phys_addr_t phys, size_t size, enum dma_direction direction);
void arch_dma_sync_for_cpu(phys_addr_t phys, size_t size, enum dma_direction direction);

#endif
