/* The "platform" bus: devices at fixed, firmware-described addresses that no bus enumerates
 * (the COM1 UART, legacy IDE channels, the i8042 keyboard controller, the CMOS clock).  They
 * use the same device model as PCI, so a driver for them is an ordinary driver:
 *
 *     static const char *const types[] = {"ide-legacy", NULL};
 *     static struct platform_driver ide = {.name = "ide", .types = types,
 *                                          .probe = ide_probe, .remove = ide_remove};
 *     platform_register_driver(&ide);
 *
 * Resources: device_resource(&pdev->dev, RESOURCE_IO, 0) and so on. */
#ifndef RAYOS_PLATFORM_H
#define RAYOS_PLATFORM_H

#include <rayos/device.h>

struct platform_device {
    struct device dev; /* name "serial0", "ide0" */
    const char *type;  /* what it is: "uart16550", "ide-legacy", "i8042", "rtc-cmos" */
};

struct platform_driver {
    const char *name;
    const char *const *types; /* NULL-terminated list of device types it drives */
    size_t priv_size;         /* private data the core allocates before probe (driver_data) */
    int (*probe)(struct platform_device *pdev);
    void (*remove)(struct platform_device *pdev);
    struct module *owner; /* THIS_MODULE */
    struct driver driver; /* owned by the platform bus */
};

extern struct bus_type platform_bus_type;

#define to_platform_device(d) container_of(d, struct platform_device, dev)

int platform_register_driver(struct platform_driver *drv);
void platform_unregister_driver(struct platform_driver *drv);

/* Creates and registers a device under the "platform" root with the given resources. */
struct platform_device *platform_device_create(const char *name, const char *type,
                                               const struct resource *resources, unsigned count);

#endif
