/* libFuzzer: a loop device's extent map (fs/loop_map.c).  The input describes the device
 * underneath, the file's size and its extents (as a filesystem read from a possibly damaged
 * disk would give them), then requests.  A map that is accepted must send every byte of every
 * request inside the device underneath, to the block a linear search of the extents finds,
 * in pieces that add up to the request; a map is refused exactly when a straightforward
 * check of the same rules refuses it. */
#include <rayos/bytes.h>
#include <rayos/errno.h>

#include <stdlib.h>
#include <string.h>

#include "fs/loop_map.h"

extern int host_log_level;

#define EXTENTS 64

/* The rules, checked the slow way: the extents that cover [0, file_bytes). */
static bool model_valid(const struct vfs_extent *e, size_t count, uint32_t block_size,
                        uint64_t file_bytes, uint64_t device_blocks, size_t *used)
{
    unsigned __int128 next = 0;
    size_t i = 0;
    for (; i < count && next < file_bytes; i++) {
        if (e[i].file_offset != next || e[i].block_count == 0 ||
            (unsigned __int128)e[i].lba + e[i].block_count > device_blocks)
            return false;
        next += (unsigned __int128)e[i].block_count * block_size;
        if (next > UINT64_MAX)
            return false;
    }
    *used = i;
    return next >= file_bytes;
}

/* The block underneath file byte offset, by linear search. */
static bool model_lba(const struct vfs_extent *e, size_t count, uint32_t block_size,
                      uint64_t offset, uint64_t *lba)
{
    for (size_t i = 0; i < count; i++)
        if (offset >= e[i].file_offset &&
            offset - e[i].file_offset < e[i].block_count * block_size) {
            *lba = e[i].lba + (offset - e[i].file_offset) / block_size;
            return true;
        }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vfs_extent extents[EXTENTS];
    host_log_level = -1;
    if (size < 10)
        return 0;
    uint32_t block_size = data[0] & 1 ? 4096 : 512;
    bool exact = data[0] & 2; /* extents laid end to end: the usual case, so it is reached */
    uint64_t device_blocks = get_le32(data + 1);
    size_t count = data[5] % (EXTENTS + 1);
    size_t pos = 6;
    uint64_t file_offset = 0;
    size_t n = 0;
    for (; n < count && pos + 10 <= size; n++, pos += 10) {
        uint64_t blocks = get_le16(data + pos + 8);
        extents[n].file_offset = exact ? file_offset : (uint64_t)get_le32(data + pos + 4) * 512;
        extents[n].lba = exact ? get_le32(data + pos) : get_le64(data + pos);
        extents[n].block_count = exact ? blocks : get_le64(data + pos) >> 20;
        file_offset = extents[n].file_offset + extents[n].block_count * block_size;
    }
    count = n;
    if (pos + 4 > size)
        return 0;
    uint64_t file_bytes = (uint64_t)get_le32(data + pos) * block_size;
    pos += 4;
    if (file_bytes == 0)
        return 0; /* loop_attach refuses an empty file before mapping it */
    struct loop_map map;
    size_t used = 0;
    bool valid = model_valid(extents, count, block_size, file_bytes, device_blocks, &used);
    int result = loop_map_init(&map, extents, count, block_size, file_bytes, device_blocks);
    if ((result == 0) != valid || (result != 0 && result != -EUCLEAN))
        abort();
    if (result)
        return 0;
    uint64_t loop_blocks = file_bytes / block_size;
    for (; pos + 8 <= size; pos += 8) {
        uint64_t lba = get_le32(data + pos) % loop_blocks;
        uint64_t length = (1 + (uint64_t)get_le32(data + pos + 4) % 4096) * block_size;
        length = MIN(length, (loop_blocks - lba) * block_size);
        uint64_t done = 0;
        while (done < length) {
            uint64_t device_lba, piece, expected;
            uint64_t offset = lba * block_size + done;
            if (loop_map_piece(&map, offset, length - done, &device_lba, &piece) != 0)
                abort(); /* inside the file: must map */
            if (piece == 0 || piece > length - done || piece % block_size ||
                device_lba + piece / block_size > device_blocks)
                abort(); /* empty, too long, or outside the device underneath */
            if (!model_lba(extents, used, block_size, offset, &expected) ||
                expected != device_lba ||
                !model_lba(extents, used, block_size, offset + piece - block_size, &expected) ||
                expected != device_lba + piece / block_size - 1)
                abort(); /* the piece is not where the extents say, or not contiguous */
            done += piece;
        }
        uint64_t ignored_lba, ignored_bytes;
        if (loop_map_piece(&map, file_bytes, block_size, &ignored_lba, &ignored_bytes) == 0)
            abort(); /* past the end of the file */
    }
    return 0;
}
