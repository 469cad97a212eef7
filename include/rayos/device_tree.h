/* The machine's flattened device tree, when the boot loader passed one (<rayos/boot_info.h>
 * FIRMWARE_DEVICE_TREE): opened (validated) once and kept mapped, for the code that turns it
 * into devices (platform devices, the PCI host bridge). */
#ifndef RAYOS_DEVICE_TREE_H
#define RAYOS_DEVICE_TREE_H

#include <rayos/fdt.h>
#include <rayos/irq.h>

/* The tree, or NULL when the machine has none (or it did not validate: said once, in the log). */
const struct fdt *device_tree(void);

/* The index-th interrupt of node as an interrupt specifier, decoded by the binding of its
 * interrupt parent (the Arm GIC's three cells: SPI/PPI, number, trigger flags).  0, -ENOENT past
 * the last, -EINVAL when malformed or the controller's binding is unknown. */
int device_tree_irq_spec(const struct fdt *fdt, int node, unsigned index, struct irq_spec *out);
/* The same for a specifier already read (interrupt-map entries): cells of the controller. */
int device_tree_decode_irq(const struct fdt *fdt, int controller, const void *cells,
                           struct irq_spec *out);

#endif
