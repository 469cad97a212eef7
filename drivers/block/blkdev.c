/* Block devices in the device model: the "block" bus, allocation, naming (vda, vdb ... vdz,
 * vdaa), lookup, what removal does, and claims. */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/string.h>

/* block_device.name is the device's name: the union in <rayos/block.h> relies on this. */
_Static_assert(__builtin_offsetof(struct device, name) == 0, "struct device begins with its name");

/* Block devices are device-model nodes on this bus; no driver binds to them. */
static int block_match(struct device *dev, struct driver *drv)
{
    (void)dev;
    (void)drv;
    return 0;
}

/* One line for `devices`: "disk, 64M, virtio_blk" or "partition 1, 32M". */
static void block_describe(struct device *node, char *buffer, size_t size)
{
    struct block_device *dev = to_block_device(node);
    char bytes[16];
    block_format_size(dev->block_count * dev->logical_block_size, bytes, sizeof(bytes));
    if (dev->type == BLOCK_TYPE_PARTITION)
        snprintf(buffer, size, "partition %u, %s", dev->partition_number, bytes);
    else
        snprintf(buffer, size, "disk, %s, %s", bytes, dev->driver_name ? dev->driver_name : "?");
}

static struct bus_type block_bus = {
    .name = "block", .match = block_match, .describe = block_describe};

struct block_device *to_block_device(struct device *dev)
{
    return dev && dev->bus == &block_bus ? container_of(dev, struct block_device, dev) : NULL;
}

static void block_device_release(struct device *node)
{
    struct block_device *dev = to_block_device(node);
    blk_queues_free(dev);
    kfree(dev);
}

struct block_device *block_device_alloc(void)
{
    struct block_device *dev = kzalloc(sizeof(*dev));
    if (!dev)
        return NULL;
    device_initialize(&dev->dev, &block_bus, NULL, "");
    dev->dev.release = block_device_release;
    dev->logical_block_size = 512;
    dev->physical_block_size = 512;
    dev->limits = (struct block_limits){
        .max_segments = 1, .max_segment_size = 4096, .max_transfer = 4096, .queue_depth = 1};
    return dev;
}

bool block_device_removed(const struct block_device *dev)
{
    return __atomic_load_n(&dev->dev.state, __ATOMIC_ACQUIRE) == DEVICE_REMOVED;
}

struct block_device *block_device_disk(struct block_device *dev)
{
    return dev->type == BLOCK_TYPE_PARTITION ? to_block_device(dev->dev.parent) : dev;
}

/* The device model's REMOVED event (partitions before their disk): nothing new gets in
 * (block_device_removed), what waits or runs fails, the timeouts stop.  This listener comes
 * first, so other listeners (mounted filesystems letting go) find the queue already failed. */
static void block_device_gone(struct device *node, enum device_event event, void *context)
{
    (void)context;
    struct block_device *dev = to_block_device(node);
    if (!dev || event != DEVICE_EVENT_REMOVED)
        return;
    blk_queue_abort(dev, -ENODEV);
    blk_queues_stop(dev);
    pr_info("%s: removed\n", dev->dev.name);
}

static struct device_listener block_listener = {.notify = block_device_gone};

/* At INIT_CORE, before any driver registers a disk or a filesystem listens (unit tests, which
 * run no initcalls, get it from the first registration). */
static int block_bus_init(void)
{
    if (block_bus.registered)
        return 0;
    int error = bus_register(&block_bus);
    if (error == 0)
        device_listen(&block_listener);
    return error == -EEXIST ? 0 : error;
}
INITCALL(block_bus_init, INIT_CORE);

struct block_device *block_device_find(const char *name)
{
    struct device *node = device_find_by_name(name);
    struct block_device *dev = to_block_device(node);
    if (!dev)
        device_put(node);
    return dev;
}

