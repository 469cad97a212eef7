/* Disk images as block_io for rayfs: a whole file, or partition N of it ("disk.img@N"). */
#ifndef RAYFS_IMAGE_H
#define RAYFS_IMAGE_H

#include <rayos/block_io.h>
#include <rayos/partition.h>

struct image {
    int fd;
    uint64_t bytes;
    struct block_io file_io; /* the whole file */
    struct block_io_slice slice;
    struct block_io part_io;   /* the partition, when one was named */
    const struct block_io *io; /* what the filesystem uses */
    uint64_t reads, writes, flushes;
};

/* The disk's logical block size for partition tables (--sector-size: 512 or 4096); 0, the
 * default, reads it from the table itself. */
void image_set_block_size(uint32_t block_size);
/* How long image_open waits for another rayfs to let go of the image (--wait SECONDS). */
void image_set_wait(double seconds);
/* Locks an open image file: shared for reading, exclusive for writing, in QEMU's scheme
 * (tools/rayfs/lock.c).  Waits up to wait_seconds while another rayfs holds it; fails at once
 * (-EBUSY) when another program does.  0, or a negative errno with *why set. */
int image_lock(int fd, bool writable, double wait_seconds, const char **why);
/* Opens spec ("file" or "file@N") and locks it (image_lock).  On failure prints
 * "rayfs: SPEC: reason" and returns -1. */
int image_open(struct image *image, const char *spec, bool writable);
void image_close(struct image *image);
/* A block_io over an open file descriptor (also used by tests and the benchmark). */
void image_file_io(struct image *image, int fd, uint32_t block_size, uint64_t bytes, bool writable);

#endif
