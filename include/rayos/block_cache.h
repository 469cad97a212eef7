/* A bounded write-back buffer cache over a block_io, for filesystems: LRU replacement, dirty
 * tracking, explicit sync, read-ahead when reads are sequential.  Portable (host-testable). */
#ifndef RAYOS_BLOCK_CACHE_H
#define RAYOS_BLOCK_CACHE_H

#include <rayos/block_io.h>
#include <rayos/types.h>

struct block_cache;

struct block_cache_stats {
    uint64_t hits, misses;
    uint64_t device_reads, readahead_blocks;
    uint64_t device_writes, writeback_blocks;
    unsigned cached_blocks, dirty_blocks;
};

/* capacity_blocks: the most blocks kept; readahead_blocks: how far a sequential reader is
 * read ahead (0: never).  io must outlive the cache. */
struct block_cache *block_cache_create(const struct block_io *io, unsigned capacity_blocks,
                                       unsigned readahead_blocks);
/* Writes back everything dirty, then frees; returns the sync status (data stays on error). */
int block_cache_destroy(struct block_cache *cache);

int block_cache_read(struct block_cache *cache, uint64_t lba, uint32_t count, void *buf);
int block_cache_write(struct block_cache *cache, uint64_t lba, uint32_t count, const void *buf);
/* Writes every dirty block (in LBA order, adjacent blocks in one request) and flushes. */
int block_cache_sync(struct block_cache *cache);
/* Syncs every cache; returns the first error. */
int block_cache_sync_all(void);
/* Drops clean blocks (e.g. after the device changed underneath). */
void block_cache_invalidate_clean(struct block_cache *cache);
void block_cache_get_stats(const struct block_cache *cache, struct block_cache_stats *out);

/* A block_io whose reads and writes go through the cache (flush = sync). */
void block_cache_io(struct block_cache *cache, struct block_io *out);

#endif
