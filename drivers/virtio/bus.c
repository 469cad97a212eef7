/* The virtio bus: VirtIO devices found by a transport hang under the transport's device, and
 * drivers bind to them by device ID (and optionally vendor), whatever the transport. */
#define pr_fmt(fmt) "virtio: " fmt
#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/virtio.h>

#define TABLE_MAX 64

static const struct virtio_driver *to_virtio_driver(const struct driver *drv)
{
    return container_of(drv, struct virtio_driver, driver);
}

static int virtio_match(struct device *dev, struct driver *drv)
{
    const struct virtio_device *vdev = to_virtio_device(dev);
    const struct virtio_device_id *id = to_virtio_driver(drv)->id_table;
    for (unsigned i = 0; id && i < TABLE_MAX && id[i].device; i++) {
        if (id[i].device != vdev->device_id)
            continue;
        if (id[i].vendor == vdev->vendor_id)
            return 200;
        if (id[i].vendor == VIRTIO_ANY_VENDOR)
            return 100;
    }
    return 0;
}

static int virtio_probe(struct device *dev, struct driver *drv)
{
    const struct virtio_driver *vdrv = to_virtio_driver(drv);
    return vdrv->probe ? vdrv->probe(to_virtio_device(dev)) : 0;
}

static void virtio_remove(struct device *dev, struct driver *drv)
{
    const struct virtio_driver *vdrv = to_virtio_driver(drv);
    if (vdrv->remove)
        vdrv->remove(to_virtio_device(dev));
}

/* Device type names (VirtIO 1.2, 5) for listings. */
static const char *type_name(uint32_t id)
{
    switch (id) {
    case 1:
        return "network";
    case 2:
        return "block";
    case 3:
        return "console";
    case 4:
        return "entropy";
    case 5:
        return "balloon";
    case 8:
        return "SCSI host";
    case 9:
        return "9P transport";
    case 16:
        return "GPU";
    case 18:
        return "input";
    case 19:
        return "socket";
    default:
        return "device";
    }
}

static void virtio_describe(struct device *dev, char *buffer, size_t size)
{
    const struct virtio_device *vdev = to_virtio_device(dev);
    snprintf(buffer, size, "virtio %s (type %u), %s transport", type_name(vdev->device_id),
             vdev->device_id, vdev->transport_name);
}

static void virtio_modalias(struct device *dev, char *buffer, size_t size)
{
    const struct virtio_device *vdev = to_virtio_device(dev);
    snprintf(buffer, size, "virtio:d%08Xv%08X", vdev->device_id, vdev->vendor_id);
}

struct bus_type virtio_bus_type = {
    .name = "virtio",
    .match = virtio_match,
    .probe = virtio_probe,
    .remove = virtio_remove,
    .describe = virtio_describe,
    .modalias = virtio_modalias,
};

static int virtio_bus_init(void)
{
    /* Registered by the first transport or driver; the device model serialises them. */
    if (virtio_bus_type.registered)
        return 0;
    return bus_register(&virtio_bus_type);
}

int virtio_register_driver(struct virtio_driver *drv)
{
    int error = virtio_bus_init();
    if (error)
        return error;
    drv->driver.name = drv->name;
    drv->driver.bus = &virtio_bus_type;
    drv->driver.priv_size = drv->priv_size;
    drv->driver.owner = drv->owner;
    return driver_register(&drv->driver);
}

void virtio_unregister_driver(struct virtio_driver *drv)
{
    driver_unregister(&drv->driver);
}

/* Holds the reference devm_virtio_device_add took: when the transport's device is unregistered
 * the core removes the child first, and the record must still point at live memory. */
static void unregister_action(void *vdev)
{
    struct device *dev = &((struct virtio_device *)vdev)->dev;
    device_unregister(dev);
    device_put(dev);
}

int devm_virtio_device_add(struct device *parent, struct virtio_device *vdev,
                           void (*release)(struct device *dev))
{
    static unsigned next_index;
    char name[DEVICE_NAME_MAX];
    snprintf(name, sizeof(name), "virtio%u", __atomic_fetch_add(&next_index, 1, __ATOMIC_RELAXED));
    device_initialize(&vdev->dev, &virtio_bus_type, parent, name);
    vdev->dev.release = release;
    int error = virtio_bus_init();
    if (error == 0)
        error = device_register(&vdev->dev);
    if (error) {
        pr_err("%s: %s not registered: %d\n", parent->name, name, error);
        vdev->dev.parent = NULL; /* registration took no reference on it */
        device_put(&vdev->dev);
        return error;
    }
    device_get(&vdev->dev);
    return devm_add_action(parent, unregister_action, vdev, "virtio device");
}
