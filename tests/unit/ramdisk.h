/* An in-memory block_io for tests, counting requests and optionally recording every write
 * and flush (for the crash test). */
#ifndef TESTS_UNIT_RAMDISK_H
#define TESTS_UNIT_RAMDISK_H

#include <rayos/block_io.h>

struct ramdisk_op {
    uint64_t lba;
    uint32_t count;
    uint8_t *data; /* NULL for a flush */
};

struct ramdisk {
    struct block_io io;
    uint8_t *bytes;
    uint64_t size;
    uint64_t reads, read_blocks, writes, flushes;
    bool recording;
    struct ramdisk_op *ops;
    size_t op_count, op_capacity;
};

void ramdisk_init(struct ramdisk *disk, uint32_t block_size, uint64_t bytes);
void ramdisk_free(struct ramdisk *disk);
void ramdisk_record(struct ramdisk *disk, bool on);
void ramdisk_clear_log(struct ramdisk *disk);
/* A deterministic clock for timestamps */
struct fat_clock;
extern const struct fat_clock ramdisk_test_clock;

#endif