/* Linux's disk letters: a..z, then aa..zz, and so on. */
static void letter_name(char *out, size_t size, const char *prefix, unsigned index)
{
    char letters[8];
    int n = 0;
    unsigned value = index + 1;
    while (value && n < (int)sizeof(letters)) {
        value--;
        letters[n++] = (char)('a' + value % 26);
        value /= 26;
    }
    size_t used = MIN(strlen(prefix), size - 1);
    memcpy(out, prefix, used);
    while (n > 0 && used + 1 < size)
        out[used++] = letters[--n];
    out[used] = 0;
}

/* The first prefix + letter name no device has. */
static int pick_name(struct block_device *dev, const char *prefix)
{
    for (unsigned index = 0; index < 26 * 27; index++) {
        letter_name(dev->dev.name, sizeof(dev->dev.name), prefix, index);
        struct device *taken = device_find_by_name(dev->dev.name);
        if (!taken)
            return 0;
        device_put(taken);
    }
    return -ENOSPC;
}

static int check_geometry(const struct block_device *dev)
{
    if (!dev->ops || !dev->ops->submit)
        return -EINVAL;
    if (dev->logical_block_size < 512 || !IS_POWER_OF_2(dev->logical_block_size))
        return -EINVAL;
    if (dev->physical_block_size < dev->logical_block_size)
        return -EINVAL;
    const struct block_limits *l = &dev->limits;
    if (!l->max_segments || !l->queue_depth || l->max_transfer < dev->logical_block_size ||
        !l->max_segment_size)
        return -EINVAL;
    return 0;
}

/* Adds dev to the device model, picking a free name when it has none (another registration
 * may take the same name in between: then the next one is tried). */
static int add_device(struct block_device *dev, struct device *parent, const char *prefix)
{
    bool named = dev->dev.name[0] != 0;
    for (unsigned attempt = 0; attempt < 4; attempt++) {
        if (!named) {
            int status = pick_name(dev, prefix);
            if (status < 0)
                return status;
        }
        dev->dev.parent = parent;
        int status = device_register(&dev->dev);
        if (status == 0)
            return 0;
        dev->dev.parent = NULL; /* the parent's reference comes with registration only */
        if (status != -EEXIST || named)
            return status;
    }
    return -EEXIST;
}

int block_device_register(struct block_device *dev, struct device *parent, const char *prefix)
{
    int status = check_geometry(dev);
    if (status < 0) {
        pr_err("%s%s: refusing a device with bad geometry or limits\n", dev->dev.name,
               dev->dev.name[0] ? "" : prefix);
        return status;
    }
    status = block_bus_init();
    if (status < 0)
        return status;
    if (!dev->hw_queues) {
        status = blk_queues_init(dev);
        if (status < 0)
            return status;
    }
    device_get(&dev->dev); /* the device model's, kept until unregistration */
    status = add_device(dev, parent, prefix);
    if (status < 0) {
        device_put(&dev->dev);
        return status;
    }
    char size[16];
    block_format_size(dev->block_count * dev->logical_block_size, size, sizeof(size));
    pr_info("%s: %llu blocks of %u bytes (%s)%s, driver %s\n", dev->dev.name,
            (unsigned long long)dev->block_count, dev->logical_block_size, size,
            dev->read_only ? ", read-only" : "", dev->driver_name ? dev->driver_name : "?");
    return 0;
}

/* A snapshot of the block devices with references, taken under the model's lock. */
struct block_snapshot {
    struct block_device **devices;
    unsigned count, capacity;
};

