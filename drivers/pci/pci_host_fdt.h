/* Device-tree PCI host bridges (host_fdt.c), for host.c. */
#ifndef DRIVERS_PCI_PCI_HOST_FDT_H
#define DRIVERS_PCI_PCI_HOST_FDT_H

#include <rayos/acpi.h>
#include "pci_core.h"

/* The ECAM windows of the tree's pci-host-ecam-generic nodes, as MCFG would give them (base is
 * bus 0's); sets up the first bridge's I/O window and INTx map.  How many were found. */
unsigned pci_fdt_ecam_windows(struct acpi_mcfg_window *out, unsigned max);
/* INTx through the first bridge's interrupt-map (struct pci_config_access.intx_spec). */
int pci_fdt_intx_spec(void *context, struct pci_device *pdev, unsigned pin, struct irq_spec *out);

/* A window of the bridge's ranges: CPU address, PCI bus address, size (0: absent). */
struct pci_fdt_window {
    uint64_t cpu, pci, size;
};
struct pci_fdt_windows {
    struct pci_fdt_window io, mem32, mem64, mem64_prefetchable;
};
const struct pci_fdt_windows *pci_fdt_windows(void);
/* The first bridge's windows as resource assignment places into them (bus addresses; memory
 * windows must map 1:1, I/O starts above the first 4 KiB); false without a bridge. */
bool pci_fdt_host_windows(struct pci_host_windows *out);

#endif
