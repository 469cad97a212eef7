/* Devices a flattened device tree describes, turned into platform devices (portable).
 *
 * Every enabled node (status absent or "okay") with a compatible string that sits on the root
 * or on a simple-bus becomes a platform device: name = the node name ("pl011@9000000", made
 * unique if a name repeats), type = the first compatible string ("arm,pl011", "virtio,mmio"),
 * RESOURCE_MEM for each reg entry translated through the parents' ranges, RESOURCE_IRQ for each
 * interrupts specifier.  A node that cannot be decoded is skipped with a warning naming it;
 * the rest still come up.  The blob need not outlive the devices (types are copied). */
#ifndef RAYOS_FDT_DEVICES_H
#define RAYOS_FDT_DEVICES_H

#include <rayos/device.h>
#include <rayos/fdt.h>

/* How an interrupt appears in a RESOURCE_IRQ taken from a device tree: a generic interrupt
 * specifier (<rayos/irq.h>), start = the interrupt controller's line (a GIC INTID: SPI n is
 * 32 + n, PPI n is 16 + n), flags = RESOURCE_IRQ_FLAGS of the trigger the cell says. */
#define FDT_IRQ_FLAGS(edge, active_low)                                                            \
    RESOURCE_IRQ_FLAGS((edge) ? ((active_low) ? IRQ_EDGE_LOW : IRQ_EDGE_HIGH)                      \
                              : ((active_low) ? IRQ_LEVEL_LOW : IRQ_LEVEL_HIGH))

/* The resources of one node: fills at most max, sets *count.  0, or a negative error with the
 * reason in why ("reg: no range of /soc covers it"). */
int fdt_device_resources(const struct fdt *fdt, int node, struct resource *resources, unsigned max,
                         unsigned *count, char *why, size_t why_size);

/* Decodes one interrupt specifier of cells cells from controller into line and flags
 * (FDT_IRQ_FLAGS).  GIC (3 cells: type, number, flags), or a plain 1- or 2-cell (number,
 * flags) controller.  0 or -EINVAL. */
int fdt_decode_interrupt(const struct fdt *fdt, int controller, const uint8_t *specifier,
                         unsigned cells, uint32_t *line, unsigned *flags);

struct fdt_devices_stats {
    unsigned created;
    unsigned skipped; /* malformed or not registered: each one warned about */
};
/* Walks the tree and registers the devices.  Returns how many were created. */
unsigned fdt_create_platform_devices(const struct fdt *fdt, struct fdt_devices_stats *stats);

/* A pci-host-ecam-generic node as a host bridge description: ECAM from reg, bus-range
 * (default 0-255, cut to what the ECAM window holds), the ranges windows (CPU and PCI
 * addresses; a window over RAM or of unknown space is dropped), interrupt-map and its mask for
 * INTx, dma-coherent.  Bad parts are warned about naming the node; -EINVAL when the node cannot
 * be used at all (no ECAM, no window).  firmware_assigned is false: under a device tree nobody
 * has assigned buses or BARs. */
struct pci_host_bridge_desc;
int fdt_pci_host_bridge(const struct fdt *fdt, int node, struct pci_host_bridge_desc *host);
/* Every enabled pci-host-ecam-generic node, in document order: fills at most max descriptions
 * (usable ones only) and returns how many. */
unsigned fdt_pci_host_bridges(const struct fdt *fdt, struct pci_host_bridge_desc *hosts,
                              unsigned max);

#endif
