/* Device-managed resources: what a driver takes through these calls while it probes a device
 * (heap, DMA buffers, mappings, interrupts, block devices, any undo action) is recorded on the
 * device and released by the core, newest first, when probe() fails or after remove() returns.
 * A probe therefore returns its error without unwinding by hand, and remove() only quiesces
 * the hardware.  The per-device private data a driver declares with priv_size (struct driver,
 * struct pci_driver) is allocated zeroed before probe() and freed after everything else.
 *
 * Each call returns NULL or a negative error when it cannot take the resource; what was taken
 * before stays recorded and goes with the rest.  The PCI interrupt calls live in <rayos/pci.h>
 * (devm_pci_*), the block device one in <rayos/block.h>. */
#ifndef RAYOS_DEVRES_H
#define RAYOS_DEVRES_H

#include <rayos/io.h>
#include <rayos/types.h>

struct device;

/* Runs action(data) at release time.  On failure (-ENOMEM) the action runs at once, so the
 * caller can treat the resource as already handed over. */
int devm_add_action(struct device *dev, void (*action)(void *data), void *data, const char *what);
/* Runs a recorded action now and forgets it (0, or -ENOENT if no such record). */
int devm_release_action(struct device *dev, void (*action)(void *data), void *data);

void *devm_kzalloc(struct device *dev, size_t size);
void *devm_kcalloc(struct device *dev, size_t count, size_t size);
/* Frees a devm_kzalloc/devm_kcalloc block early. */
void devm_kfree(struct device *dev, void *ptr);

/* dma_alloc() (zeroed, physically contiguous) and its early release. */
void *devm_dma_alloc(struct device *dev, size_t size, size_t align, phys_addr_t *phys);
void devm_dma_free(struct device *dev, void *virt);

/* map_phys() of device registers (platform devices; PCI BARs: pci_map_bar, kept for the
 * device's lifetime by the PCI core). */
void *devm_map_phys(struct device *dev, phys_addr_t phys, size_t size, enum map_attr attr);

/* ---- for the device core and tests ---- */

/* Releases everything recorded on the device, newest first. */
void devres_release_all(struct device *dev);
/* How many records the device holds. */
unsigned devres_count(struct device *dev);

#endif
