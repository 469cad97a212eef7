/* Shell commands of the device model: lspci, devices, drivers, driver bind/unbind. */
#include <rayos/device.h>
#include <rayos/errno.h>
#include <rayos/pci.h>
#include <rayos/shell.h>
#include <rayos/string.h>

#include "pci_core.h"

static void print_text(struct text_buffer *text)
{
    if (text->data)
        shell_write(text->data, text->length);
    if (text->failed)
        shell_printf("(output truncated: out of memory)\n");
    text_free(text);
}

static int cmd_lspci(int argc, char **argv)
{
    bool verbose = false, numeric = false;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-' || argv[i][1] == '\0') {
            shell_printf("usage: lspci [-n] [-v]\n");
            return 1;
        }
        for (const char *flag = argv[i] + 1; *flag; flag++) {
            if (*flag == 'n') {
                numeric = true;
            } else if (*flag == 'v') {
                verbose = true;
            } else {
                shell_printf("lspci: unknown option -%c (usage: lspci [-n] [-v])\n", *flag);
                return 1;
            }
        }
    }
    struct text_buffer text;
    text_init(&text);
    lspci_all(&text, verbose, numeric);
    print_text(&text);
    return 0;
}
SHELL_COMMAND("lspci", "[-n] [-v]  list PCI functions (numeric IDs, details)", cmd_lspci);

static void describe_device(struct text_buffer *text, struct device *dev)
{
    char description[96] = "";
    if (dev->bus->describe)
        dev->bus->describe(dev, description, sizeof(description));
    text_printf(text, "%*s%s [%s]%s%s", (int)device_depth(dev) * 2, "", dev->name, dev->bus->name,
                description[0] ? " " : "", description);
    for (unsigned i = 0; i < dev->resource_count; i++) {
        const struct resource *r = &dev->resources[i];
        if (r->type == RESOURCE_IRQ)
            text_printf(text, " irq %llu", (unsigned long long)r->start);
        else
            text_printf(text, " %s %#llx-%#llx", r->type == RESOURCE_IO ? "io" : "mem",
                        (unsigned long long)r->start, (unsigned long long)(r->start + r->size - 1));
    }
    if (dev->driver)
        text_printf(text, " -> %s\n", dev->driver->name);
    else if (dev->state == DEVICE_PROBE_FAILED)
        text_printf(text, " (probe failed: %d)\n", dev->probe_error);
    else
        text_printf(text, "\n");
}

static int print_subtree(struct device *dev, void *context)
{
    describe_device(context, dev);
    device_for_each_child(dev, print_subtree, context);
    return 0;
}

static int print_root(struct device *dev, void *context)
{
    return dev->parent ? 0 : print_subtree(dev, context);
}

static int cmd_devices(int argc, char **argv)
{
    struct text_buffer text;
    text_init(&text);
    device_for_each(print_root, &text);
    print_text(&text);
    return 0;
}
SHELL_COMMAND("devices", "device tree of all buses with bound drivers", cmd_devices);

struct driver_listing {
    struct text_buffer *text;
    struct driver *drv;
    unsigned count;
};

static int list_bound(struct device *dev, void *context)
{
    struct driver_listing *listing = context;
    if (dev->driver == listing->drv) {
        text_printf(listing->text, " %s", dev->name);
        listing->count++;
    }
    return 0;
}

static int list_driver(struct driver *drv, void *context)
{
    struct driver_listing listing = {context, drv, 0};
    text_printf(listing.text, "%-16s %-9s", drv->name, drv->bus->name);
    device_for_each(list_bound, &listing);
    text_printf(listing.text, "%s\n", listing.count ? "" : " (no devices)");
    return 0;
}

static int cmd_drivers(int argc, char **argv)
{
    struct text_buffer text;
    text_init(&text);
    text_printf(&text, "%-16s %-9s devices\n", "driver", "bus");
    driver_for_each(list_driver, &text);
    print_text(&text);
    return 0;
}
SHELL_COMMAND("drivers", "registered drivers and the devices they drive", cmd_drivers);

static int cmd_driver(int argc, char **argv)
{
    bool bind = argc == 4 && strcmp(argv[1], "bind") == 0;
    bool unbind = argc == 3 && strcmp(argv[1], "unbind") == 0;
    if (!bind && !unbind) {
        shell_printf("usage: driver bind DEVICE DRIVER | driver unbind DEVICE\n");
        return 1;
    }
    struct device *dev = device_find_by_name(argv[2]);
    if (!dev) {
        shell_printf("driver: no device %s\n", argv[2]);
        return 1;
    }
    int error;
    if (bind) {
        struct driver *drv = driver_find_by_name(argv[3]);
        error = drv ? device_bind(dev, drv) : -ENOENT;
        if (!drv)
            shell_printf("driver: no driver %s\n", argv[3]);
        else if (error == -ENODEV)
            shell_printf("driver: %s does not match %s\n", argv[3], argv[2]);
        else if (error == -EBUSY)
            shell_printf("driver: %s is already bound to %s\n", argv[2],
                         dev->driver ? dev->driver->name : "?");
        else if (error)
            shell_printf("driver: probe of %s by %s failed: %s\n", argv[2], argv[3],
                         error_name(-error));
        else
            shell_printf("%s bound to %s\n", argv[2], argv[3]);
    } else {
        const char *name = dev->driver ? dev->driver->name : NULL;
        error = device_unbind(dev);
        if (error)
            shell_printf("driver: %s is not bound\n", argv[2]);
        else
            shell_printf("%s unbound from %s\n", argv[2], name);
    }
    device_put(dev);
    return error ? 1 : 0;
}
SHELL_COMMAND("driver", "bind DEVICE DRIVER | unbind DEVICE  attach or detach a driver",
              cmd_driver);
