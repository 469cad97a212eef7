/* Before poweroff or reboot: flush every disk's volatile write cache, after filesystems have
 * written back their metadata caches (their hooks run first). */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/power.h>
#include <rayos/printk.h>

static int flush_disk(struct block_device *dev, void *context)
{
    (void)context;
    if (dev->type != BLOCK_TYPE_DISK || !dev->can_flush || dev->read_only)
        return 0;
    int status = blk_flush(dev);
    if (status < 0)
        pr_err("%s: flush before shutdown failed: %d\n", dev->dev.name, status);
    return 0;
}

static void block_shutdown(void)
{
    block_device_for_each(flush_disk, NULL);
}
SHUTDOWN_HOOK(block_shutdown, 900);
