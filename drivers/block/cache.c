/* The block cache.  Entries live in a fixed array (bounded memory), are found through a hash
 * table and are ordered by an LRU list; a miss reads the whole run of missing blocks in one
 * request, extended by read-ahead when the reader is sequential. */
#define pr_fmt(fmt) "blk-cache: " fmt
#include <rayos/block_cache.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/list.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define MAX_BATCH 64u /* blocks per device request */

struct cache_entry {
    uint64_t lba;
    bool valid;
    bool dirty;
    uint8_t *data;
    struct list_node lru;  /* most recently used first */
    struct list_node hash; /* bucket chain */
};

struct block_cache {
    const struct block_io *io;
    unsigned capacity;
    unsigned readahead;
    unsigned bucket_count; /* power of two */
    struct cache_entry *entries;
    uint8_t *data;
    struct list_node *buckets;
    struct list_node lru;
    uint8_t *batch; /* MAX_BATCH blocks for device transfers */
    uint64_t next_sequential_lba;
    struct block_cache_stats stats;
    struct list_node all_node;
};

static LIST_HEAD(all_caches);
static struct mutex all_caches_lock = MUTEX_INIT("blk-cache-list");

static struct list_node *bucket(struct block_cache *cache, uint64_t lba)
{
    uint64_t h = lba * 0x9e3779b97f4a7c15ull;
    return &cache->buckets[(h >> 32) & (cache->bucket_count - 1)];
}

static struct cache_entry *lookup(struct block_cache *cache, uint64_t lba)
{
    struct list_node *head = bucket(cache, lba), *node;
    list_for_each(node, head)
    {
        struct cache_entry *entry = list_entry(node, struct cache_entry, hash);
        if (entry->lba == lba)
            return entry;
    }
    return NULL;
}

static void touch(struct block_cache *cache, struct cache_entry *entry)
{
    list_remove(&entry->lru);
    list_add_head(&cache->lru, &entry->lru);
}

static int write_back(struct block_cache *cache, struct cache_entry **run, unsigned count)
{
    uint32_t block_size = cache->io->block_size;
    for (unsigned i = 0; i < count; i++)
        memcpy(cache->batch + (size_t)i * block_size, run[i]->data, block_size);
    int status = block_io_write(cache->io, run[0]->lba, count, cache->batch);
    if (status < 0) {
        pr_err("write-back of %u blocks at %llu failed: %d\n", count,
               (unsigned long long)run[0]->lba, status);
        return status;
    }
    cache->stats.device_writes++;
    cache->stats.writeback_blocks += count;
    for (unsigned i = 0; i < count; i++) {
        run[i]->dirty = false;
        cache->stats.dirty_blocks--;
    }
    return 0;
}

/* A free entry, evicting the least recently used (written back first when dirty). */
static int take_entry(struct block_cache *cache, struct cache_entry **out)
{
    struct cache_entry *victim = list_entry(cache->lru.prev, struct cache_entry, lru);
    if (victim->valid && victim->dirty) {
        int status = write_back(cache, &victim, 1);
        if (status < 0)
            return status;
    }
    if (victim->valid) {
        list_remove(&victim->hash);
        victim->valid = false;
        cache->stats.cached_blocks--;
    }
    *out = victim;
    return 0;
}

static int insert(struct block_cache *cache, uint64_t lba, const void *data, bool dirty,
                  struct cache_entry **out)
{
    struct cache_entry *entry;
    int status = take_entry(cache, &entry);
    if (status < 0)
        return status;
    entry->lba = lba;
    entry->valid = true;
    entry->dirty = dirty;
    memcpy(entry->data, data, cache->io->block_size);
    list_add_head(bucket(cache, lba), &entry->hash);
    touch(cache, entry);
    cache->stats.cached_blocks++;
    if (dirty)
        cache->stats.dirty_blocks++;
    if (out)
        *out = entry;
    return 0;
}

