#include "ramdisk.h"

#include <rayos/errno.h>
#include <rayos/fat.h>

#include <stdlib.h>
#include <string.h>

static int ram_read(void *context, uint64_t lba, uint32_t count, void *buffer)
{
    struct ramdisk *disk = context;
    if (lba > disk->io.block_count || count > disk->io.block_count - lba)
        return -EIO;
    disk->reads++;
    disk->read_blocks += count;
    memcpy(buffer, disk->bytes + lba * disk->io.block_size, (size_t)count * disk->io.block_size);
    return 0;
}

static void log_op(struct ramdisk *disk, uint64_t lba, uint32_t count, const void *data)
{
    if (disk->op_count == disk->op_capacity) {
        disk->op_capacity = disk->op_capacity ? disk->op_capacity * 2 : 256;
        disk->ops = realloc(disk->ops, disk->op_capacity * sizeof(*disk->ops));
    }
    struct ramdisk_op *op = &disk->ops[disk->op_count++];
    op->lba = lba;
    op->count = count;
    op->data = NULL;
    if (data) {
        size_t bytes = (size_t)count * disk->io.block_size;
        op->data = malloc(bytes);
        memcpy(op->data, data, bytes);
    }
}

static int ram_write(void *context, uint64_t lba, uint32_t count, const void *buffer)
{
    struct ramdisk *disk = context;
    if (lba > disk->io.block_count || count > disk->io.block_count - lba)
        return -EIO;
    disk->writes++;
    if (disk->recording)
        log_op(disk, lba, count, buffer);
    memcpy(disk->bytes + lba * disk->io.block_size, buffer, (size_t)count * disk->io.block_size);
    return 0;
}

static int ram_flush(void *context)
{
    struct ramdisk *disk = context;
    disk->flushes++;
    if (disk->recording)
        log_op(disk, 0, 0, NULL);
    return 0;
}

void ramdisk_init(struct ramdisk *disk, uint32_t block_size, uint64_t bytes)
{
    memset(disk, 0, sizeof(*disk));
    disk->bytes = calloc(1, bytes);
    disk->size = bytes;
    disk->io = (struct block_io){.context = disk,
                                 .block_size = block_size,
                                 .block_count = bytes / block_size,
                                 .read = ram_read,
                                 .write = ram_write,
                                 .flush = ram_flush};
}

void ramdisk_clear_log(struct ramdisk *disk)
{
    for (size_t i = 0; i < disk->op_count; i++)
        free(disk->ops[i].data);
    disk->op_count = 0;
}

void ramdisk_record(struct ramdisk *disk, bool on)
{
    disk->recording = on;
}

void ramdisk_free(struct ramdisk *disk)
{
    ramdisk_clear_log(disk);
    free(disk->ops);
    free(disk->bytes);
    memset(disk, 0, sizeof(*disk));
}

static void fixed_now(void *context, struct fat_time *out)
{
    (void)context;
    *out = (struct fat_time){2026, 11, 24, 12, 34, 56};
}

const struct fat_clock ramdisk_test_clock = {NULL, fixed_now};