static int take_block_device(struct device *node, void *context)
{
    struct block_snapshot *snap = context;
    struct block_device *dev = to_block_device(node);
    if (!dev)
        return 0;
    if (snap->count == snap->capacity) {
        unsigned capacity = snap->capacity ? 2 * snap->capacity : 16;
        struct block_device **grown = krealloc(snap->devices, capacity * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        snap->devices = grown;
        snap->capacity = capacity;
    }
    device_get(&dev->dev);
    snap->devices[snap->count++] = dev;
    return 0;
}

int block_device_for_each(int (*fn)(struct block_device *dev, void *context), void *context)
{
    struct block_snapshot snap = {0};
    int result = device_for_each(take_block_device, &snap);
    for (unsigned i = 0; i < snap.count; i++) {
        if (!result && !block_device_removed(snap.devices[i]))
            result = fn(snap.devices[i], context);
        device_put(&snap.devices[i]->dev);
    }
    kfree(snap.devices);
    return result;
}

/* Claims are counted under their own lock (the device model's is a sleeping one). */
static struct spinlock claims_lock = SPINLOCK_INIT("blk-claims");

void block_device_claim(struct block_device *dev, const char *holder)
{
    irqflags_t flags = spin_lock_irqsave(&claims_lock);
    dev->claims++;
    for (unsigned i = 0; i < ARRAY_SIZE(dev->claim_holders); i++) {
        if (!dev->claim_holders[i][0]) {
            strlcpy(dev->claim_holders[i], holder, sizeof(dev->claim_holders[i]));
            break;
        }
    }
    spin_unlock_irqrestore(&claims_lock, flags);
}

void block_device_unclaim(struct block_device *dev, const char *holder)
{
    irqflags_t flags = spin_lock_irqsave(&claims_lock);
    if (dev->claims)
        dev->claims--;
    for (unsigned i = 0; i < ARRAY_SIZE(dev->claim_holders); i++) {
        if (strncmp(dev->claim_holders[i], holder, sizeof(dev->claim_holders[i]) - 1) == 0) {
            dev->claim_holders[i][0] = 0;
            break;
        }
    }
    spin_unlock_irqrestore(&claims_lock, flags);
}

/* Describes dev's first claim in why, when it has one. */
static bool describe_claim(struct block_device *dev, char *why, size_t why_size)
{
    irqflags_t flags = spin_lock_irqsave(&claims_lock);
    bool claimed = dev->claims != 0;
    if (claimed && why_size) {
        const char *holder = "is in use"; /* more claims than descriptions */
        for (unsigned i = 0; i < ARRAY_SIZE(dev->claim_holders); i++) {
            if (dev->claim_holders[i][0]) {
                holder = dev->claim_holders[i];
                break;
            }
        }
        snprintf(why, why_size, "%s %s", dev->dev.name, holder);
    }
    spin_unlock_irqrestore(&claims_lock, flags);
    return claimed;
}

struct claim_search {
    char *why;
    size_t why_size;
};

static int find_claimed_partition(struct device *node, void *context)
{
    struct claim_search *search = context;
    struct block_device *dev = to_block_device(node);
    return dev && describe_claim(dev, search->why, search->why_size);
}

bool block_device_busy(struct block_device *dev, char *why, size_t why_size)
{
    struct block_device *disk = block_device_disk(dev);
    if (describe_claim(dev, why, why_size) || (disk != dev && describe_claim(disk, why, why_size)))
        return true;
    struct claim_search search = {why, why_size};
    int found = device_for_each_child(&disk->dev, find_claimed_partition, &search);
    if (found < 0 && why_size) /* cannot tell: say busy rather than risk a live filesystem */
        snprintf(why, why_size, "%s: cannot check its partitions (%s)", disk->dev.name,
                 error_name(-found));
    return found != 0;
}

void block_format_size(uint64_t bytes, char *out, size_t size)
{
    static const char units[] = "BKMGTPE";
    unsigned unit = 0;
    uint64_t scaled = bytes * 10; /* one decimal, in tenths */
    while (scaled >= 10240 && unit + 1 < sizeof(units) - 1) {
        scaled /= 1024;
        unit++;
    }
    if (unit == 0 || scaled % 10 == 0 || scaled >= 1000)
        snprintf(out, size, "%llu%c", (unsigned long long)(scaled / 10), units[unit]);
    else
        snprintf(out, size, "%llu.%llu%c", (unsigned long long)(scaled / 10),
                 (unsigned long long)(scaled % 10), units[unit]);
}
