/* The PC host bridge side of the PCI core (kernel only). */
#ifndef DRIVERS_PCI_PCI_HOST_H
#define DRIVERS_PCI_PCI_HOST_H

#include "pci_core.h"

/* "ECAM" or "mechanism #1". */
const char *pci_host_access_name(void);
/* What the boot enumeration found and how long it took. */
void pci_host_boot_stats(struct pci_scan_stats *stats, uint64_t *nanoseconds);

/* Mechanism #1 directly, whatever the default access is (self-tests compare the two). */
uint32_t pci_cam_read32(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset);

#endif
