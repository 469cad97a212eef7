/* FAT library, the steps that let several threads use one volume: reads in two steps
 * (fat_read_plan under the volume's lock, fat_read_pieces without it) return exactly what
 * fat_read returns, from any offset, in any piece budget, on fragmented files and on 512- and
 * 4096-byte sectors; files open for writing are refused.  Writes in three steps publish the
 * new size only at commit, refuse a truncate while a write is in flight, and undo the position
 * of a failed write.  (fat_write is the three steps, so every other FAT test runs them too.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rayos/errno.h>
#include <rayos/fat.h>

#include <stdlib.h>
#include <string.h>

#include "ramdisk.h"

static struct ramdisk disk;
static struct fat_volume *vol;

static void setup(uint32_t sector_size, uint32_t cluster_size)
{
    ramdisk_init(&disk, 512, 16 * 1024 * 1024);
    struct fat_mkfs_options options = {
        .fat_type = 16, .sector_size = sector_size, .cluster_size = cluster_size};
    assert_int_equal(fat_mkfs(&disk.io, &options), 0);
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
}

static void teardown(void)
{
    assert_int_equal(fat_unmount(vol), 0);
    ramdisk_free(&disk);
}

static void append(const char *path, const uint8_t *data, size_t size)
{
    struct fat_file *f;
    assert_int_equal(fat_open(vol, path, FAT_O_WRITE | FAT_O_CREATE | FAT_O_APPEND, &f), 0);
    assert_int_equal(fat_write(f, data, size), (ssize_t)size);
    assert_int_equal(fat_close(f), 0);
}

/* A file whose clusters are interleaved with another's, so its chain has several runs. */
static uint8_t *fragmented_file(size_t size)
{
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 131 + i / 4099);
    uint8_t filler[5000] = {0};
    size_t done = 0, step = 7777;
    while (done < size) {
        size_t n = size - done < step ? size - done : step;
        append("/DATA.BIN", data + done, n);
        append("/FILLER.BIN", filler, sizeof(filler));
        done += n;
    }
    return data;
}

/* Reads [offset, offset + length) in plan/pieces steps of at most max pieces. */
static void read_in_steps(size_t offset, size_t length, size_t max, uint8_t *out, size_t *got)
{
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/DATA.BIN", FAT_O_READ, &f), 0);
    assert_int_equal(fat_seek(f, (int64_t)offset, 0), (int64_t)offset);
    *got = 0;
    for (;;) {
        struct fat_read_piece pieces[16];
        size_t count = 99;
        ssize_t planned = fat_read_plan(f, length - *got, pieces, max, &count);
        assert_true(planned >= 0);
        if (planned == 0) {
            assert_int_equal(count, 0);
            break;
        }
        assert_true(count >= 1 && count <= max);
        size_t sum = 0;
        for (size_t i = 0; i < count; i++)
            sum += pieces[i].length;
        assert_int_equal(sum, (size_t)planned);
        assert_int_equal(fat_read_pieces(vol, pieces, count, out + *got), 0);
        *got += (size_t)planned;
    }
    assert_int_equal(fat_close(f), 0);
}

static void check_geometry(uint32_t sector_size, uint32_t cluster_size)
{
    setup(sector_size, cluster_size);
    const size_t size = 300 * 1024 + 123;
    uint8_t *data = fragmented_file(size);
    uint8_t *out = malloc(size + 4096);
    struct fat_file *f;
    struct fat_extent extents[64];
    assert_int_equal(fat_open(vol, "/DATA.BIN", FAT_O_READ, &f), 0);
    assert_true(fat_file_extents(f, extents, 64) > 10); /* many runs, as meant */
    assert_int_equal(fat_close(f), 0);
    const size_t offsets[] = {0, 1, 511, 512, 4095, 4097, 7777, 100000, size - 1, size};
    const size_t lengths[] = {1, 2, 513, 4096, 9000, 65536, size};
    const size_t budgets[] = {1, 2, 16};
    for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++) {
        for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
            for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
                size_t got;
                memset(out, 0xee, size + 4096);
                read_in_steps(offsets[o], lengths[l], budgets[b], out, &got);
                size_t want = offsets[o] >= size               ? 0
                              : lengths[l] < size - offsets[o] ? lengths[l]
                                                               : size - offsets[o];
                assert_int_equal(got, want);
                assert_memory_equal(out, data + offsets[o], want);
                assert_int_equal(out[want], 0xee); /* nothing past what was asked */
            }
        }
    }
    free(out);
    free(data);
    teardown();
}

