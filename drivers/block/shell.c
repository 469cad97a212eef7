/* Shell commands: lsblk, blk read (xxd-style hexdump), blk write (fill), blk bench.  Commands
 * that write blocks refuse a device in use (block_device_busy) unless given --force. */
#include <rayos/block.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/escape.h>
#include <rayos/heap.h>
#include <rayos/hexdump.h>
#include <rayos/shell.h>
#include <rayos/string.h>

int blk_bench_command(struct block_device *dev, int argc, char **argv);

static void print_row(const char *name, const char *size, const char *logical, const char *physical,
                      const char *read_only, const char *type, const char *driver,
                      const char *partition_uuid, const char *partition_type, const char *label)
{
    char line[360];
    int n =
        snprintf(line, sizeof(line), "%-8s %7s %7s %7s %2s %-4s %-10s %-36s %-22s %s", name, size,
                 logical, physical, read_only, type, driver, partition_uuid, partition_type, label);
    if (n < 0)
        return;
    size_t length = MIN((size_t)n, sizeof(line) - 1);
    while (length && line[length - 1] == ' ')
        length--;
    line[length++] = '\n';
    shell_write(line, length);
}

static int list_one(struct block_device *dev, void *context)
{
    (void)context;
    char size[16], logical[12], physical[12];
    block_format_size(dev->block_count * dev->logical_block_size, size, sizeof(size));
    snprintf(logical, sizeof(logical), "%u", dev->logical_block_size);
    snprintf(physical, sizeof(physical), "%u", dev->physical_block_size);
    bool part = dev->type == BLOCK_TYPE_PARTITION;
    char label[sizeof(dev->partition_label) * ESCAPE_MAX_RATIO];
    escape_string(label, sizeof(label), dev->partition_label); /* from the partition table */
    print_row(dev->dev.name, size, logical, physical, dev->read_only ? "1" : "0",
              part ? "part" : "disk", dev->driver_name ? dev->driver_name : "-",
              dev->partition_uuid, part ? dev->partition_type : "", label);
    return 0;
}

static int lsblk_command(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    shell_printf("%-8s %7s %7s %7s %2s %-4s %-10s %-36s %-22s %s\n", "NAME", "SIZE", "LOG-SEC",
                 "PHY-SEC", "RO", "TYPE", "DRIVER", "PARTUUID", "PARTTYPE", "LABEL");
    return block_device_for_each(list_one, NULL);
}
SHELL_COMMAND("lsblk", "list block devices and partitions", lsblk_command);

/* LBAs, counts and byte values: decimal or 0x hex (a leading zero is decimal, not octal). */
static bool parse_number(const char *text, uint64_t *out)
{
    const char *end = text ? parse_u64(text, out) : NULL;
    return end && !*end;
}

static int report(const char *what, const struct block_device *dev, int status)
{
    shell_printf("blk %s: %s: %s (%d)\n", what, dev->dev.name, error_name(-status), status);
    return status;
}

#define SHELL_MAX_BLOCKS 1024

static int blk_read_command(struct block_device *dev, int argc, char **argv)
{
    uint64_t lba, count = 1;
    if (argc < 4 || !parse_number(argv[3], &lba) || (argc > 4 && !parse_number(argv[4], &count)) ||
        count == 0 || count > SHELL_MAX_BLOCKS) {
        shell_printf("usage: blk read DEV LBA [COUNT<=%d]\n", SHELL_MAX_BLOCKS);
        return -EINVAL;
    }
    size_t bytes = (size_t)count * dev->logical_block_size;
    uint8_t *buffer = kmalloc(bytes);
    if (!buffer)
        return report("read", dev, -ENOMEM);
    int status = blk_read(dev, lba, (uint32_t)count, buffer);
    if (status == 0) {
        for (size_t i = 0; i < bytes; i += 16) {
            char line[HEXDUMP_LINE_MAX];
            shell_write(line,
                        hexdump_line(line, lba * dev->logical_block_size + i, buffer + i, 16));
        }
    } else {
        report("read", dev, status);
    }
    kfree(buffer);
    return status;
}

