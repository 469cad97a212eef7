/* The machine's device tree, when the boot loader passed one: opened (validated) once and kept
 * mapped for the code that turns it into devices, and its devices registered at boot. */
#define pr_fmt(fmt) "fdt: " fmt
#include <rayos/boot_info.h>
#include <rayos/device_tree.h>
#include <rayos/errno.h>
#include <rayos/fdt_devices.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/printk.h>

const struct fdt *device_tree(void)
{
    static struct fdt fdt;
    static bool tried, valid;
    if (tried)
        return valid ? &fdt : NULL;
    tried = true;
    if (boot_info.firmware_tables != FIRMWARE_DEVICE_TREE || !boot_info.dtb_size)
        return NULL;
    const void *blob = map_phys(boot_info.dtb, boot_info.dtb_size, MAP_CACHED);
    if (!blob) {
        pr_err("cannot map the device tree at %#llx\n", (unsigned long long)boot_info.dtb);
        return NULL;
    }
    if (fdt_open(&fdt, blob, boot_info.dtb_size) != 0) {
        pr_err("device tree rejected: %s\n", fdt.why);
        return NULL;
    }
    valid = true;
    return &fdt;
}

static int device_tree_devices_init(void)
{
    const struct fdt *fdt = device_tree();
    if (!fdt)
        return -ENODEV;
    fdt_create_platform_devices(fdt, NULL);
    return 0;
}
INITCALL(device_tree_devices_init, INIT_BUS);