static void test_same_bytes_as_fat_read_512(void **state)
{
    (void)state;
    check_geometry(512, 2048);
}

static void test_same_bytes_as_fat_read_4096(void **state)
{
    (void)state;
    check_geometry(4096, 4096);
}

static void test_only_files_opened_read_only(void **state)
{
    (void)state;
    setup(512, 2048);
    uint8_t data[3000] = {1, 2, 3};
    append("/DATA.BIN", data, sizeof(data));
    struct fat_file *f;
    struct fat_read_piece pieces[4];
    size_t count = 99;
    assert_int_equal(fat_open(vol, "/DATA.BIN", FAT_O_READ | FAT_O_WRITE, &f), 0);
    assert_int_equal(fat_read_plan(f, 100, pieces, 4, &count), -EINVAL);
    assert_int_equal(count, 0);
    assert_int_equal(fat_close(f), 0);
    assert_int_equal(fat_open(vol, "/DATA.BIN", FAT_O_WRITE, &f), 0);
    assert_int_equal(fat_read_plan(f, 100, pieces, 4, &count), -EBADF);
    assert_int_equal(fat_close(f), 0);
    teardown();
}

static void test_write_steps(void **state)
{
    (void)state;
    setup(512, 2048);
    uint8_t head[1000];
    memset(head, 'h', sizeof(head));
    append("/W.BIN", head, sizeof(head));
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/W.BIN", FAT_O_WRITE | FAT_O_APPEND, &f), 0);
    /* 100 bytes to end the partial sector, 8 whole sectors, a 300-byte partial tail. */
    size_t size = (512 - 1000 % 512) + 8 * 512 + 300;
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    struct fat_write_plan plan;
    assert_int_equal(fat_write_plan(f, data, size, &plan), (ssize_t)size);
    assert_int_equal(plan.start, 1000);
    assert_int_equal(plan.end, 1000 + size);
    assert_int_equal(plan.count, 1); /* only the whole sectors are left for the unlocked step */
    assert_int_equal(plan.pieces[0].sectors, 8);
    assert_int_equal(plan.pieces[0].data_offset, 512 - 1000 % 512);
    /* In flight: a truncate could free clusters the write still goes to. */
    assert_int_equal(fat_truncate(f, 0), -EBUSY);
    /* A sync now publishes the old size: the planned bytes are not there yet. */
    assert_int_equal(fat_file_sync(f), 0);
    struct fat_stat st;
    assert_int_equal(fat_file_stat(f, &st), 0);
    assert_int_equal(st.size, 1000);
    assert_int_equal(fat_write_pieces(vol, &plan, data), 0);
    assert_int_equal(fat_write_commit(f, &plan, 0), (ssize_t)size);
    assert_int_equal(fat_file_stat(f, &st), 0);
    assert_int_equal(st.size, 1000 + size);
    /* A failed transfer gives its error and takes the position back. */
    assert_int_equal(fat_write_plan(f, data, 2048, &plan), 2048);
    assert_int_equal(fat_write_commit(f, &plan, -EIO), -EIO);
    assert_int_equal(fat_seek(f, 0, 1), (int64_t)(1000 + size));
    assert_int_equal(fat_truncate(f, 1000 + size), 0); /* nothing in flight any more */
    assert_int_equal(fat_close(f), 0);
    struct fat_file *r;
    uint8_t *back = malloc(1000 + size);
    assert_int_equal(fat_open(vol, "/W.BIN", FAT_O_READ, &r), 0);
    assert_int_equal(fat_read(r, back, 1000 + size), (ssize_t)(1000 + size));
    assert_memory_equal(back, head, 1000);
    assert_memory_equal(back + 1000, data, size);
    assert_int_equal(fat_close(r), 0);
    free(back);
    free(data);
    teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_fat_read_512),
        cmocka_unit_test(test_same_bytes_as_fat_read_4096),
        cmocka_unit_test(test_only_files_opened_read_only),
        cmocka_unit_test(test_write_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
