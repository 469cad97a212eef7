/* The device registry: buses, devices, drivers, binding and events (see <rayos/device.h>). */
#define pr_fmt(fmt) "device: " fmt

#include <rayos/device.h>
#include <rayos/errno.h>
#include <rayos/printk.h>
#include <rayos/string.h>

static LIST_HEAD(bus_list);
static LIST_HEAD(device_list); /* registration order; a device leaves it on its last put */
static LIST_HEAD(driver_list);
static LIST_HEAD(listener_list);

/* ---- buses ---- */

int bus_register(struct bus_type *bus)
{
    if (!bus || !bus->name || !bus->match)
        return -EINVAL;
    if (bus->registered || bus_find_by_name(bus->name))
        return -EEXIST;
    list_add_tail(&bus_list, &bus->node);
    bus->registered = true;
    return 0;
}

struct bus_type *bus_find_by_name(const char *name)
{
    struct bus_type *bus;
    list_for_each_entry(bus, &bus_list, node)
    {
        if (strcmp(bus->name, name) == 0)
            return bus;
    }
    return NULL;
}

int bus_for_each(int (*fn)(struct bus_type *bus, void *context), void *context)
{
    struct bus_type *bus;
    list_for_each_entry(bus, &bus_list, node)
    {
        int result = fn(bus, context);
        if (result)
            return result;
    }
    return 0;
}

/* ---- events ---- */

void device_listen(struct device_listener *listener)
{
    list_add_tail(&listener_list, &listener->node);
}

void device_unlisten(struct device_listener *listener)
{
    list_remove(&listener->node);
}

const char *device_event_name(enum device_event event)
{
    switch (event) {
    case DEVICE_EVENT_ADDED:
        return "added";
    case DEVICE_EVENT_REMOVED:
        return "removed";
    case DEVICE_EVENT_BOUND:
        return "bound";
    case DEVICE_EVENT_UNBOUND:
        return "unbound";
    }
    return "?";
}

static void device_notify(struct device *dev, enum device_event event)
{
    struct list_node *pos, *next;
    /* A listener may unsubscribe itself from its callback. */
    list_for_each_safe(pos, next, &listener_list)
    {
        struct device_listener *listener = list_entry(pos, struct device_listener, node);
        listener->notify(dev, event, listener->context);
    }
}

/* ---- devices ---- */

const char *device_state_name(enum device_state state)
{
    switch (state) {
    case DEVICE_PRESENT:
        return "present";
    case DEVICE_BOUND:
        return "bound";
    case DEVICE_PROBE_FAILED:
        return "probe-failed";
    case DEVICE_REMOVED:
        return "removed";
    }
    return "?";
}

void device_initialize(struct device *dev, struct bus_type *bus, struct device *parent,
                       const char *name)
{
    dev->bus = bus;
    dev->parent = parent;
    snprintf(dev->name, sizeof(dev->name), "%s", name ? name : "");
    dev->resource_count = 0;
    dev->state = DEVICE_PRESENT;
    dev->probe_error = 0;
    dev->driver = NULL;
    dev->driver_data = NULL;
    dev->refcount = 1;
    list_init(&dev->children);
    list_init(&dev->sibling);
    list_init(&dev->all_node);
}

int device_add_resource(struct device *dev, enum resource_type type, uint64_t start, uint64_t size,
                        unsigned flags)
{
    if (dev->resource_count >= DEVICE_MAX_RESOURCES) {
        pr_warn("%s: more than %d resources, dropping one\n", dev->name, DEVICE_MAX_RESOURCES);
        return -ENOSPC;
    }
    struct resource *res = &dev->resources[dev->resource_count++];
    res->type = type;
    res->start = start;
    res->size = size;
    res->flags = flags;
    return 0;
}

const struct resource *device_resource(const struct device *dev, enum resource_type type,
                                       unsigned index)
{
    for (unsigned i = 0; i < dev->resource_count; i++) {
        if (dev->resources[i].type == type && index-- == 0)
            return &dev->resources[i];
    }
    return NULL;
}

struct device *device_get(struct device *dev)
{
    if (dev) {
        BUG_ON(dev->refcount <= 0);
        dev->refcount++;
    }
    return dev;
}