struct block_cache *block_cache_create(const struct block_io *io, unsigned capacity_blocks,
                                       unsigned readahead_blocks)
{
    if (capacity_blocks < 2 || !io || io->block_size == 0)
        return NULL;
    struct block_cache *cache = kzalloc(sizeof(*cache));
    if (!cache)
        return NULL;
    cache->io = io;
    cache->capacity = capacity_blocks;
    cache->readahead = MIN(readahead_blocks, MIN(MAX_BATCH, capacity_blocks / 2));
    cache->bucket_count = 1;
    while (cache->bucket_count < capacity_blocks)
        cache->bucket_count <<= 1;
    cache->entries = kcalloc(capacity_blocks, sizeof(*cache->entries));
    cache->data = kmalloc((size_t)capacity_blocks * io->block_size);
    cache->buckets = kcalloc(cache->bucket_count, sizeof(*cache->buckets));
    cache->batch = kmalloc((size_t)MAX_BATCH * io->block_size);
    if (!cache->entries || !cache->data || !cache->buckets || !cache->batch) {
        kfree(cache->entries);
        kfree(cache->data);
        kfree(cache->buckets);
        kfree(cache->batch);
        kfree(cache);
        return NULL;
    }
    list_init(&cache->lru);
    for (unsigned i = 0; i < cache->bucket_count; i++)
        list_init(&cache->buckets[i]);
    for (unsigned i = 0; i < capacity_blocks; i++) {
        struct cache_entry *entry = &cache->entries[i];
        entry->data = cache->data + (size_t)i * io->block_size;
        list_init(&entry->hash);
        list_add_tail(&cache->lru, &entry->lru);
    }
    cache->next_sequential_lba = UINT64_MAX;
    mutex_lock(&all_caches_lock);
    list_add_tail(&all_caches, &cache->all_node);
    mutex_unlock(&all_caches_lock);
    return cache;
}

int block_cache_destroy(struct block_cache *cache)
{
    if (!cache)
        return 0;
    int status = block_cache_sync(cache);
    if (status < 0)
        return status;
    mutex_lock(&all_caches_lock);
    list_remove(&cache->all_node);
    mutex_unlock(&all_caches_lock);
    kfree(cache->entries);
    kfree(cache->data);
    kfree(cache->buckets);
    kfree(cache->batch);
    kfree(cache);
    return 0;
}

static int check_range(const struct block_cache *cache, uint64_t lba, uint32_t count)
{
    const struct block_io *io = cache->io;
    if (count == 0 || lba >= io->block_count || count > io->block_count - lba)
        return -EINVAL;
    return 0;
}

/* Reads the missing run starting at lba (and read-ahead beyond the caller's range) into the
 * cache. */
static int fill(struct block_cache *cache, uint64_t lba, uint32_t wanted)
{
    uint32_t run = 1;
    while (run < wanted && run < MAX_BATCH && !lookup(cache, lba + run))
        run++;
    bool sequential = lba == cache->next_sequential_lba;
    if (sequential && cache->readahead) {
        uint64_t limit = MIN((uint64_t)MAX_BATCH, cache->io->block_count - lba);
        uint32_t extended = (uint32_t)MIN(limit, (uint64_t)run + cache->readahead);
        while (run < extended && !lookup(cache, lba + run))
            run++;
        if (run > wanted)
            cache->stats.readahead_blocks += run - wanted;
    }
    run = MIN(run, cache->capacity / 2);
    run = MAX(run, 1u);
    int status = block_io_read(cache->io, lba, run, cache->batch);
    if (status < 0)
        return status;
    cache->stats.device_reads++;
    /* Insert backwards so the block wanted first ends up most recently used. */
    for (uint32_t i = run; i-- > 0;) {
        status =
            insert(cache, lba + i, cache->batch + (size_t)i * cache->io->block_size, false, NULL);
        if (status < 0)
            return status;
    }
    return 0;
}

int block_cache_read(struct block_cache *cache, uint64_t lba, uint32_t count, void *buf)
{
    int status = check_range(cache, lba, count);
    if (status < 0)
        return status;
    uint32_t block_size = cache->io->block_size;
    uint8_t *out = buf;
    for (uint32_t i = 0; i < count; i++) {
        struct cache_entry *entry = lookup(cache, lba + i);
        if (entry) {
            cache->stats.hits++;
        } else {
            cache->stats.misses++;
            status = fill(cache, lba + i, count - i);
            if (status < 0)
                return status;
            entry = lookup(cache, lba + i);
            if (!entry)
                return -EIO;
        }
        memcpy(out + (size_t)i * block_size, entry->data, block_size);
        touch(cache, entry);
    }
    cache->next_sequential_lba = lba + count;
    return 0;
}

