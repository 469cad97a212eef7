/* The device registry: buses, devices, drivers, binding and events (see <rayos/device.h>). */
#define pr_fmt(fmt) "device: " fmt

#include <rayos/device.h>
#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/module.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/work.h>

/* One sleeping lock for the whole model: the lists below, every device's state, driver and
 * children, and every probe and remove run under it, so a `driver bind` on one CPU, a hot-plug
 * event on another and a walk by `devices` on a third see each other whole.  It may be taken
 * again by its holder (a probe registers children, a remove unregisters them); never in
 * interrupt context.  Reference counts are atomic and need no lock. */
static struct mutex model_mutex = MUTEX_INIT("device model");
static unsigned model_depth; /* the holder's nesting */

static void model_lock(void)
{
    if (mutex_held_by_me(&model_mutex)) {
        model_depth++;
        return;
    }
    mutex_lock(&model_mutex);
    model_depth = 1;
}

static void model_unlock(void)
{
    if (--model_depth == 0)
        mutex_unlock(&model_mutex);
}

static LIST_HEAD(bus_list);
static LIST_HEAD(device_list); /* registration order; a device leaves it on its last put */
static LIST_HEAD(driver_list);
static LIST_HEAD(listener_list);

/* ---- buses ---- */

static int bus_register_locked(struct bus_type *bus)
{
    if (!bus || !bus->name || !bus->match)
        return -EINVAL;
    if (bus->registered || bus_find_by_name(bus->name))
        return -EEXIST;
    list_add_tail(&bus_list, &bus->node);
    bus->registered = true;
    return 0;
}

static struct bus_type *bus_find_by_name_locked(const char *name)
{
    struct bus_type *bus;
    list_for_each_entry(bus, &bus_list, node)
    {
        if (strcmp(bus->name, name) == 0)
            return bus;
    }
    return NULL;
}

static int bus_for_each_locked(int (*fn)(struct bus_type *bus, void *context), void *context)
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

static void device_listen_locked(struct device_listener *listener)
{
    list_add_tail(&listener_list, &listener->node);
}

static void device_unlisten_locked(struct device_listener *listener)
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
    list_init(&dev->managed);
    list_init(&dev->release_node);
    dev->priv = NULL;
    dev->holds_parent = false;
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

int device_irq_spec(const struct device *dev, unsigned index, struct irq_spec *out)
{
    const struct resource *irq = device_resource(dev, RESOURCE_IRQ, index);
    if (!irq)
        return -ENOENT;
    if (irq->start > UINT32_MAX)
        return -ERANGE;
    out->line = (uint32_t)irq->start;
    out->trigger = RESOURCE_IRQ_TRIGGER(irq->flags);
    return 0;
}

struct device *device_get(struct device *dev)
{
    if (dev)
        BUG_ON(__atomic_fetch_add(&dev->refcount, 1, __ATOMIC_ACQ_REL) <= 0);
    return dev;
}

/* The end of a device: out of the registry, its structure freed, its parent's reference gone. */
static void device_release(struct device *dev)
{
    model_lock();
    list_remove(&dev->all_node);
    model_unlock();
    /* Only registration takes the parent's reference: a device initialised with a parent but
     * never registered (a probe that failed before registering its child) has none to drop. */
    struct device *parent = dev->holds_parent ? dev->parent : NULL;
    if (dev->release)
        dev->release(dev);
    device_put(parent);
}

/* Last references dropped in interrupt context (a request completing on a removed partition)
 * cannot take the model lock: those devices are released on the system work queue. */
static struct spinlock deferred_lock = SPINLOCK_INIT("device release");
static LIST_HEAD(deferred_releases);

static void release_deferred(struct work *work)
{
    (void)work;
    for (;;) {
        irqflags_t flags = spin_lock_irqsave(&deferred_lock);
        struct device *dev = NULL;
        if (!list_empty(&deferred_releases)) {
            dev = list_entry(deferred_releases.next, struct device, release_node);
            list_remove(&dev->release_node);
        }
        spin_unlock_irqrestore(&deferred_lock, flags);
        if (!dev)
            return;
        device_release(dev);
    }
}
static struct work deferred_work = WORK_INIT(release_deferred);