static int blk_write_command(struct block_device *dev, int argc, char **argv)
{
    uint64_t lba, value, count = 1;
    if (argc < 5 || !parse_number(argv[3], &lba) || !parse_number(argv[4], &value) || value > 255 ||
        (argc > 5 && !parse_number(argv[5], &count)) || count == 0 || count > SHELL_MAX_BLOCKS) {
        shell_printf("usage: blk write DEV LBA BYTE [COUNT<=%d]\n", SHELL_MAX_BLOCKS);
        return -EINVAL;
    }
    size_t bytes = (size_t)count * dev->logical_block_size;
    uint8_t *buffer = kmalloc(bytes);
    if (!buffer)
        return report("write", dev, -ENOMEM);
    memset(buffer, (int)value, bytes);
    int status = blk_write(dev, lba, (uint32_t)count, buffer);
    if (status == 0)
        status = blk_flush(dev);
    if (status == 0)
        shell_printf("blk write: %s: %llu blocks at %llu filled with 0x%02x\n", dev->dev.name,
                     (unsigned long long)count, (unsigned long long)lba, (unsigned)value);
    else
        report("write", dev, status);
    kfree(buffer);
    return status;
}

static int blk_info_command(struct block_device *dev)
{
    struct block_device *disk = block_device_disk(dev);
    const struct block_limits *l = &dev->limits;
    shell_printf("%s: %llu blocks of %u bytes (physical %u)%s%s\n", dev->dev.name,
                 (unsigned long long)dev->block_count, dev->logical_block_size,
                 dev->physical_block_size, dev->read_only ? ", read-only" : "",
                 dev->type == BLOCK_TYPE_PARTITION ? ", partition" : "");
    if (disk != dev)
        shell_printf("partition %u of %s from block %llu\n", dev->partition_number, disk->dev.name,
                     (unsigned long long)dev->start_lba);
    shell_printf("limits: %u segments of %u bytes, %u bytes per request, queue depth %u\n",
                 l->max_segments, l->max_segment_size, l->max_transfer, l->queue_depth);
    shell_printf("features:%s%s%s\n", dev->can_flush ? " flush" : "",
                 dev->can_discard ? " discard" : "", dev->can_write_zeroes ? " write-zeroes" : "");
    struct block_queue_stats stats;
    blk_queue_stats(dev, &stats);
    shell_printf("requests: %llu completed, %llu failed, %u in flight, %u hardware queue%s\n",
                 (unsigned long long)stats.completed, (unsigned long long)stats.failed,
                 stats.in_flight, dev->hw_queue_count, dev->hw_queue_count == 1 ? "" : "s");
    for (unsigned i = 0; dev->hw_queue_count > 1 && i < dev->hw_queue_count; i++) {
        const struct block_hw_queue *hq = &dev->hw_queues[i];
        shell_printf("hardware queue %u (CPU %u): %llu completed, %llu failed\n", i,
                     blk_hw_queue_cpu(i), (unsigned long long)hq->completed_requests,
                     (unsigned long long)hq->failed_requests);
    }
    if (disk->ops->describe && !block_device_removed(disk)) {
        char line[160], escaped[160 * ESCAPE_MAX_RATIO];
        disk->ops->describe(disk, line, sizeof(line)); /* may quote the device's own strings */
        shell_printf("driver: %s\n", escape_string(escaped, sizeof(escaped), line));
    }
    return 0;
}

/* Fails what the disk holds with -EIO and restarts it (recovery, and a test of that path). */
static int blk_reset_command(struct block_device *dev)
{
    dev = block_device_disk(dev);
    if (!dev->ops->reset || block_device_removed(dev)) {
        shell_printf("blk reset: %s cannot be reset\n", dev->dev.name);
        return -EOPNOTSUPP;
    }
    dev->ops->reset(dev, -EIO);
    shell_printf("blk reset: %s reset\n", dev->dev.name);
    return 0;
}

