/* The machine's flattened device tree, when the boot loader passed one (<rayos/boot_info.h>
 * FIRMWARE_DEVICE_TREE): opened (validated) once and kept mapped, for the code that turns it
 * into devices (platform devices, the PCI host bridges). */
#ifndef RAYOS_DEVICE_TREE_H
#define RAYOS_DEVICE_TREE_H

#include <rayos/fdt.h>

/* The tree, or NULL when the machine has none (or it did not validate: said once, in the log). */
const struct fdt *device_tree(void);

#endif