void device_put(struct device *dev)
{
    if (!dev)
        return;
    BUG_ON(dev->refcount <= 0);
    if (--dev->refcount > 0)
        return;
    /* Only an unregistered (or never registered) device can lose its last reference. */
    BUG_ON(dev->state != DEVICE_REMOVED && !list_empty(&dev->all_node));
    list_remove(&dev->all_node);
    struct device *parent = dev->parent;
    if (dev->release)
        dev->release(dev);
    device_put(parent);
}

static bool device_is_live(const struct device *dev)
{
    return dev->state != DEVICE_REMOVED && !list_empty(&dev->all_node);
}

static struct device *find_live_device(const char *name)
{
    struct device *dev;
    list_for_each_entry(dev, &device_list, all_node)
    {
        if (dev->state != DEVICE_REMOVED && strcmp(dev->name, name) == 0)
            return dev;
    }
    return NULL;
}

struct device *device_find_by_name(const char *name)
{
    return device_get(find_live_device(name));
}

/* Walks the list holding a reference on the current entry, so fn may unregister it (the
 * entry stays linked until its last reference goes) and probe() may append devices. */
int device_for_each(int (*fn)(struct device *dev, void *context), void *context)
{
    struct list_node *pos = device_list.next;
    if (pos == &device_list)
        return 0;
    struct device *dev = device_get(list_entry(pos, struct device, all_node));
    while (dev) {
        int result = 0;
        if (dev->state != DEVICE_REMOVED)
            result = fn(dev, context);
        struct device *next = NULL;
        if (!result && dev->all_node.next != &device_list)
            next = device_get(list_entry(dev->all_node.next, struct device, all_node));
        device_put(dev);
        if (result)
            return result;
        dev = next;
    }
    return 0;
}

int device_for_each_child(struct device *parent, int (*fn)(struct device *dev, void *context),
                          void *context)
{
    struct list_node *pos = parent->children.next;
    if (pos == &parent->children)
        return 0;
    struct device *dev = device_get(list_entry(pos, struct device, sibling));
    while (dev) {
        int result = fn(dev, context);
        struct device *next = NULL;
        /* An unregistered child has left the list (its sibling node points to itself). */
        if (!result && dev->sibling.next != &dev->sibling && dev->sibling.next != &parent->children)
            next = device_get(list_entry(dev->sibling.next, struct device, sibling));
        device_put(dev);
        if (result)
            return result;
        dev = next;
    }
    return 0;
}

unsigned device_depth(const struct device *dev)
{
    unsigned depth = 0;
    for (const struct device *p = dev->parent; p && depth < 64; p = p->parent)
        depth++;
    return depth;
}

/* ---- binding ---- */

static int driver_match(struct device *dev, struct driver *drv)
{
    if (drv->bus != dev->bus)
        return 0;
    int score = dev->bus->match(dev, drv);
    return score > 0 ? score : 0;
}

static int really_probe(struct device *dev, struct driver *drv)
{
    device_get(dev);
    dev->driver = drv;
    int error;
    if (dev->bus->probe)
        error = dev->bus->probe(dev, drv);
    else
        error = drv->probe ? drv->probe(dev) : 0;
    if (error == 0 && dev->state != DEVICE_REMOVED) {
        dev->state = DEVICE_BOUND;
        dev->probe_error = 0;
        pr_info("%s: bound to %s\n", dev->name, drv->name);
        device_notify(dev, DEVICE_EVENT_BOUND);
    } else {
        if (error == 0)
            error = -ENOENT;
        dev->driver = NULL;
        dev->driver_data = NULL;
        if (dev->state != DEVICE_REMOVED) {
            dev->state = DEVICE_PROBE_FAILED;
            dev->probe_error = error;
        }
        pr_warn("%s: probe by %s failed: %s (%d)\n", dev->name, drv->name, error_name(-error),
                error);
    }
    device_put(dev);
    return error;
}

/* Tries the matching drivers, most specific first, until one probes successfully. */
static void device_autobind(struct device *dev)
{
    int tried_below = 0x7fffffff; /* scores already tried are >= this */
    struct driver *tried[8];
    unsigned tried_count = 0;
    for (unsigned attempt = 0; attempt < ARRAY_SIZE(tried); attempt++) {
        struct driver *best = NULL, *drv;
        int best_score = 0;
        list_for_each_entry(drv, &driver_list, node)
        {
            int score = driver_match(dev, drv);
            bool done = false;
            for (unsigned i = 0; i < tried_count; i++)
                done |= tried[i] == drv;
            if (score > best_score && score <= tried_below && !done) {
                best = drv;
                best_score = score;
            }
        }
        if (!best)
            return;
        tried[tried_count++] = best;
        tried_below = best_score;
        if (really_probe(dev, best) == 0 || !device_is_live(dev))
            return;
    }
}

