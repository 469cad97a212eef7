/* Device-tree PCI host bridges (host_fdt.c), for host.c. */
#ifndef DRIVERS_PCI_PCI_HOST_FDT_H
#define DRIVERS_PCI_PCI_HOST_FDT_H

#include <rayos/acpi.h>
#include "pci_core.h"

/* The ECAM windows of the tree's host bridges, as MCFG would give them (base is bus 0's); maps
 * the first bridge's I/O window for the port accessors.  How many were found. */
unsigned pci_fdt_ecam_windows(struct acpi_mcfg_window *out, unsigned max);
/* INTx through the bridges' interrupt-maps (struct pci_config_access.intx_spec). */
int pci_fdt_intx_spec(void *context, struct pci_device *pdev, unsigned pin, struct irq_spec *out);
/* MSI device IDs through the bridges' msi-maps (struct pci_config_access.msi_device_id). */
int pci_fdt_msi_device_id(void *context, struct pci_device *pdev, uint32_t *out);
/* Numbers buses and places BARs under every bridge firmware did not assign. */
void pci_fdt_assign(const struct pci_config_access *access);

#endif
