/* The "virtual" root: devices that no hardware backs (loop devices) hang from it, so the
 * device model stays one tree in which every block device has a parent. */
#include <rayos/device.h>
#include <rayos/errno.h>
#include <rayos/lock.h>
#include <rayos/printk.h>

static int virtual_match(struct device *dev, struct driver *drv)
{
    (void)dev;
    (void)drv;
    return 0; /* nothing binds: whoever creates a virtual device drives it */
}

static struct bus_type virtual_bus = {.name = "virtual", .match = virtual_match};
static struct device virtual_root; /* static: never released */
static struct mutex virtual_mutex = MUTEX_INIT("virtual root");
static bool virtual_root_registered;

struct device *virtual_device_root(void)
{
    mutex_lock(&virtual_mutex);
    if (!virtual_root_registered) {
        int error = virtual_bus.registered ? 0 : bus_register(&virtual_bus);
        if (error == 0) {
            device_initialize(&virtual_root, &virtual_bus, NULL, "virtual");
            error = device_register(&virtual_root);
        }
        if (error)
            pr_err("device: cannot register the virtual root: %s (%d)\n", error_name(-error),
                   error);
        virtual_root_registered = error == 0;
    }
    mutex_unlock(&virtual_mutex);
    return virtual_root_registered ? &virtual_root : NULL;
}