int device_register(struct device *dev)
{
    if (!dev->bus || !dev->bus->registered) {
        pr_err("%s: no registered bus\n", dev->name);
        return -EINVAL;
    }
    if (dev->name[0] == '\0' || find_live_device(dev->name)) {
        pr_err("%s: device name already registered\n", dev->name);
        return -EEXIST;
    }
    if (dev->parent && !device_is_live(dev->parent)) {
        pr_err("%s: parent %s is not registered\n", dev->name, dev->parent->name);
        return -ENOENT;
    }
    dev->state = DEVICE_PRESENT;
    list_add_tail(&device_list, &dev->all_node);
    if (dev->parent) {
        device_get(dev->parent);
        list_add_tail(&dev->parent->children, &dev->sibling);
    }
    device_notify(dev, DEVICE_EVENT_ADDED);
    if (device_is_live(dev))
        device_autobind(dev);
    return 0;
}

int device_bind(struct device *dev, struct driver *drv)
{
    if (!device_is_live(dev))
        return -ENOENT;
    if (dev->state == DEVICE_BOUND)
        return -EBUSY;
    if (!drv->registered || driver_match(dev, drv) == 0)
        return -ENODEV;
    return really_probe(dev, drv);
}

int device_unbind(struct device *dev)
{
    if (dev->state != DEVICE_BOUND || !dev->driver)
        return -ENODEV;
    struct driver *drv = dev->driver;
    device_get(dev);
    device_notify(dev, DEVICE_EVENT_UNBOUND);
    if (dev->bus->remove)
        dev->bus->remove(dev, drv);
    else if (drv->remove)
        drv->remove(dev);
    dev->driver = NULL;
    dev->driver_data = NULL;
    dev->state = DEVICE_PRESENT;
    pr_info("%s: unbound from %s\n", dev->name, drv->name);
    device_put(dev);
    return 0;
}

void device_unregister(struct device *dev)
{
    if (!device_is_live(dev))
        return;
    device_get(dev);
    /* Children go first, newest first, so nothing outlives what it hangs off. */
    while (!list_empty(&dev->children)) {
        struct device *child = list_entry(dev->children.prev, struct device, sibling);
        device_unregister(child);
    }
    if (dev->state == DEVICE_BOUND)
        device_unbind(dev);
    dev->state = DEVICE_REMOVED;
    list_remove(&dev->sibling);
    device_notify(dev, DEVICE_EVENT_REMOVED);
    device_put(dev); /* the registry's reference */
    device_put(dev);
}

/* ---- drivers ---- */

struct driver *driver_find_by_name(const char *name)
{
    struct driver *drv;
    list_for_each_entry(drv, &driver_list, node)
    {
        if (strcmp(drv->name, name) == 0)
            return drv;
    }
    return NULL;
}

int driver_for_each(int (*fn)(struct driver *drv, void *context), void *context)
{
    struct driver *drv;
    list_for_each_entry(drv, &driver_list, node)
    {
        int result = fn(drv, context);
        if (result)
            return result;
    }
    return 0;
}

static int bind_new_driver(struct device *dev, void *context)
{
    struct driver *drv = context;
    if (dev->state != DEVICE_BOUND && driver_match(dev, drv) > 0)
        really_probe(dev, drv);
    return 0;
}

int driver_register(struct driver *drv)
{
    if (!drv->name || !drv->bus || !drv->bus->registered)
        return -EINVAL;
    if (drv->registered || driver_find_by_name(drv->name)) {
        pr_err("driver %s already registered\n", drv->name);
        return -EEXIST;
    }
    list_add_tail(&driver_list, &drv->node);
    drv->registered = true;
    device_for_each(bind_new_driver, drv);
    return 0;
}

static int unbind_driver(struct device *dev, void *context)
{
    if (dev->driver == context)
        device_unbind(dev);
    return 0;
}

void driver_unregister(struct driver *drv)
{
    if (!drv->registered)
        return;
    device_for_each(unbind_driver, drv);
    list_remove(&drv->node);
    drv->registered = false;
}
