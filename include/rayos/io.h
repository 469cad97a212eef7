/* Port I/O and MMIO accessors.  Drivers include this, never an architecture header: each
 * architecture supplies <asm/io.h> with the inline implementations. */
#ifndef RAYOS_IO_H
#define RAYOS_IO_H

#include <rayos/types.h>
#include <asm/io.h>

/*
 * Provided by <asm/io.h>:
 *   uint8_t  io_read8(uint16_t port);   void io_write8(uint16_t port, uint8_t v);
 *   uint16_t io_read16(uint16_t port);  void io_write16(uint16_t port, uint16_t v);
 *   uint32_t io_read32(uint16_t port);  void io_write32(uint16_t port, uint32_t v);
 *   uint8_t  mmio_read8(const volatile void *a);  ... mmio_read64, mmio_write8 ... mmio_write64
 *   void mb(void); void rmb(void); void wmb(void);   memory barriers for DMA rings
 *   void cpu_relax(void);                            spin-wait hint
 */

/* The host bridge's PCI I/O window, mapped: where architectures without I/O instructions send
 * the port accessors (ignored by those that have them). */
void io_port_window(void *virt, uint32_t size);

enum map_attr {
    MAP_UNCACHED = 0, /* device registers */
    MAP_CACHED = 1,   /* firmware tables in RAM or ROM */
};

/* Maps size bytes of physical address space anywhere in 64 bits; NULL if out of memory, if the
 * range wraps, or (with a warning) for MAP_UNCACHED over RAM of any kind in the boot memory map:
 * device register addresses come from firmware and devices and are not trusted. */
void *map_phys(phys_addr_t phys, size_t size, enum map_attr attr);
void unmap_phys(void *virt, size_t size);

#endif
