/* A disk for fuzz targets described by a short input: a header giving the block size and the
 * disk's length, then records "these bytes at this LBA"; every block no record covers reads as
 * zeros.  A 64 MiB FAT32 volume is a few kilobytes of input this way, so the fuzzer mutates
 * boot sectors, FATs and directories instead of megabytes of zeros.  Writes go to an overlay
 * of at most SPARSE_DISK_OVERLAY_MAX blocks; beyond that they fail with -EIO, like a disk
 * that has run out of spare sectors (an error path the filesystem must survive).
 *
 * Input layout (little-endian):
 *   byte 0       bit 0: 4096-byte blocks (else 512); the other bits are the target's
 *   bytes 1-4    block count (taken modulo SPARSE_DISK_BLOCKS_MAX; 0 means "just the records")
 *   records      lba (4 bytes), block count n (2 bytes, at most SPARSE_DISK_RECORD_MAX), then
 *                n blocks of data (a record cut short by the end of the input is zero-filled)
 * tests/fuzz/make_corpus.py writes seeds in this format from ordinary images. */
#ifndef TESTS_FUZZ_SPARSE_DISK_H
#define TESTS_FUZZ_SPARSE_DISK_H

#include <rayos/block_io.h>

#define SPARSE_DISK_BLOCKS_MAX  (1u << 18) /* 128 MiB at 512, 1 GiB at 4096 */
#define SPARSE_DISK_RECORD_MAX  256
#define SPARSE_DISK_RECORDS_MAX 64
#define SPARSE_DISK_OVERLAY_MAX 4096

struct sparse_record {
    uint64_t lba;
    uint32_t count;
    const uint8_t *data; /* available bytes: available */
    size_t available;
};

struct sparse_disk {
    struct block_io io;
    struct sparse_record records[SPARSE_DISK_RECORDS_MAX];
    unsigned record_count;
    /* overlay: open addressing on lba, slots hold an index into blocks + 1 (0: empty) */
    uint64_t overlay_lba[SPARSE_DISK_OVERLAY_MAX * 2];
    uint32_t overlay_slot[SPARSE_DISK_OVERLAY_MAX * 2];
    uint8_t *blocks;
    unsigned block_used;
    uint64_t writes, write_failures;
};

/* Builds the disk from input; false when the input is too short for a header. */
bool sparse_disk_init(struct sparse_disk *disk, const uint8_t *input, size_t size);
void sparse_disk_free(struct sparse_disk *disk);

#endif
