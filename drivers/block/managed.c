/* The managed form of block device registration (<rayos/devres.h>). */
#include <rayos/block.h>
#include <rayos/device.h>
#include <rayos/devres.h>

static void unregister_action(void *disk)
{
    block_device_unregister(disk);
    block_device_put(disk);
}

int devm_block_device_register(struct device *owner, struct block_device *disk, const char *prefix)
{
    int status = block_device_register(disk, prefix);
    if (status < 0) {
        block_device_put(disk);
        return status;
    }
    return devm_add_action(owner, unregister_action, disk, "block device");
}
