/* Crash test: a workload runs on a disk that records every write and flush; then, for a power
 * cut after every k-th request, the image is rebuilt (all writes before the cut; only what a
 * flush made durable; durable plus a random subset of the rest) and must check without
 * errors, mount, read completely, and hold every file synced before the cut intact.
 * With FAT_CRASH_DUMP_DIR set, some cut images are written there for fsck.fat (pytest). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rayos/errno.h>
#include <rayos/fat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ramdisk.h"

#define SEALED_MAX 32

struct sealed {
    char path[96];
    uint8_t *data;
    size_t size;
    size_t durable_at; /* op index after which the content must survive */
};

static struct ramdisk disk;
static struct fat_volume *vol;
static struct sealed sealed[SEALED_MAX];
static int sealed_count;
static uint32_t rng_state = 2026;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static uint8_t *random_bytes(size_t size)
{
    uint8_t *data = malloc(size + 1);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)rng();
    return data;
}

static void write_file(const char *path, unsigned flags, const uint8_t *data, size_t size,
                       size_t chunk)
{
    struct fat_file *f;
    assert_int_equal(fat_open(vol, path, FAT_O_WRITE | FAT_O_CREATE | flags, &f), 0);
    for (size_t done = 0; done < size; done += chunk) {
        size_t n = size - done < chunk ? size - done : chunk;
        assert_int_equal(fat_write(f, data + done, n), (ssize_t)n);
    }
    assert_int_equal(fat_close(f), 0);
}

static void seal(const char *path, uint8_t *data, size_t size)
{
    assert_int_equal(fat_sync(vol), 0);
    struct sealed *s = &sealed[sealed_count++];
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->data = data;
    s->size = size;
    s->durable_at = disk.op_count;
}

/* The workload: creates, appends, overwrites, truncates, unlinks, mkdir/rmdir, renames within
 * a directory, a sync in the middle of a large write; files sealed after their close are
 * never touched again. */
static void workload(void)
{
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
    assert_int_equal(fat_mkdir(vol, "/keep"), 0);
    for (int i = 0; i < 5; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/keep/Sealed File Number %d.bin", i);
        size_t size = 700 + (size_t)i * 9000;
        uint8_t *data = random_bytes(size);
        write_file(path, 0, data, size, 3000);
        seal(path, data, size);
    }
    assert_int_equal(fat_mkdir(vol, "/scratch dir"), 0);
    for (int i = 0; i < 6; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/scratch dir/temp%d.dat", i);
        uint8_t *data = random_bytes(5000 + (size_t)i * 3000);
        write_file(path, 0, data, 5000 + (size_t)i * 3000, 4096);
        free(data);
    }
    uint8_t *more = random_bytes(20000);
    write_file("/scratch dir/temp1.dat", FAT_O_APPEND, more, 20000, 7000);
    write_file("/scratch dir/temp2.dat", FAT_O_TRUNC, more, 1000, 1000);
    free(more);
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/scratch dir/temp3.dat", FAT_O_WRITE, &f), 0);
    assert_int_equal(fat_truncate(f, 100), 0);
    assert_int_equal(fat_close(f), 0);
    assert_int_equal(fat_unlink(vol, "/scratch dir/temp0.dat"), 0);
    assert_int_equal(fat_rename(vol, "/scratch dir/temp4.dat", "/scratch dir/renamed.dat"), 0);
    /* a large file with a sync half-way: the first half is durable from then on */
    size_t big = 120000;
    uint8_t *data = random_bytes(big);
    assert_int_equal(fat_open(vol, "/big.bin", FAT_O_WRITE | FAT_O_CREATE, &f), 0);
    assert_int_equal(fat_write(f, data, big / 2), (ssize_t)(big / 2));
    assert_int_equal(fat_file_sync(f), 0);
    uint8_t *half = malloc(big / 2);
    memcpy(half, data, big / 2);
    seal("/big.bin", half, big / 2);
    sealed[sealed_count - 1].size = (size_t)-1; /* at least this prefix */
    assert_int_equal(fat_write(f, data + big / 2, big - big / 2), (ssize_t)(big - big / 2));
    assert_int_equal(fat_close(f), 0);
    free(data);
    for (int i = 1; i < 6; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/scratch dir/temp%d.dat", i);
        fat_unlink(vol, path);
    }
    assert_int_equal(fat_unlink(vol, "/scratch dir/renamed.dat"), 0);
    assert_int_equal(fat_rmdir(vol, "/scratch dir"), 0);
    uint8_t *last = random_bytes(3333);
    write_file("/last.txt", 0, last, 3333, 3333);
    seal("/last.txt", last, 3333);
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
}

struct image_view {
    struct ramdisk disk;
};

static void view_init(struct ramdisk *view, uint8_t *bytes, uint64_t size)
{
    ramdisk_init(view, 512, 512);
    free(view->bytes);
    view->bytes = bytes;
    view->size = size;
    view->io.block_count = size / 512;
}

static void apply(uint8_t *image, const struct ramdisk_op *op)
{
    if (op->data)
        memcpy(image + op->lba * 512, op->data, (size_t)op->count * 512);
}

static void print_finding(void *context, const char *message)
{
    fprintf(stderr, "  %s\n", message);
}