/* blk zero / blk discard DEV LBA COUNT: the device's WRITE_ZEROES or DISCARD. */
static int blk_range_command(struct block_device *dev, enum block_op op, int argc, char **argv)
{
    uint64_t lba, count;
    if (argc < 5 || !parse_number(argv[3], &lba) || !parse_number(argv[4], &count) || count == 0 ||
        count > UINT32_MAX) {
        shell_printf("usage: blk %s DEV LBA COUNT\n", argv[1]);
        return -EINVAL;
    }
    struct block_request req = {
        .op = op, .lba = lba, .block_count = (uint32_t)count, .device = dev};
    int status = blk_submit_wait(&req);
    if (status == 0)
        status = blk_flush(dev);
    if (status == 0)
        shell_printf("blk %s: %s: %llu blocks at %llu\n", argv[1], dev->dev.name,
                     (unsigned long long)count, (unsigned long long)lba);
    else
        report(argv[1], dev, status);
    return status;
}

/* Removes every argument equal to flag; says whether there was one. */
static bool take_flag(int *argc, char **argv, const char *flag)
{
    int kept = 0;
    bool found = false;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], flag) == 0)
            found = true;
        else
            argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    *argc = kept;
    return found;
}

/* Does this subcommand change the device's blocks? */
static bool writes_blocks(int argc, char **argv)
{
    if (strcmp(argv[1], "write") == 0 || strcmp(argv[1], "zero") == 0 ||
        strcmp(argv[1], "discard") == 0)
        return true;
    if (strcmp(argv[1], "bench") == 0)
        for (int i = 3; i < argc; i++)
            if (strcmp(argv[i], "--write") == 0)
                return true;
    return false;
}

static int blk_command(int argc, char **argv)
{
    if (argc < 3) {
        shell_printf("usage: blk read DEV LBA [COUNT] | blk write DEV LBA BYTE [COUNT] | "
                     "blk zero|discard DEV LBA COUNT | blk info|reset DEV | blk bench DEV "
                     "[SECONDS] [--jobs N] [--test NAME] [--write]; writes to a device in use need "
                     "--force\n");
        return -EINVAL;
    }
    struct block_device *dev = block_device_find(argv[2]);
    if (!dev) {
        shell_printf("blk: no block device %s\n", argv[2]);
        return -ENODEV;
    }
    bool force = take_flag(&argc, argv, "--force");
    if (writes_blocks(argc, argv) && !force) {
        char why[80];
        if (block_device_busy(dev, why, sizeof(why))) {
            shell_printf("blk %s: %s: %s: %s (--force writes anyway)\n", argv[1], dev->dev.name,
                         error_name(EBUSY), why);
            device_put(&dev->dev);
            return -EBUSY;
        }
    }
    int status;
    if (strcmp(argv[1], "read") == 0)
        status = blk_read_command(dev, argc, argv);
    else if (strcmp(argv[1], "write") == 0)
        status = blk_write_command(dev, argc, argv);
    else if (strcmp(argv[1], "reset") == 0)
        status = blk_reset_command(dev);
    else if (strcmp(argv[1], "info") == 0)
        status = blk_info_command(dev);
    else if (strcmp(argv[1], "zero") == 0)
        status = blk_range_command(dev, BLOCK_OP_WRITE_ZEROES, argc, argv);
    else if (strcmp(argv[1], "discard") == 0)
        status = blk_range_command(dev, BLOCK_OP_DISCARD, argc, argv);
    else if (strcmp(argv[1], "bench") == 0)
        status = blk_bench_command(dev, argc, argv);
    else {
        shell_printf("blk: unknown subcommand %s\n", argv[1]);
        status = -EINVAL;
    }
    device_put(&dev->dev);
    return status;
}
SHELL_COMMAND("blk", "read|write|zero|discard|info|reset|bench DEV ...  block devices",
              blk_command);