int block_cache_write(struct block_cache *cache, uint64_t lba, uint32_t count, const void *buf)
{
    if (cache->io->read_only)
        return -EROFS;
    int status = check_range(cache, lba, count);
    if (status < 0)
        return status;
    uint32_t block_size = cache->io->block_size;
    const uint8_t *in = buf;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *data = in + (size_t)i * block_size;
        struct cache_entry *entry = lookup(cache, lba + i);
        if (!entry) {
            status = insert(cache, lba + i, data, true, NULL);
            if (status < 0)
                return status;
            continue;
        }
        memcpy(entry->data, data, block_size);
        if (!entry->dirty) {
            entry->dirty = true;
            cache->stats.dirty_blocks++;
        }
        touch(cache, entry);
    }
    return 0;
}

static int compare_entries(const void *a, const void *b)
{
    const struct cache_entry *x = *(struct cache_entry *const *)a;
    const struct cache_entry *y = *(struct cache_entry *const *)b;
    return x->lba < y->lba ? -1 : x->lba > y->lba;
}

/* Insertion sort: portable (no qsort in the kernel) and dirty sets are small. */
static void sort_entries(struct cache_entry **items, unsigned count)
{
    for (unsigned i = 1; i < count; i++) {
        struct cache_entry *item = items[i];
        unsigned j = i;
        while (j > 0 && compare_entries(&items[j - 1], &item) > 0) {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = item;
    }
}

int block_cache_sync(struct block_cache *cache)
{
    struct cache_entry **dirty = kcalloc(cache->capacity, sizeof(*dirty));
    if (!dirty)
        return -ENOMEM;
    unsigned count = 0;
    for (unsigned i = 0; i < cache->capacity; i++) {
        if (cache->entries[i].valid && cache->entries[i].dirty)
            dirty[count++] = &cache->entries[i];
    }
    sort_entries(dirty, count);
    int status = 0;
    unsigned start = 0;
    while (start < count && status == 0) {
        unsigned run = 1;
        while (start + run < count && run < MAX_BATCH &&
               dirty[start + run]->lba == dirty[start]->lba + run)
            run++;
        status = write_back(cache, dirty + start, run);
        start += run;
    }
    kfree(dirty);
    if (status == 0)
        status = block_io_flush(cache->io);
    return status;
}

int block_cache_sync_all(void)
{
    int result = 0;
    mutex_lock(&all_caches_lock);
    struct block_cache *cache;
    list_for_each_entry(cache, &all_caches, all_node)
    {
        int status = block_cache_sync(cache);
        if (status < 0 && result == 0)
            result = status;
    }
    mutex_unlock(&all_caches_lock);
    return result;
}

void block_cache_invalidate_clean(struct block_cache *cache)
{
    for (unsigned i = 0; i < cache->capacity; i++) {
        struct cache_entry *entry = &cache->entries[i];
        if (entry->valid && !entry->dirty) {
            list_remove(&entry->hash);
            entry->valid = false;
            list_remove(&entry->lru);
            list_add_tail(&cache->lru, &entry->lru);
            cache->stats.cached_blocks--;
        }
    }
    cache->next_sequential_lba = UINT64_MAX;
}

void block_cache_get_stats(const struct block_cache *cache, struct block_cache_stats *out)
{
    *out = cache->stats;
}

static int io_read(void *context, uint64_t lba, uint32_t count, void *buffer)
{
    return block_cache_read(context, lba, count, buffer);
}

static int io_write(void *context, uint64_t lba, uint32_t count, const void *buffer)
{
    return block_cache_write(context, lba, count, buffer);
}

static int io_flush(void *context)
{
    return block_cache_sync(context);
}

void block_cache_io(struct block_cache *cache, struct block_io *out)
{
    *out = *cache->io;
    out->context = cache;
    out->read = io_read;
    out->write = io_write;
    out->flush = io_flush;
}
