/* The device model: every bus (PCI, platform/ACPI, later USB) registers its devices here and
 * every driver registers here; the core matches them (most specific match wins), calls probe and
 * remove, and tells subscribers about devices coming and going.
 *
 * Concurrency: the core is used from thread context only (boot, shell commands, hot-plug
 * polling), never from interrupt handlers.  probe() and remove() may call back into the core
 * (for example to register child devices).
 *
 * Lifetime: a device is reference-counted.  device_register() takes the registry's reference;
 * device_unregister() unbinds the driver, marks the device REMOVED, tells subscribers and drops
 * that reference.  Whoever keeps a pointer past that (a lookup result, a pending request) holds
 * its own reference with device_get()/device_put(); the last put calls dev->release().
 * device_put() may be called in interrupt context (a request completing): a last put there
 * hands the release to the system work queue. */
#ifndef RAYOS_DEVICE_H
#define RAYOS_DEVICE_H

#include <rayos/irq.h>
#include <rayos/list.h>
#include <rayos/types.h>

struct device;
struct driver;
struct module;

enum device_state {
    DEVICE_PRESENT,      /* registered, no driver bound */
    DEVICE_BOUND,        /* a driver's probe() succeeded */
    DEVICE_PROBE_FAILED, /* the last probe() failed; dev->probe_error holds why */
    DEVICE_REMOVED,      /* unregistered; only references keep the memory alive */
};

enum resource_type {
    RESOURCE_IO,  /* I/O port range */
    RESOURCE_MEM, /* memory-mapped range (physical addresses) */
    RESOURCE_IRQ, /* an interrupt: start is the system interrupt controller's line (struct
                   * irq_spec), size is 1, the flags carry the trigger */
};

/* Resource flags. */
#define RESOURCE_PREFETCHABLE     (1u << 0) /* memory that tolerates prefetching/write combining */
#define RESOURCE_64BIT            (1u << 1) /* decoded anywhere in 64 bits */
#define RESOURCE_BAR(i)           ((unsigned)(i) << 8) /* PCI: which BAR (0-5, 6 = ROM) */
#define RESOURCE_BAR_INDEX(flags) (((flags) >> 8) & 0xf)

/* RESOURCE_IRQ: the enum irq_trigger the flags carry. */
#define RESOURCE_IRQ_FLAGS(trigger) (((unsigned)(trigger)&3u) << 4)
#define RESOURCE_IRQ_TRIGGER(flags) ((enum irq_trigger)(((flags) >> 4) & 3u))

struct resource {
    enum resource_type type;
    uint64_t start;
    uint64_t size;
    unsigned flags;
};

#define DEVICE_NAME_MAX      32
#define DEVICE_MAX_RESOURCES 16

struct bus_type {
    const char *name; /* "pci", "platform" */
    /* 0: the driver cannot drive the device; > 0: it can, higher is a more specific match. */
    int (*match)(struct device *dev, struct driver *drv);
    /* Optional: calls the bus's typed probe/remove (a PCI driver gets its matching ID entry).
     * Without them the core calls drv->probe(dev) and drv->remove(dev). */
    int (*probe)(struct device *dev, struct driver *drv);
    void (*remove)(struct device *dev, struct driver *drv);
    /* Optional: one line describing the device for listings ("8086:2922 SATA controller"). */
    void (*describe)(struct device *dev, char *buffer, size_t size);
    /* Optional: the device's alias for module autoloading ("pci:v00001B36d00000010..."),
     * matched against the patterns modules generate from their match tables. */
    void (*modalias)(struct device *dev, char *buffer, size_t size);

    /* Owned by the core. */
    struct list_node node;
    bool registered;
};

struct device {
    char name[DEVICE_NAME_MAX]; /* unique: "0000:00:1f.2", "serial0" */
    struct bus_type *bus;
    struct device *parent; /* NULL for a root; the parent outlives its children */

    unsigned resource_count;
    struct resource resources[DEVICE_MAX_RESOURCES];

    enum device_state state;
    int probe_error;       /* last probe() result when PROBE_FAILED */
    struct driver *driver; /* bound driver or NULL */
    void *driver_data;     /* the bound driver's private state (its priv_size block) */
    /* Called by the last device_put(); frees the structure that embeds this device. */
    void (*release)(struct device *dev);

    /* Owned by the core. */
    int refcount;
    struct list_node children; /* child devices */
    struct list_node sibling;  /* in the parent's children */
    struct list_node all_node; /* registry, registration order */
    struct list_node managed;  /* device-managed resources, oldest first (<rayos/devres.h>) */
    void *priv;                /* the block allocated for the driver's priv_size */

    struct list_node release_node; /* waiting for release after a put in interrupt context */
    bool holds_parent;             /* registration took a reference on the parent */
};

/* The driver shape: a match (the bus's table), the size of the private data the core
 * allocates (zeroed, as dev->driver_data) before probe() and frees after remove(), probe and
 * remove.  Resources probe() takes through <rayos/devres.h> are released by the core, newest
 * first, when probe() fails or after remove(); see docs/WRITING-A-DRIVER.md. */
struct driver {
    const char *name; /* unique: "virtio_blk", "ahci" */
    struct bus_type *bus;
    size_t priv_size; /* 0: the driver manages driver_data itself */
    /* 0 on success; a negative error leaves the device unbound (PROBE_FAILED) and is logged,
     * except -ENODEV and -ENXIO ("not mine after a closer look"), which leave it PRESENT
     * quietly.  Managed resources and the private data go with the error; anything else
     * probe() must undo itself. */
    int (*probe)(struct device *dev);
    /* Stops the device; the core then releases the managed resources and private data. */
    void (*remove)(struct device *dev);
    /* The module the driver's code lives in (NULL: built in); bound devices hold a reference. */
    struct module *owner;

