/* The block device registry: allocation, naming (vda, vdb ... vdz, vdaa), lookup, removal. */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/string.h>

static LIST_HEAD(registry);
static struct spinlock registry_lock = SPINLOCK_INIT("blk-registry");

struct block_device *block_device_alloc(void)
{
    struct block_device *dev = kzalloc(sizeof(*dev));
    if (!dev)
        return NULL;
    list_init(&dev->registry_node);
    dev->references = 1;
    dev->logical_block_size = 512;
    dev->physical_block_size = 512;
    dev->limits = (struct block_limits){
        .max_segments = 1, .max_segment_size = 4096, .max_transfer = 4096, .queue_depth = 1};
    return dev;
}

void block_device_get(struct block_device *dev)
{
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    dev->references++;
    spin_unlock_irqrestore(&registry_lock, flags);
}

void block_device_put(struct block_device *dev)
{
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    bool last = --dev->references == 0;
    spin_unlock_irqrestore(&registry_lock, flags);
    if (last) {
        blk_queues_free(dev);
        kfree(dev);
    }
}

static struct block_device *find_locked(const char *name)
{
    struct block_device *dev;
    list_for_each_entry(dev, &registry, registry_node)
    {
        if (strcmp(dev->name, name) == 0)
            return dev;
    }
    return NULL;
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

int block_device_register(struct block_device *dev, const char *prefix)
{
    int status = check_geometry(dev);
    if (status < 0) {
        pr_err("%s%s: refusing a device with bad geometry or limits\n", dev->name,
               dev->name[0] ? "" : prefix);
        return status;
    }
    if (!dev->hw_queues) {
        status = blk_queues_init(dev);
        if (status < 0)
            return status;
    }
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    if (!dev->name[0]) {
        for (unsigned index = 0; index < 26 * 27; index++) {
            letter_name(dev->name, sizeof(dev->name), prefix, index);
            if (!find_locked(dev->name))
                break;
        }
    }
    if (find_locked(dev->name)) {
        spin_unlock_irqrestore(&registry_lock, flags);
        return -EEXIST;
    }
    dev->references++;
    dev->registered = true;
    list_add_tail(&registry, &dev->registry_node);
    spin_unlock_irqrestore(&registry_lock, flags);

    char size[16];
    block_format_size(dev->block_count * dev->logical_block_size, size, sizeof(size));
    pr_info("%s: %llu blocks of %u bytes (%s)%s, driver %s\n", dev->name,
            (unsigned long long)dev->block_count, dev->logical_block_size, size,
            dev->read_only ? ", read-only" : "", dev->driver_name ? dev->driver_name : "?");
    return 0;
}

static struct block_device *first_child(struct block_device *disk)
{
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    struct block_device *dev, *found = NULL;
    list_for_each_entry(dev, &registry, registry_node)
    {
        if (dev->parent == disk) {
            found = dev;
            break;
        }
    }
    spin_unlock_irqrestore(&registry_lock, flags);
    return found;
}

#define REMOVE_LISTENERS_MAX 4
static void (*remove_listeners[REMOVE_LISTENERS_MAX])(struct block_device *dev);

int block_device_on_remove(void (*listener)(struct block_device *dev))
{
    for (unsigned i = 0; i < REMOVE_LISTENERS_MAX; i++) {
        if (!remove_listeners[i]) {
            remove_listeners[i] = listener;
            return 0;
        }
    }
    return -ENOSPC;
}

void block_device_unregister(struct block_device *dev)
{
    struct block_device *child;
    while ((child = first_child(dev)) != NULL)
        block_device_unregister(child);

    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    bool was_registered = dev->registered;
    dev->removed = true;
    dev->registered = false;
    list_remove(&dev->registry_node);
    spin_unlock_irqrestore(&registry_lock, flags);
    blk_queue_abort(dev, -ENODEV);
    blk_queues_stop(dev);
    if (was_registered) {
        pr_info("%s: removed\n", dev->name);
        for (unsigned i = 0; i < REMOVE_LISTENERS_MAX && remove_listeners[i]; i++)
            remove_listeners[i](dev);
        block_device_put(dev);
    }
}

struct block_device *block_device_find(const char *name)
{
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    struct block_device *dev = find_locked(name);
    if (dev)
        dev->references++;
    spin_unlock_irqrestore(&registry_lock, flags);
    return dev;
}

int block_device_for_each(int (*fn)(struct block_device *dev, void *context), void *context)
{
    /* Snapshot with references so fn may do I/O (which may sleep on interrupts). */
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    unsigned count = 0;
    struct block_device *dev;
    list_for_each_entry(dev, &registry, registry_node) count++;
    spin_unlock_irqrestore(&registry_lock, flags);
    struct block_device **all = kcalloc(count ? count : 1, sizeof(*all));
    if (!all)
        return -ENOMEM;
    flags = spin_lock_irqsave(&registry_lock);
    unsigned taken = 0;
    list_for_each_entry(dev, &registry, registry_node)
    {
        if (taken == count)
            break;
        dev->references++;
        all[taken++] = dev;
    }
    spin_unlock_irqrestore(&registry_lock, flags);
    int result = 0;
    for (unsigned i = 0; i < taken; i++) {
        if (!result && all[i]->registered)
            result = fn(all[i], context);
        block_device_put(all[i]);
    }
    kfree(all);
    return result;
}

void block_device_claim(struct block_device *dev, const char *holder)
{
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    dev->claims++;
    for (unsigned i = 0; i < ARRAY_SIZE(dev->claim_holders); i++) {
        if (!dev->claim_holders[i][0]) {
            strlcpy(dev->claim_holders[i], holder, sizeof(dev->claim_holders[i]));
            break;
        }
    }
    spin_unlock_irqrestore(&registry_lock, flags);
}

void block_device_unclaim(struct block_device *dev, const char *holder)
{
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    if (dev->claims)
        dev->claims--;
    for (unsigned i = 0; i < ARRAY_SIZE(dev->claim_holders); i++) {
        if (strncmp(dev->claim_holders[i], holder, sizeof(dev->claim_holders[i]) - 1) == 0) {
            dev->claim_holders[i][0] = 0;
            break;
        }
    }
    spin_unlock_irqrestore(&registry_lock, flags);
}

static const struct block_device *disk_of(const struct block_device *dev)
{
    while (dev->parent)
        dev = dev->parent;
    return dev;
}

bool block_device_busy(const struct block_device *dev, char *why, size_t why_size)
{
    const struct block_device *disk = disk_of(dev), *found = NULL;
    irqflags_t flags = spin_lock_irqsave(&registry_lock);
    if (dev->claims) {
        found = dev;
    } else {
        const struct block_device *other;
        list_for_each_entry(other, &registry, registry_node)
        {
            if (other->claims && disk_of(other) == disk) {
                found = other;
                break;
            }
        }
    }
    if (found && why_size) {
        const char *holder = "is in use"; /* more claims than descriptions */
        for (unsigned i = 0; i < ARRAY_SIZE(found->claim_holders); i++) {
            if (found->claim_holders[i][0]) {
                holder = found->claim_holders[i];
                break;
            }
        }
        snprintf(why, why_size, "%s %s", found->name, holder);
    }
    spin_unlock_irqrestore(&registry_lock, flags);
    return found != NULL;
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
