/* The PC host bridge side of the PCI core (kernel only). */
#ifndef DRIVERS_PCI_PCI_HOST_H
#define DRIVERS_PCI_PCI_HOST_H

#include "pci_core.h"

/* "ECAM" or "mechanism #1". */
const char *pci_host_access_name(void);
/* What the boot enumeration found and how long it took. */
void pci_host_boot_stats(struct pci_scan_stats *stats, uint64_t *nanoseconds);

#endif