    /* Owned by the core. */
    struct list_node node;
    bool registered;
};

/* Buses: registered once, before their devices and drivers. */
int bus_register(struct bus_type *bus);
struct bus_type *bus_find_by_name(const char *name);
/* Calls fn for each bus in registration order; stops at and returns the first non-zero. */
int bus_for_each(int (*fn)(struct bus_type *bus, void *context), void *context);

/* Prepares a device for registration: zeroes the core's fields, refcount 1, no resources. */
void device_initialize(struct device *dev, struct bus_type *bus, struct device *parent,
                       const char *name);
int device_add_resource(struct device *dev, enum resource_type type, uint64_t start, uint64_t size,
                        unsigned flags);
/* The index-th resource of a type, or NULL. */
const struct resource *device_resource(const struct device *dev, enum resource_type type,
                                       unsigned index);
/* An interrupt as a resource (RESOURCE_IRQ, start = line, trigger in the flags) and back:
 * device_irq_spec() reads the index-th IRQ resource into *out for irq_claim(); -ENOENT when
 * the device has no such resource, -ERANGE when its start is not a line number. */
static inline struct resource resource_from_irq_spec(const struct irq_spec *spec)
{
    return (struct resource){RESOURCE_IRQ, spec->line, 1, RESOURCE_IRQ_FLAGS(spec->trigger)};
}
int device_irq_spec(const struct device *dev, unsigned index, struct irq_spec *out);

/* Adds the device to the registry (its reference passes to the registry), announces it and
 * binds the best-matching registered driver.  -EEXIST if the name is taken, -EINVAL without a
 * registered bus.  A failed probe does not fail registration. */
int device_register(struct device *dev);
/* Unregisters the device's children (last first), unbinds it, announces the removal, drops
 * the registry's reference. */
void device_unregister(struct device *dev);

struct device *device_get(struct device *dev);
void device_put(struct device *dev);

/* Lookup by name; the result carries a reference the caller drops with device_put(). */
struct device *device_find_by_name(const char *name);
/* Calls fn for each registered device in registration order (parents before children);
 * stops at and returns the first non-zero.  fn may unregister the device it is given. */
int device_for_each(int (*fn)(struct device *dev, void *context), void *context);
/* Unregisters every child of a device (newest first), leaving the device itself. */
void device_unregister_children(struct device *parent);
/* Calls fn for each registered child in registration order, on a snapshot: fn may unregister
 * any child.  Stops at and returns the first non-zero (-ENOMEM if no snapshot can be taken). */
int device_for_each_child(struct device *parent, int (*fn)(struct device *dev, void *context),
                          void *context);
/* "virtual": the root that devices no hardware backs hang from (loop devices), on a bus of
 * its own that no driver binds to.  Registered on first use; NULL if that fails. */
struct device *virtual_device_root(void);
/* Depth of the device in the tree (0 for a root), for listings. */
unsigned device_depth(const struct device *dev);
const char *device_state_name(enum device_state state);

/* Registers a driver and binds it to every present, unbound device it matches (devices
 * already driven by a less specific driver are left alone).  -EEXIST for a duplicate name. */
int driver_register(struct driver *drv);
/* Unbinds the driver from all its devices and forgets it. */
void driver_unregister(struct driver *drv);
struct driver *driver_find_by_name(const char *name);
int driver_for_each(int (*fn)(struct driver *drv, void *context), void *context);

/* Binds explicitly (shell "driver bind"): -EBUSY if already bound, -ENODEV if the driver's bus
 * differs or it does not match the device, -ENOENT after removal, else probe()'s result. */
int device_bind(struct device *dev, struct driver *drv);
/* Calls the driver's remove() and leaves the device PRESENT; automatic binding does not
 * happen again until a driver registers or device_bind() is called.  -ENODEV if unbound. */
int device_unbind(struct device *dev);

/* A probe that must wait for hardware (AHCI links appear within 10 ms of spin-up) may start it,
 * return 0, and finish later: finish(dev) then runs under the model lock once the drivers of the
 * current boot level have all probed, so other devices probe during the wait.  After boot
 * (device_boot_complete), or without memory to queue it, finish runs at once, inside the
 * probe.  An unbind before it ran cancels it. */
void device_finish_probe_later(struct device *dev, void (*finish)(struct device *dev));
/* Runs the finishes queued so far (the init thread, after each level). */
void device_run_probe_finishes(void);
/* The end of boot: queued finishes run, and later ones run at once. */
void device_boot_complete(void);

/* Events for subscribers (the block layer, a hot-plug log, tests).  Callbacks run after the
 * fact for ADDED/BOUND and before the memory can go away for UNBOUND/REMOVED. */
enum device_event {
    DEVICE_EVENT_ADDED,
    DEVICE_EVENT_REMOVED,
    DEVICE_EVENT_BOUND,
    DEVICE_EVENT_UNBOUND,
};
struct device_listener {
    void (*notify)(struct device *dev, enum device_event event, void *context);
    void *context;
    struct list_node node; /* owned by the core */
};
void device_listen(struct device_listener *listener);
void device_unlisten(struct device_listener *listener);
const char *device_event_name(enum device_event event);

#endif