static void verify_image(uint8_t *image, uint64_t size, size_t cut, const char *mode)
{
    struct ramdisk view;
    view_init(&view, image, size);
    struct fat_check_result result;
    assert_int_equal(fat_check(&view.io, NULL, NULL, &result), 0);
    if (result.errors) {
        fprintf(stderr, "cut %zu (%s): %u errors\n", cut, mode, result.errors);
        fat_check(&view.io, print_finding, NULL, &result);
        fail();
    }
    struct fat_volume *v;
    assert_int_equal(fat_mount(&view.io, FAT_MOUNT_READ_ONLY, NULL, &v), 0);
    uint8_t *buffer = malloc(200000);
    for (int i = 0; i < sealed_count; i++) {
        const struct sealed *s = &sealed[i];
        if (cut < s->durable_at)
            continue;
        struct fat_file *f;
        int err = fat_open(v, s->path, FAT_O_READ, &f);
        if (err) {
            fprintf(stderr, "cut %zu (%s): %s: %d\n", cut, mode, s->path, err);
            fail();
        }
        ssize_t n = fat_read(f, buffer, 200000);
        size_t expected = s->size == (size_t)-1 ? 60000 : s->size;
        if (s->size == (size_t)-1)
            assert_true(n >= 60000);
        else
            assert_int_equal(n, (ssize_t)expected);
        assert_memory_equal(buffer, s->data, expected);
        fat_close(f);
    }
    free(buffer);
    assert_int_equal(fat_unmount(v), 0);
    view.bytes = NULL;
    ramdisk_free(&view);
}

static void dump(uint8_t *image, uint64_t size, const char *tag, size_t cut)
{
    const char *dir = getenv("FAT_CRASH_DUMP_DIR");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-%06zu.img", dir, tag, cut);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(image, 1, size, out), size);
    fclose(out);
}

static void run_crash(uint64_t bytes, unsigned type, uint32_t cluster, const char *tag)
{
    ramdisk_init(&disk, 512, bytes);
    struct fat_mkfs_options options = {.fat_type = type, .cluster_size = cluster};
    assert_int_equal(fat_mkfs(&disk.io, &options), 0);
    uint8_t *base = malloc(bytes);
    memcpy(base, disk.bytes, bytes);
    sealed_count = 0;
    ramdisk_record(&disk, true);
    workload();
    ramdisk_record(&disk, false);
    size_t ops = disk.op_count;
    assert_true(ops > 100);
    if (getenv("FAT_CRASH_TRACE"))
        for (size_t i = 0; i < ops; i++)
            fprintf(stderr, "op %zu: %s lba %llu count %u\n", i,
                    disk.ops[i].data ? "write" : "flush", (unsigned long long)disk.ops[i].lba,
                    disk.ops[i].count);
    uint8_t *all = malloc(bytes), *durable = malloc(bytes);
    memcpy(all, base, bytes);
    memcpy(durable, base, bytes);
    size_t last_flush = 0; /* ops before this index are durable */
    size_t dumps = 0;
    for (size_t cut = 0; cut <= ops; cut++) {
        if (cut > 0) {
            const struct ramdisk_op *op = &disk.ops[cut - 1];
            apply(all, op);
            if (!op->data) {
                for (size_t i = last_flush; i < cut; i++)
                    apply(durable, &disk.ops[i]);
                last_flush = cut;
            }
        }
        verify_image(all, bytes, cut, "in order");
        if (last_flush == cut) /* the durable image changes only at a flush */
            verify_image(durable, bytes, cut, "flushed only");
        /* durable plus a random subset of the unflushed writes, then undone */
        if (cut - last_flush >= 2 && cut % 2 == 0) {
            bool chosen[4096] = {false};
            for (size_t i = last_flush; i < cut && i - last_flush < 4096; i++)
                if ((chosen[i - last_flush] = rng() % 2))
                    apply(durable, &disk.ops[i]);
            verify_image(durable, bytes, cut, "subset");
            if (cut % 97 == 0 && dumps < 12) {
                dump(durable, bytes, tag, cut);
                dumps++;
            }
            for (size_t i = last_flush; i < cut && i - last_flush < 4096; i++) {
                const struct ramdisk_op *op = &disk.ops[i];
                if (chosen[i - last_flush] && op->data) {
                    /* restore those blocks: rebuild from base plus every durable op */
                    for (uint32_t b = 0; b < op->count; b++) {
                        uint64_t lba = op->lba + b;
                        memcpy(durable + lba * 512, base + lba * 512, 512);
                        for (size_t j = 0; j < last_flush; j++) {
                            const struct ramdisk_op *o = &disk.ops[j];
                            if (o->data && lba >= o->lba && lba < o->lba + o->count)
                                memcpy(durable + lba * 512, o->data + (lba - o->lba) * 512, 512);
                        }
                    }
                }
            }
        }
        if (cut % 151 == 0 && dumps < 24) {
            dump(all, bytes, tag, cut);
            dumps++;
        }
    }
    assert_memory_equal(all, disk.bytes, bytes);
    dump(all, bytes, tag, ops);
    for (int i = 0; i < sealed_count; i++)
        free(sealed[i].data);
    free(all);
    free(durable);
    free(base);
    ramdisk_free(&disk);
}

static void test_crash_fat16(void **state)
{
    run_crash(4 * 1024 * 1024, 16, 512, "fat16");
}

static void test_crash_fat32(void **state)
{
    run_crash(34 * 1024 * 1024, 32, 512, "fat32");
}

static void test_crash_fat12(void **state)
{
    run_crash(2 * 1024 * 1024, 12, 1024, "fat12");
}

extern int host_log_level;

int main(void)
{
    host_log_level = 3; /* every cut image is "not cleanly unmounted": no warning per mount */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_fat16),
        cmocka_unit_test(test_crash_fat32),
        cmocka_unit_test(test_crash_fat12),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
