/* A loop device's map from its bytes to the blocks of the device underneath: the backing
 * file's extents, read once when the device is attached.  The extents come from a filesystem
 * that read them from disk, so they are checked before any request uses them.  Portable: the
 * host fuzzes it (tests/fuzz/fuzz_loop_map.c). */
#ifndef FS_LOOP_MAP_H
#define FS_LOOP_MAP_H

#include <rayos/vfs.h>

struct loop_map {
    const struct vfs_extent *extents;
    size_t count;
    uint32_t block_size;
    uint64_t bytes; /* of the loop device: the file's size */
};

/* Checks that the extents are in file order without gaps or overlaps from offset 0, in whole
 * blocks, cover file_bytes, and each lies inside the device underneath (device_blocks).
 * Returns 0, or -EUCLEAN (with a warning naming the extent) for a map that cannot be used. */
int loop_map_init(struct loop_map *map, const struct vfs_extent *extents, size_t count,
                  uint32_t block_size, uint64_t file_bytes, uint64_t device_blocks);

/* Where the bytes from offset (a multiple of the block size, below map->bytes) lie: the block
 * underneath where they start and how many of the length bytes run on contiguously there.
 * Returns 0, or -EIO when offset is outside the map. */
int loop_map_piece(const struct loop_map *map, uint64_t offset, uint64_t length,
                   uint64_t *device_lba, uint64_t *bytes);

#endif
