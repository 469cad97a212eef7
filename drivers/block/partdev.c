/* Partitions as block devices: each entry of the disk's table becomes a device of its own whose
 * requests are shifted into the disk and can never leave the partition (blk_submit checks the
 * range against the partition's size before the shift). */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/partition.h>
#include <rayos/printk.h>
#include <rayos/string.h>

struct partition_forward {
    struct block_request req;
    struct block_request *original;
};

static void forward_done(struct block_request *req, int status)
{
    struct partition_forward *forward = container_of(req, struct partition_forward, req);
    struct block_request *original = forward->original;
    struct block_device *part = original->device;
    kfree(forward);
    blk_request_done(original, status);
    device_put(&part->dev); /* maybe the last, in interrupt context: the core defers that */
}

static int partition_submit(struct block_device *part, struct block_request *req)
{
    struct partition_forward *forward = kzalloc(sizeof(*forward));
    if (!forward)
        return -ENOMEM;
    forward->original = req;
    forward->req = (struct block_request){
        .op = req->op,
        .lba = req->lba + part->start_lba,
        .block_count = req->block_count,
        .segment_count = req->segment_count,
        .segments = req->segments,
        .complete = forward_done,
        .device = block_device_disk(part),
    };
    /* The partition may be removed while this is in flight. */
    device_get(&part->dev);
    int status = blk_submit(&forward->req);
    if (status < 0) {
        kfree(forward);
        device_put(&part->dev);
    }
    return status;
}

static const struct block_driver_ops partition_ops = {.submit = partition_submit};

static int partition_name(char *out, size_t size, const char *disk, unsigned number)
{
    size_t length = strlen(disk);
    bool ends_in_digit = length && disk[length - 1] >= '0' && disk[length - 1] <= '9';
    int written = snprintf(out, size, "%s%s%u", disk, ends_in_digit ? "p" : "", number);
    return written < 0 || (size_t)written >= size ? -ENAMETOOLONG : 0;
}

static int register_partition(struct block_device *disk, const struct partition_table *table,
                              const struct partition *entry)
{
    struct block_device *part = block_device_alloc();
    if (!part)
        return -ENOMEM;
    int status =
        partition_name(part->dev.name, sizeof(part->dev.name), disk->dev.name, entry->number);
    if (status < 0) {
        device_put(&part->dev);
        return status;
    }
    part->type = BLOCK_TYPE_PARTITION;
    part->logical_block_size = disk->logical_block_size;
    part->physical_block_size = disk->physical_block_size;
    part->block_count = entry->block_count;
    part->read_only = disk->read_only;
    part->can_flush = disk->can_flush;
    part->can_discard = disk->can_discard;
    part->can_write_zeroes = disk->can_write_zeroes;
    part->driver_name = disk->driver_name;
    part->limits = disk->limits;
    part->hw_queue_count = disk->hw_queue_count;
    part->ops = &partition_ops;
    part->start_lba = entry->start_lba;
    part->partition_number = entry->number;
    snprintf(part->partition_type, sizeof(part->partition_type), "%s", partition_type_name(entry));
    snprintf(part->partition_label, sizeof(part->partition_label), "%s", entry->name);
    partition_uuid(table, entry, part->partition_uuid);
    status = block_device_register(part, &disk->dev, "");
    device_put(&part->dev); /* the device model holds it from here */
    return status;
}

int block_device_scan_partitions(struct block_device *disk)
{
    struct partition_table *table = kzalloc(sizeof(*table));
    if (!table)
        return -ENOMEM;
    struct block_io io;
    block_device_io(disk, &io);
    int status = partition_table_read(&io, table);
    int registered = 0;
    if (status < 0) {
        pr_warn("%s: cannot read the partition table: %d\n", disk->dev.name, status);
    } else {
        for (unsigned i = 0; i < table->count && i < PARTITION_MAX; i++) {
            const struct partition *entry = &table->entries[i];
            if (entry->block_count == 0 || entry->start_lba >= disk->block_count ||
                entry->block_count > disk->block_count - entry->start_lba) {
                pr_warn("%s: partition %u lies outside the disk, ignored\n", disk->dev.name,
                        entry->number);
                continue;
            }
            if (register_partition(disk, table, entry) == 0)
                registered++;
        }
        if (table->used_backup_gpt)
            pr_warn("%s: primary GPT damaged, using the backup\n", disk->dev.name);
        status = registered;
    }
    disk->partition_count = (unsigned)registered;
    kfree(table);
    return status;
}
