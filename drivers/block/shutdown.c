/* Before poweroff or reboot: write back every cache and flush every disk's volatile write
 * cache, after filesystems have synced (their hooks run first). */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/block_cache.h>
#include <rayos/power.h>
#include <rayos/printk.h>

static int flush_disk(struct block_device *dev, void *context)
{
    (void)context;
    if (dev->type != BLOCK_TYPE_DISK || !dev->can_flush || dev->read_only)
        return 0;
    int status = blk_flush(dev);
    if (status < 0)
        pr_err("%s: flush before shutdown failed: %d\n", dev->name, status);
    return 0;
}

static void block_shutdown(void)
{
    int status = block_cache_sync_all();
    if (status < 0)
        pr_err("cache write-back before shutdown failed: %d\n", status);
    block_device_for_each(flush_disk, NULL);
}
SHUTDOWN_HOOK(block_shutdown, 900);
