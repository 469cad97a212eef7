/* Synchronous block access for portable code (filesystems, partition tables).
 * In the kernel it wraps a block device; on the host (rayfs, unit tests) an image file or a
 * memory buffer.  Blocks are block_size bytes; lba counts blocks from the start of the device. */
#ifndef RAYOS_BLOCK_IO_H
#define RAYOS_BLOCK_IO_H

#include <rayos/types.h>

struct block_io {
    void *context;
    uint32_t block_size;  /* bytes per logical block: 512 or 4096 (any power of two >= 512) */
    uint64_t block_count; /* capacity in blocks */
    bool read_only;
    /* Each returns 0 or a negative error code (-EIO, -EINVAL, ...). */
    int (*read)(void *context, uint64_t lba, uint32_t count, void *buffer);
    int (*write)(void *context, uint64_t lba, uint32_t count, const void *buffer);
    int (*flush)(void *context); /* everything written so far is durable when it returns */
};

static inline int block_io_read(const struct block_io *io, uint64_t lba, uint32_t count, void *buf)
{
    return io->read(io->context, lba, count, buf);
}
static inline int block_io_write(const struct block_io *io, uint64_t lba, uint32_t count,
                                 const void *buf)
{
    return io->write(io->context, lba, count, buf);
}
static inline int block_io_flush(const struct block_io *io)
{
    return io->flush ? io->flush(io->context) : 0;
}

#endif