void device_put(struct device *dev)
{
    if (!dev)
        return;
    int before = __atomic_fetch_sub(&dev->refcount, 1, __ATOMIC_ACQ_REL);
    BUG_ON(before <= 0);
    if (before > 1)
        return;
    /* Only an unregistered (or never registered) device can lose its last reference. */
    BUG_ON(dev->state != DEVICE_REMOVED && !list_empty(&dev->all_node));
    if (in_interrupt()) {
        irqflags_t flags = spin_lock_irqsave(&deferred_lock);
        list_add_tail(&deferred_releases, &dev->release_node);
        spin_unlock_irqrestore(&deferred_lock, flags);
        queue_work(system_wq, &deferred_work);
        return;
    }
    device_release(dev);
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

static struct device *device_find_by_name_locked(const char *name)
{
    return device_get(find_live_device(name));
}

/* Walks the list holding a reference on the current entry, so fn may unregister it (the
 * entry stays linked until its last reference goes) and probe() may append devices. */
/* A reference to a device still on a list whose last reference may just have been dropped on
 * another CPU (its release waits for the model lock the walker holds): NULL for such a one. */
static struct device *device_get_unless_zero(struct device *dev)
{
    int count = __atomic_load_n(&dev->refcount, __ATOMIC_ACQUIRE);
    while (count > 0)
        if (__atomic_compare_exchange_n(&dev->refcount, &count, count + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return dev;
    return NULL;
}

/* The first device from pos on (in the registry's order) that can still be referenced. */
static struct device *first_live_from(struct list_node *pos)
{
    for (; pos != &device_list; pos = pos->next) {
        struct device *dev = device_get_unless_zero(list_entry(pos, struct device, all_node));
        if (dev)
            return dev;
    }
    return NULL;
}

static int device_for_each_locked(int (*fn)(struct device *dev, void *context), void *context)
{
    struct device *dev = first_live_from(device_list.next);
    while (dev) {
        int result = 0;
        if (dev->state != DEVICE_REMOVED)
            result = fn(dev, context);
        struct device *next = result ? NULL : first_live_from(dev->all_node.next);
        device_put(dev);
        if (result)
            return result;
        dev = next;
    }
    return 0;
}

/* Works on a snapshot (with references) of the children, so fn may unregister any of them. */
static int device_for_each_child_locked(struct device *parent,
                                        int (*fn)(struct device *dev, void *context), void *context)
{
    unsigned count = 0;
    struct list_node *pos;
    list_for_each(pos, &parent->children) count++;
    if (count == 0)
        return 0;
    struct device **children = kcalloc(count, sizeof(*children));
    if (!children)
        return -ENOMEM;
    unsigned taken = 0;
    list_for_each(pos, &parent->children)
    {
        struct device *child = device_get_unless_zero(list_entry(pos, struct device, sibling));
        if (child)
            children[taken++] = child;
    }
    int result = 0;
    for (unsigned i = 0; i < taken; i++) {
        if (!result && children[i]->state != DEVICE_REMOVED)
            result = fn(children[i], context);
        device_put(children[i]);
    }
    kfree(children);
    return result;
}

static void device_unregister_children_locked(struct device *parent)
{
    while (!list_empty(&parent->children)) {
        struct device *child = list_entry(parent->children.prev, struct device, sibling);
        if (device_is_live(child))
            device_unregister(child);
        else
            list_remove(&child->sibling); /* cannot happen; never loop on it */
    }
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

/* What a bound driver leaves behind once remove() returned or probe() failed: its managed
 * resources, newest first, then its private data. */
static void release_driver_resources(struct device *dev)
{
    devres_release_all(dev);
    kfree(dev->priv);
    dev->priv = NULL;
    dev->driver = NULL;
    dev->driver_data = NULL;
}

static int call_probe(struct device *dev, struct driver *drv)
{
    if (drv->priv_size) {
        dev->priv = kzalloc(drv->priv_size);
        if (!dev->priv)
            return -ENOMEM;
        dev->driver_data = dev->priv;
    }
    if (dev->bus->probe)
        return dev->bus->probe(dev, drv);
    return drv->probe ? drv->probe(dev) : 0;
}

static int really_probe(struct device *dev, struct driver *drv)
{
    device_get(dev);
    dev->driver = drv;
    int error = call_probe(dev, drv);
    if (error == 0 && dev->state != DEVICE_REMOVED) {
        dev->state = DEVICE_BOUND;
        dev->probe_error = 0;
        module_get(drv->owner); /* its code runs for the device until unbind */
        pr_info("%s: bound to %s\n", dev->name, drv->name);
        device_notify(dev, DEVICE_EVENT_BOUND);
    } else {
        if (error == 0)
            error = -ENOENT;
        release_driver_resources(dev);
        /* -ENODEV and -ENXIO mean "not mine after a closer look": no failure to report. */
        bool declined = error == -ENODEV || error == -ENXIO;
        if (dev->state != DEVICE_REMOVED) {
            dev->state = declined ? DEVICE_PRESENT : DEVICE_PROBE_FAILED;
            dev->probe_error = declined ? 0 : error;
        }
        if (declined)
            pr_debug("%s: %s declined it\n", dev->name, drv->name);
        else
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

/* ---- probes finished later (device_finish_probe_later) ---- */

struct probe_finish {
    struct list_node node;
    struct device *dev; /* holds a reference */
    struct driver *driver;
    void (*finish)(struct device *dev);
};
static LIST_HEAD(probe_finishes);
static bool finish_at_once;

static void cancel_probe_finishes_locked(struct device *dev)
{
    struct probe_finish *f, *next;
    list_for_each_entry_safe(f, next, &probe_finishes, node)
    {
        if (f->dev != dev)
            continue;
        list_remove(&f->node);
        device_put(f->dev);
        kfree(f);
    }
}

void device_finish_probe_later(struct device *dev, void (*finish)(struct device *dev))
{
    model_lock();
    struct probe_finish *f = finish_at_once ? NULL : kzalloc(sizeof(*f));
    if (!f) {
        finish(dev);
        model_unlock();
        return;
    }
    f->dev = device_get(dev);
    f->driver = dev->driver;
    f->finish = finish;
    list_add_tail(&probe_finishes, &f->node);
    model_unlock();
}

void device_run_probe_finishes(void)
{
    model_lock();
    while (!list_empty(&probe_finishes)) {
        struct probe_finish *f = list_first(&probe_finishes, struct probe_finish, node);
        list_remove(&f->node);
        /* Still bound to the driver that asked (an unbind cancels, but be sure). */
        if (f->dev->state == DEVICE_BOUND && f->dev->driver == f->driver)
            f->finish(f->dev);
        device_put(f->dev);
        kfree(f);
    }
    model_unlock();
}

void device_boot_complete(void)
{
    model_lock();
    finish_at_once = true;
    device_run_probe_finishes();
    model_unlock();
}

static int device_register_locked(struct device *dev)
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
        dev->holds_parent = true;
        list_add_tail(&dev->parent->children, &dev->sibling);
    }
    device_notify(dev, DEVICE_EVENT_ADDED);
    if (device_is_live(dev))
        device_autobind(dev);
    return 0;
}

static int device_bind_locked(struct device *dev, struct driver *drv)
{
    if (!device_is_live(dev))
        return -ENOENT;
    if (dev->state == DEVICE_BOUND)
        return -EBUSY;
    if (!drv->registered || driver_match(dev, drv) == 0)
        return -ENODEV;
    return really_probe(dev, drv);
}

static int device_unbind_locked(struct device *dev)
{
    if (dev->state != DEVICE_BOUND || !dev->driver)
        return -ENODEV;
    struct driver *drv = dev->driver;
    device_get(dev);
    cancel_probe_finishes_locked(dev);
    device_notify(dev, DEVICE_EVENT_UNBOUND);
    if (dev->bus->remove)
        dev->bus->remove(dev, drv);
    else if (drv->remove)
        drv->remove(dev);
    release_driver_resources(dev);
    dev->state = DEVICE_PRESENT;
    module_put(drv->owner);
    pr_info("%s: unbound from %s\n", dev->name, drv->name);
    device_put(dev);
    return 0;
}

static void device_unregister_locked(struct device *dev)
{
    if (!device_is_live(dev))
        return;
    device_get(dev);
    /* Children go first, newest first, so nothing outlives what it hangs off. */
    device_unregister_children(dev);
    if (dev->state == DEVICE_BOUND)
        device_unbind(dev);
    dev->state = DEVICE_REMOVED;
    list_remove(&dev->sibling);
    device_notify(dev, DEVICE_EVENT_REMOVED);
    device_put(dev); /* the registry's reference */
    device_put(dev);
}

/* ---- drivers ---- */

static struct driver *driver_find_by_name_locked(const char *name)
{
    struct driver *drv;
    list_for_each_entry(drv, &driver_list, node)
    {
        if (strcmp(drv->name, name) == 0)
            return drv;
    }
    return NULL;
}

static int driver_for_each_locked(int (*fn)(struct driver *drv, void *context), void *context)
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

static int driver_register_locked(struct driver *drv)
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

static void driver_unregister_locked(struct driver *drv)
{
    if (!drv->registered)
        return;
    device_for_each(unbind_driver, drv);
    list_remove(&drv->node);
    drv->registered = false;
}

/* ---- the public entry points: each runs under the model lock ---- */

int bus_register(struct bus_type *bus)
{
    model_lock();
    int result = bus_register_locked(bus);
    model_unlock();
    return result;
}

struct bus_type *bus_find_by_name(const char *name)
{
    model_lock();
    struct bus_type *result = bus_find_by_name_locked(name);
    model_unlock();
    return result;
}

int bus_for_each(int (*fn)(struct bus_type *bus, void *context), void *context)
{
    model_lock();
    int result = bus_for_each_locked(fn, context);
    model_unlock();
    return result;
}

void device_listen(struct device_listener *listener)
{
    model_lock();
    device_listen_locked(listener);
    model_unlock();
}

void device_unlisten(struct device_listener *listener)
{
    model_lock();
    device_unlisten_locked(listener);
    model_unlock();
}

struct device *device_find_by_name(const char *name)
{
    model_lock();
    struct device *result = device_find_by_name_locked(name);
    model_unlock();
    return result;
}

int device_for_each(int (*fn)(struct device *dev, void *context), void *context)
{
    model_lock();
    int result = device_for_each_locked(fn, context);
    model_unlock();
    return result;
}

int device_for_each_child(struct device *parent, int (*fn)(struct device *dev, void *context),
                          void *context)
{
    model_lock();
    int result = device_for_each_child_locked(parent, fn, context);
    model_unlock();
    return result;
}

void device_unregister_children(struct device *parent)
{
    model_lock();
    device_unregister_children_locked(parent);
    model_unlock();
}

int device_register(struct device *dev)
{
    model_lock();
    int result = device_register_locked(dev);
    model_unlock();
    return result;
}

int device_bind(struct device *dev, struct driver *drv)
{
    model_lock();
    int result = device_bind_locked(dev, drv);
    model_unlock();
    return result;
}

int device_unbind(struct device *dev)
{
    model_lock();
    int result = device_unbind_locked(dev);
    model_unlock();
    return result;
}

void device_unregister(struct device *dev)
{
    model_lock();
    device_unregister_locked(dev);
    model_unlock();
}

struct driver *driver_find_by_name(const char *name)
{
    model_lock();
    struct driver *result = driver_find_by_name_locked(name);
    model_unlock();
    return result;
}

int driver_for_each(int (*fn)(struct driver *drv, void *context), void *context)
{
    model_lock();
    int result = driver_for_each_locked(fn, context);
    model_unlock();
    return result;
}

int driver_register(struct driver *drv)
{
    model_lock();
    int result = driver_register_locked(drv);
    model_unlock();
    return result;
}

void driver_unregister(struct driver *drv)
{
    model_lock();
    driver_unregister_locked(drv);
    model_unlock();
}
