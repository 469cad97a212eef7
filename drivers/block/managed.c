/* The managed form of block device registration (<rayos/devres.h>). */
#include <rayos/block.h>
#include <rayos/device.h>
#include <rayos/devres.h>

static void put_action(void *disk)
{
    device_put(&((struct block_device *)disk)->dev);
}

static void unregister_action(void *disk_)
{
    struct block_device *disk = disk_;
    device_unregister(&disk->dev);
    device_put(&disk->dev);
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
    int status = block_device_register(disk, owner, prefix);
    if (status < 0)
        return status;
    device_get(&disk->dev);
    return devm_add_action(owner, unregister_action, disk, "block device");
}

void devm_block_device_unregister(struct device *owner, struct block_device *disk)
{
    devm_release_action(owner, unregister_action, disk);
}
