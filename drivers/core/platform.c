/* The platform bus and the legacy PC devices it describes. */
#define pr_fmt(fmt) "platform: " fmt

#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/string.h>

static int platform_match(struct device *dev, struct driver *drv)
{
    struct platform_driver *pdrv = container_of(drv, struct platform_driver, driver);
    const char *type = to_platform_device(dev)->type;
    for (unsigned i = 0; pdrv->types && pdrv->types[i] && i < 64; i++) {
        if (strcmp(pdrv->types[i], type) == 0)
            return 100;
    }
    return 0;
}

static int platform_probe(struct device *dev, struct driver *drv)
{
    struct platform_driver *pdrv = container_of(drv, struct platform_driver, driver);
    return pdrv->probe ? pdrv->probe(to_platform_device(dev)) : 0;
}

static void platform_remove(struct device *dev, struct driver *drv)
{
    struct platform_driver *pdrv = container_of(drv, struct platform_driver, driver);
    if (pdrv->remove)
        pdrv->remove(to_platform_device(dev));
}

static void platform_describe(struct device *dev, char *buffer, size_t size)
{
    snprintf(buffer, size, "%s", to_platform_device(dev)->type);
}

static void platform_modalias(struct device *dev, char *buffer, size_t size)
{
    const char *type = to_platform_device(dev)->type;
    snprintf(buffer, size, "platform:%s", type ? type : "");
}

struct bus_type platform_bus_type = {
    .name = "platform",
    .modalias = platform_modalias,
    .match = platform_match,
    .probe = platform_probe,
    .remove = platform_remove,
    .describe = platform_describe,
};

/* The root the platform devices hang from: a platform device of a type no driver lists. */
static struct platform_device platform_root = {.type = "root"};

static void platform_device_release(struct device *dev)
{
    kfree(to_platform_device(dev));
}

static int platform_bus_init(void)
{
    if (platform_bus_type.registered)
        return 0;
    int error = bus_register(&platform_bus_type);
    if (error)
        return error;
    device_initialize(&platform_root.dev, &platform_bus_type, NULL, "platform");
    return device_register(&platform_root.dev);
}

int platform_register_driver(struct platform_driver *drv)
{
    int error = platform_bus_init();
    if (error)
        return error;
    drv->driver.name = drv->name;
    drv->driver.bus = &platform_bus_type;
    drv->driver.priv_size = drv->priv_size;
    drv->driver.owner = drv->owner;
    return driver_register(&drv->driver);
}

void platform_unregister_driver(struct platform_driver *drv)
{
    driver_unregister(&drv->driver);
}

struct platform_device *platform_device_create(const char *name, const char *type,
                                               const struct resource *resources, unsigned count)
{
    if (platform_bus_init() != 0)
        return NULL;
    struct platform_device *pdev = kzalloc(sizeof(*pdev));
    if (!pdev)
        return NULL;
    pdev->type = type;
    device_initialize(&pdev->dev, &platform_bus_type, &platform_root.dev, name);
    pdev->dev.release = platform_device_release;
    for (unsigned i = 0; i < count; i++)
        device_add_resource(&pdev->dev, resources[i].type, resources[i].start, resources[i].size,
                            resources[i].flags);
    int error = device_register(&pdev->dev);
    if (error) {
        pr_err("%s: not registered: %d\n", name, error);
        device_put(&pdev->dev);
        return NULL;
    }
    return pdev;
}
