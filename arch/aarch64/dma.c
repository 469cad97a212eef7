/* DMA ownership hand-offs (<rayos/dma.h>) by cache maintenance to the point of coherency: a
 * buffer handed to a device is cleaned (dirty lines written to memory), one the device will
 * write is cleaned and invalidated before (no dirty line can later be written back over the
 * device's data) and invalidated again after (lines the CPU fetched speculatively meanwhile are
 * dropped).  On a machine whose devices snoop the caches (QEMU's virt, servers) this is
 * redundant but harmless; not knowing which devices are coherent, the kernel always does it. */
#include <rayos/dma.h>
#include <rayos/mm.h>
#include "aarch64.h"

static uint64_t line_size(void)
{
    return 4ULL << ((read_sysreg(ctr_el0) >> 16) & 0xf); /* CTR_EL0.DminLine: log2 words */
}

static void for_each_line(phys_addr_t phys, size_t size, bool invalidate)
{
    if (!size)
        return;
    uint64_t line = line_size();
    uint64_t start = ALIGN_DOWN((uint64_t)phys_to_virt(phys), line);
    uint64_t end = (uint64_t)phys_to_virt(phys) + size;
    for (uint64_t va = start; va < end; va += line) {
        if (invalidate)
            __asm__ volatile("dc civac, %0" : : "r"(va) : "memory");
        else
            __asm__ volatile("dc cvac, %0" : : "r"(va) : "memory");
    }
    __asm__ volatile("dsb sy" ::: "memory");
}

void arch_dma_sync_for_device(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    for_each_line(phys, size, direction != DMA_TO_DEVICE);
}

void arch_dma_sync_for_cpu(phys_addr_t phys, size_t size, enum dma_direction direction)
{
    if (direction != DMA_TO_DEVICE)
        for_each_line(phys, size, true);
}
