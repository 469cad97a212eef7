/* The managed form of block device registration (<rayos/devres.h>). */
#include <rayos/block.h>
#include <rayos/device.h>
#include <rayos/devres.h>

static void put_action(void *disk)
{
    block_device_put(disk);
}

static void unregister_action(void *disk)
{
    block_device_unregister(disk);
    block_device_put(disk);
}

struct block_device *devm_block_device_alloc(struct device *owner)
{
    struct block_device *disk = block_device_alloc();
    if (disk && devm_add_action(owner, put_action, disk, "block device memory") < 0)
        return NULL;
    return disk;
}

int devm_block_device_register(struct device *owner, struct block_device *disk, const char *prefix)
{
    disk->device = owner;
    int status = block_device_register(disk, prefix);
    if (status < 0)
        return status;
    block_device_get(disk);
    return devm_add_action(owner, unregister_action, disk, "block device");
}

void devm_block_device_unregister(struct device *owner, struct block_device *disk)
{
    devm_release_action(owner, unregister_action, disk);
}
