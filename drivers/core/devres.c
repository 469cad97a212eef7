/* Device-managed resources (see <rayos/devres.h>).  Each record sits on its device's list in
 * the order it was taken; release walks the list from the newest end.  A heap block lives in
 * the same allocation as its record, so devm_kzalloc costs one kmalloc. */
#include <rayos/devres.h>
#include <rayos/device.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/lock.h>
#include <rayos/string.h>

enum devres_kind {
    DEVRES_HEAP,   /* payload follows the record */
    DEVRES_DMA,    /* data, size: dma_alloc() */
    DEVRES_MAP,    /* data, size: map_phys() */
    DEVRES_ACTION, /* action(data) */
};

struct devres {
    struct list_node node;
    enum devres_kind kind;
    const char *what;
    size_t size;
    void (*action)(void *data);
    void *data;
    _Alignas(16) unsigned char payload[];
};

/* Guards every device's list: records are added from probe and from work the driver starts
 * (a hot-plugged disk), released from unbind. */
static struct spinlock devres_lock = SPINLOCK_INIT("devres");

static void devres_add(struct device *dev, struct devres *res)
{
    irqflags_t flags = spin_lock_irqsave(&devres_lock);
    list_add_tail(&dev->managed, &res->node);
    spin_unlock_irqrestore(&devres_lock, flags);
}

static struct devres *devres_new(enum devres_kind kind, const char *what, size_t payload)
{
    struct devres *res = kmalloc(sizeof(*res) + payload);
    if (!res)
        return NULL;
    memset(res, 0, sizeof(*res) + payload);
    list_init(&res->node);
    res->kind = kind;
    res->what = what;
    return res;
}

static void devres_free(struct devres *res)
{
    switch (res->kind) {
    case DEVRES_HEAP:
        break;
    case DEVRES_DMA:
        dma_free(res->data, res->size);
        break;
    case DEVRES_MAP:
        unmap_phys(res->data, res->size);
        break;
    case DEVRES_ACTION:
        res->action(res->data);
        break;
    }
    kfree(res);
}

/* Unlinks the record matching (kind, data[, action]), or returns NULL. */
static struct devres *devres_take(struct device *dev, enum devres_kind kind, void *data,
                                  void (*action)(void *data))
{
    struct devres *found = NULL, *res;
    irqflags_t flags = spin_lock_irqsave(&devres_lock);
    list_for_each_entry(res, &dev->managed, node)
    {
        void *key = kind == DEVRES_HEAP ? (void *)res->payload : res->data;
        if (res->kind == kind && key == data && (!action || res->action == action)) {
            found = res;
            list_remove(&res->node);
            break;
        }
    }
    spin_unlock_irqrestore(&devres_lock, flags);
    return found;
}

int devm_add_action(struct device *dev, void (*action)(void *data), void *data, const char *what)
{
    struct devres *res = devres_new(DEVRES_ACTION, what, 0);
    if (!res) {
        action(data);
        return -ENOMEM;
    }
    res->action = action;
    res->data = data;
    devres_add(dev, res);
    return 0;
}

int devm_release_action(struct device *dev, void (*action)(void *data), void *data)
{
    struct devres *res = devres_take(dev, DEVRES_ACTION, data, action);
    if (!res)
        return -ENOENT;
    devres_free(res);
    return 0;
}

void *devm_kzalloc(struct device *dev, size_t size)
{
    struct devres *res = devres_new(DEVRES_HEAP, "heap", size);
    if (!res)
        return NULL;
    res->size = size;
    devres_add(dev, res);
    return res->payload;
}

void *devm_kcalloc(struct device *dev, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return devm_kzalloc(dev, count * size);
}

void devm_kfree(struct device *dev, void *ptr)
{
    struct devres *res = ptr ? devres_take(dev, DEVRES_HEAP, ptr, NULL) : NULL;
    if (res)
        devres_free(res);
}

/* Records what res's acquisition gave (data of size bytes), or drops res when it gave nothing.
 * res is made before the resource is taken, so running out of memory for it leaks nothing. */
static void *devres_keep(struct device *dev, struct devres *res, void *data, size_t size)
{
    if (!data) {
        kfree(res);
        return NULL;
    }
    res->data = data;
    res->size = size;
    devres_add(dev, res);
    return data;
}

void *devm_dma_alloc(struct device *dev, size_t size, size_t align, phys_addr_t *phys)
{
    struct devres *res = devres_new(DEVRES_DMA, "dma", 0);
    return res ? devres_keep(dev, res, dma_alloc(size, align, phys), size) : NULL;
}

void devm_dma_free(struct device *dev, void *virt)
{
    struct devres *res = virt ? devres_take(dev, DEVRES_DMA, virt, NULL) : NULL;
    if (res)
        devres_free(res);
}

void *devm_map_phys(struct device *dev, phys_addr_t phys, size_t size, enum map_attr attr)
{
    struct devres *res = devres_new(DEVRES_MAP, "mmio", 0);
    return res ? devres_keep(dev, res, map_phys(phys, size, attr), size) : NULL;
}

void devres_release_all(struct device *dev)
{
    for (;;) {
        struct devres *res = NULL;
        irqflags_t flags = spin_lock_irqsave(&devres_lock);
        if (!list_empty(&dev->managed)) {
            res = list_entry(dev->managed.prev, struct devres, node);
            list_remove(&res->node);
        }
        spin_unlock_irqrestore(&devres_lock, flags);
        if (!res)
            return;
        devres_free(res); /* outside the lock: actions sleep (unregistering a disk) */
    }
}

unsigned devres_count(struct device *dev)
{
    unsigned count = 0;
    struct list_node *pos;
    irqflags_t flags = spin_lock_irqsave(&devres_lock);
    list_for_each(pos, &dev->managed) count++;
    spin_unlock_irqrestore(&devres_lock, flags);
    return count;
}
