/* The block cache over a RAM block_io that counts and can fail requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <rayos/block_cache.h>
#include <rayos/errno.h>
#include <rayos/string.h>

#define BLOCKS 128
#define BS     512

struct ram {
    uint8_t data[BLOCKS * BS];
    unsigned reads, writes, flushes;
    uint64_t last_write_lba;
    uint32_t last_write_count, last_read_count;
    int fail_writes;
};

static struct ram ram;
static struct block_io io;

static int ram_read(void *context, uint64_t lba, uint32_t count, void *buffer)
{
    (void)context;
    assert_true(lba + count <= BLOCKS);
    ram.reads++;
    ram.last_read_count = count;
    memcpy(buffer, ram.data + lba * BS, (size_t)count * BS);
    return 0;
}

static int ram_write(void *context, uint64_t lba, uint32_t count, const void *buffer)
{
    (void)context;
    assert_true(lba + count <= BLOCKS);
    if (ram.fail_writes)
        return ram.fail_writes;
    ram.writes++;
    ram.last_write_lba = lba;
    ram.last_write_count = count;
    memcpy(ram.data + lba * BS, buffer, (size_t)count * BS);
    return 0;
}

static int ram_flush(void *context)
{
    (void)context;
    ram.flushes++;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    memset(&ram, 0, sizeof(ram));
    for (unsigned i = 0; i < BLOCKS; i++)
        memset(ram.data + i * BS, i, BS);
    io = (struct block_io){&ram, BS, BLOCKS, false, ram_read, ram_write, ram_flush};
    return 0;
}

static void test_hits_after_miss(void **state)
{
    (void)state;
    struct block_cache *cache = block_cache_create(&io, 16, 0);
    uint8_t buffer[2 * BS];
    assert_int_equal(block_cache_read(cache, 5, 2, buffer), 0);
    assert_int_equal(buffer[0], 5);
    assert_int_equal(buffer[BS], 6);
    assert_int_equal(ram.reads, 1); /* the missing run in one request */
    assert_int_equal(ram.last_read_count, 2);
    assert_int_equal(block_cache_read(cache, 6, 1, buffer), 0);
    assert_int_equal(ram.reads, 1);
    struct block_cache_stats stats;
    block_cache_get_stats(cache, &stats);
    assert_int_equal(stats.hits, 2); /* block 6 came with the first miss */
    assert_int_equal(stats.cached_blocks, 2);
    assert_int_equal(block_cache_read(cache, BLOCKS - 1, 2, buffer), -EINVAL);
    assert_int_equal(block_cache_destroy(cache), 0);
}

static void test_write_back_on_sync_in_order(void **state)
{
    (void)state;
    struct block_cache *cache = block_cache_create(&io, 16, 0);
    uint8_t buffer[BS];
    memset(buffer, 0xaa, BS);
    /* Out of order, with a gap: 12, 10, 11 form one run, 20 another. */
    assert_int_equal(block_cache_write(cache, 12, 1, buffer), 0);
    assert_int_equal(block_cache_write(cache, 20, 1, buffer), 0);
    assert_int_equal(block_cache_write(cache, 10, 1, buffer), 0);
    assert_int_equal(block_cache_write(cache, 11, 1, buffer), 0);
    assert_int_equal(ram.writes, 0); /* write-back, not write-through */
    assert_int_equal(ram.data[10 * BS], 10);
    uint8_t read_back[BS];
    assert_int_equal(block_cache_read(cache, 12, 1, read_back), 0);
    assert_int_equal(read_back[0], 0xaa);
    assert_int_equal(block_cache_sync(cache), 0);
    assert_int_equal(ram.writes, 2);
    assert_int_equal(ram.last_write_lba, 20);
    assert_int_equal(ram.flushes, 1);
    for (int lba = 10; lba <= 12; lba++)
        assert_int_equal(ram.data[lba * BS + 7], 0xaa);
    assert_int_equal(ram.data[13 * BS], 13);
    struct block_cache_stats stats;
    block_cache_get_stats(cache, &stats);
    assert_int_equal(stats.dirty_blocks, 0);
    assert_int_equal(block_cache_sync(cache), 0);
    assert_int_equal(ram.writes, 2); /* nothing left to write */
    assert_int_equal(block_cache_destroy(cache), 0);
}

