/* See loop_map.h. */
#define pr_fmt(fmt) "loop: " fmt
#include <rayos/errno.h>
#include <rayos/printk.h>
#include "loop_map.h"

int loop_map_init(struct loop_map *map, const struct vfs_extent *extents, size_t count,
                  uint32_t block_size, uint64_t file_bytes, uint64_t device_blocks)
{
    *map = (struct loop_map){extents, count, block_size, file_bytes};
    uint64_t next = 0; /* the file offset the next extent must start at */
    size_t i = 0;
    for (; i < count && next < file_bytes; i++) {
        const struct vfs_extent *e = &extents[i];
        if (e->file_offset != next || e->block_count == 0 ||
            e->block_count > UINT64_MAX / block_size - next / block_size ||
            e->lba >= device_blocks || e->block_count > device_blocks - e->lba) {
            pr_warn("extent %zu (file offset %llu, lba %llu, %llu blocks) does not fit the "
                    "file or the device underneath; not attached",
                    i, (unsigned long long)e->file_offset, (unsigned long long)e->lba,
                    (unsigned long long)e->block_count);
            return -EUCLEAN;
        }
        next += e->block_count * block_size;
    }
    if (next < file_bytes) {
        pr_warn("extents cover %llu of %llu bytes; not attached", (unsigned long long)next,
                (unsigned long long)file_bytes);
        return -EUCLEAN;
    }
    map->count = i; /* extents past the end of the file (slack) are never used */
    return 0;
}

int loop_map_piece(const struct loop_map *map, uint64_t offset, uint64_t length,
                   uint64_t *device_lba, uint64_t *bytes)
{
    if (offset >= map->bytes || offset % map->block_size)
        return -EIO;
    size_t low = 0, high = map->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const struct vfs_extent *e = &map->extents[middle];
        uint64_t inside = offset - e->file_offset;
        if (offset < e->file_offset) {
            high = middle;
        } else if (inside >= e->block_count * map->block_size) {
            low = middle + 1;
        } else {
            *device_lba = e->lba + inside / map->block_size;
            *bytes = MIN(length, e->block_count * map->block_size - inside);
            *bytes = MIN(*bytes, map->bytes - offset);
            return 0;
        }
    }
    return -EIO;
}
