/* See sparse_disk.h. */
#include "sparse_disk.h"

#include <rayos/bytes.h>
#include <rayos/errno.h>

#include <stdlib.h>
#include <string.h>

static unsigned overlay_hash(uint64_t lba)
{
    return (unsigned)((lba * 0x9e3779b97f4a7c15ull) >> 40) % (SPARSE_DISK_OVERLAY_MAX * 2);
}

/* The overlay slot of lba: where it is, or the empty slot where it would go. */
static unsigned overlay_find(const struct sparse_disk *disk, uint64_t lba)
{
    unsigned i = overlay_hash(lba);
    while (disk->overlay_slot[i] && disk->overlay_lba[i] != lba)
        i = (i + 1) % (SPARSE_DISK_OVERLAY_MAX * 2);
    return i;
}

static void read_block(const struct sparse_disk *disk, uint64_t lba, uint8_t *out)
{
    uint32_t size = disk->io.block_size;
    unsigned slot = overlay_find(disk, lba);
    if (disk->overlay_slot[slot]) {
        memcpy(out, disk->blocks + (size_t)(disk->overlay_slot[slot] - 1) * size, size);
        return;
    }
    memset(out, 0, size);
    for (unsigned r = disk->record_count; r-- > 0;) { /* later records win */
        const struct sparse_record *rec = &disk->records[r];
        if (lba < rec->lba || lba - rec->lba >= rec->count)
            continue;
        size_t offset = (size_t)(lba - rec->lba) * size;
        if (offset < rec->available)
            memcpy(out, rec->data + offset, MIN((size_t)size, rec->available - offset));
        return;
    }
}

static int sparse_read(void *context, uint64_t lba, uint32_t count, void *buffer)
{
    struct sparse_disk *disk = context;
    if (lba > disk->io.block_count || count > disk->io.block_count - lba)
        return -EIO;
    for (uint32_t i = 0; i < count; i++)
        read_block(disk, lba + i, (uint8_t *)buffer + (size_t)i * disk->io.block_size);
    return 0;
}

static int sparse_write(void *context, uint64_t lba, uint32_t count, const void *buffer)
{
    struct sparse_disk *disk = context;
    if (lba > disk->io.block_count || count > disk->io.block_count - lba)
        return -EIO;
    disk->writes++;
    uint32_t size = disk->io.block_size;
    for (uint32_t i = 0; i < count; i++) {
        unsigned slot = overlay_find(disk, lba + i);
        if (!disk->overlay_slot[slot]) {
            if (disk->block_used == SPARSE_DISK_OVERLAY_MAX) {
                disk->write_failures++;
                return -EIO;
            }
            disk->overlay_lba[slot] = lba + i;
            disk->overlay_slot[slot] = ++disk->block_used;
        }
        memcpy(disk->blocks + (size_t)(disk->overlay_slot[slot] - 1) * size,
               (const uint8_t *)buffer + (size_t)i * size, size);
    }
    return 0;
}

static int sparse_flush(void *context)
{
    (void)context;
    return 0;
}

bool sparse_disk_init(struct sparse_disk *disk, const uint8_t *input, size_t size)
{
    if (size < 5)
        return false;
    memset(disk->overlay_slot, 0, sizeof(disk->overlay_slot));
    disk->record_count = 0;
    disk->block_used = 0;
    disk->writes = disk->write_failures = 0;
    uint32_t block_size = input[0] & 1 ? 4096 : 512;
    uint64_t blocks = get_le32(input + 1) % SPARSE_DISK_BLOCKS_MAX, end = 1;
    size_t pos = 5;
    while (pos + 6 <= size && disk->record_count < SPARSE_DISK_RECORDS_MAX) {
        struct sparse_record *rec = &disk->records[disk->record_count++];
        rec->lba = get_le32(input + pos) % SPARSE_DISK_BLOCKS_MAX;
        rec->count = get_le16(input + pos + 4) % (SPARSE_DISK_RECORD_MAX + 1);
        pos += 6;
        rec->data = input + pos;
        rec->available = MIN(size - pos, (size_t)rec->count * block_size);
        pos += rec->available;
        end = MAX(end, rec->lba + rec->count);
    }
    if (!disk->blocks)
        disk->blocks = malloc((size_t)SPARSE_DISK_OVERLAY_MAX * 4096);
    disk->io = (struct block_io){.context = disk,
                                 .block_size = block_size,
                                 .block_count = blocks ? blocks : end,
                                 .read = sparse_read,
                                 .write = sparse_write,
                                 .flush = sparse_flush};
    return disk->blocks != NULL;
}

void sparse_disk_free(struct sparse_disk *disk)
{
    free(disk->blocks);
    disk->blocks = NULL;
}