static void test_lru_eviction_writes_dirty_victim(void **state)
{
    (void)state;
    struct block_cache *cache = block_cache_create(&io, 4, 0);
    uint8_t buffer[BS];
    memset(buffer, 0x77, BS);
    assert_int_equal(block_cache_write(cache, 0, 1, buffer), 0);
    for (int lba = 1; lba <= 3; lba++)
        assert_int_equal(block_cache_read(cache, (uint64_t)lba, 1, buffer), 0);
    /* Block 0 is touched again, so block 1 is the least recently used. */
    assert_int_equal(block_cache_read(cache, 0, 1, buffer), 0);
    assert_int_equal(buffer[0], 0x77);
    unsigned reads = ram.reads;
    assert_int_equal(block_cache_read(cache, 50, 1, buffer), 0);
    assert_int_equal(ram.writes, 0); /* clean block 1 went, no write */
    assert_int_equal(block_cache_read(cache, 0, 1, buffer), 0);
    assert_int_equal(ram.reads, reads + 1); /* 0 still cached */
    assert_int_equal(block_cache_read(cache, 1, 1, buffer), 0);
    assert_int_equal(ram.reads, reads + 2); /* 1 was evicted */
    /* Fill with other blocks until dirty 0 is evicted: it is written back first. */
    for (int lba = 60; lba < 64; lba++)
        assert_int_equal(block_cache_read(cache, (uint64_t)lba, 1, buffer), 0);
    assert_int_equal(ram.writes, 1);
    assert_int_equal(ram.data[0], 0x77);
    assert_int_equal(block_cache_destroy(cache), 0);
}

static void test_write_failure_keeps_data(void **state)
{
    (void)state;
    struct block_cache *cache = block_cache_create(&io, 4, 0);
    uint8_t buffer[BS];
    memset(buffer, 0x42, BS);
    assert_int_equal(block_cache_write(cache, 3, 1, buffer), 0);
    ram.fail_writes = -EIO;
    assert_int_equal(block_cache_sync(cache), -EIO);
    assert_int_equal(block_cache_destroy(cache), -EIO); /* refuses to drop dirty data */
    ram.fail_writes = 0;
    uint8_t check[BS];
    assert_int_equal(block_cache_read(cache, 3, 1, check), 0);
    assert_int_equal(check[0], 0x42);
    assert_int_equal(block_cache_sync_all(), 0);
    assert_int_equal(ram.data[3 * BS], 0x42);
    assert_int_equal(block_cache_destroy(cache), 0);
}

static void test_sequential_reads_read_ahead(void **state)
{
    (void)state;
    struct block_cache *cache = block_cache_create(&io, 64, 16);
    uint8_t buffer[BS];
    assert_int_equal(block_cache_read(cache, 0, 1, buffer), 0);
    assert_int_equal(ram.last_read_count, 1); /* one random read: no read-ahead */
    assert_int_equal(block_cache_read(cache, 1, 1, buffer), 0);
    assert_int_equal(ram.last_read_count, 17); /* sequential: 1 + 16 ahead */
    for (int lba = 2; lba <= 17; lba++) {
        assert_int_equal(block_cache_read(cache, (uint64_t)lba, 1, buffer), 0);
        assert_int_equal(buffer[0], lba);
    }
    assert_int_equal(ram.reads, 2);
    struct block_cache_stats stats;
    block_cache_get_stats(cache, &stats);
    assert_int_equal(stats.readahead_blocks, 16);
    /* Read-ahead stops at the end of the device. */
    assert_int_equal(block_cache_read(cache, BLOCKS - 3, 1, buffer), 0);
    assert_int_equal(block_cache_read(cache, BLOCKS - 2, 1, buffer), 0);
    assert_int_equal(ram.last_read_count, 2);
    assert_int_equal(block_cache_destroy(cache), 0);
}

static void test_block_io_adapter_and_read_only(void **state)
{
    (void)state;
    struct block_cache *cache = block_cache_create(&io, 8, 0);
    struct block_io cached;
    block_cache_io(cache, &cached);
    uint8_t buffer[BS];
    memset(buffer, 0x31, BS);
    assert_int_equal(block_io_write(&cached, 9, 1, buffer), 0);
    assert_int_equal(ram.writes, 0);
    assert_int_equal(block_io_flush(&cached), 0);
    assert_int_equal(ram.data[9 * BS], 0x31);
    assert_int_equal(block_cache_destroy(cache), 0);

    io.read_only = true;
    cache = block_cache_create(&io, 8, 0);
    assert_int_equal(block_cache_write(cache, 0, 1, buffer), -EROFS);
    assert_int_equal(block_cache_destroy(cache), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hits_after_miss, setup),
        cmocka_unit_test_setup(test_write_back_on_sync_in_order, setup),
        cmocka_unit_test_setup(test_lru_eviction_writes_dirty_victim, setup),
        cmocka_unit_test_setup(test_write_failure_keeps_data, setup),
        cmocka_unit_test_setup(test_sequential_reads_read_ahead, setup),
        cmocka_unit_test_setup(test_block_io_adapter_and_read_only, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
