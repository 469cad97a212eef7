/* A seeded random sequence of operations checked against an in-memory model after every
 * step, on FAT12, FAT16 and FAT32 with 512- and 4096-byte sectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rayos/errno.h>
#include <rayos/fat.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ramdisk.h"

#define DIRS       5
#define NAMES      8
#define FILES      (DIRS * NAMES)
#define MAX_SIZE   70000
#define OPERATIONS 2500

static const char *dir_paths[DIRS] = {"", "/Alpha", "/Alpha/Beta Directory", "/gamma", "/gamma/d"};
static const int dir_parent[DIRS] = {-1, 0, 1, 0, 3};
static const char *file_names[NAMES] = {"README.TXT",
                                        "notes.txt",
                                        "A Long File Name For Testing.data",
                                        "x",
                                        "Mixed Case Name.Txt",
                                        "caf\xc3\xa9.bin",
                                        "12345678.123",
                                        "file with,odd;chars=+[].txt"};

struct model {
    bool dir_exists[DIRS];
    bool file_exists[FILES];
    uint8_t *data[FILES];
    size_t size[FILES];
};

static struct ramdisk disk;
static struct fat_volume *vol;
static struct model model;
static uint32_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void file_path(int file, char *out, size_t size, bool shout)
{
    snprintf(out, size, "%s/%s", dir_paths[file / NAMES], file_names[file % NAMES]);
    if (shout)
        for (char *p = out; *p; p++)
            *p = (char)toupper((unsigned char)*p);
}

static void verify_file(int file)
{
    char path[160];
    file_path(file, path, sizeof(path), rng() % 4 == 0);
    struct fat_file *f;
    int err = fat_open(vol, path, FAT_O_READ, &f);
    if (!model.file_exists[file]) {
        assert_int_equal(err, -ENOENT);
        return;
    }
    assert_int_equal(err, 0);
    uint8_t *buffer = malloc(MAX_SIZE * 2 + 1);
    /* read in random-sized pieces */
    size_t got = 0;
    for (;;) {
        size_t want = 1 + rng() % 9000;
        ssize_t n = fat_read(f, buffer + got, want);
        assert_true(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
        assert_true(got <= MAX_SIZE * 2);
    }
    assert_int_equal(got, model.size[file]);
    if (got)
        assert_memory_equal(buffer, model.data[file], got);
    free(buffer);
    assert_int_equal(fat_close(f), 0);
}

static void op_write(int file)
{
    char path[160];
    file_path(file, path, sizeof(path), false);
    struct fat_file *f;
    unsigned flags = FAT_O_READ | FAT_O_WRITE | FAT_O_CREATE;
    bool truncate = rng() % 5 == 0;
    if (truncate)
        flags |= FAT_O_TRUNC;
    int err = fat_open(vol, path, flags, &f);
    if (!model.dir_exists[file / NAMES]) {
        assert_int_equal(err, -ENOENT);
        return;
    }
    assert_int_equal(err, 0);
    if (!model.file_exists[file] || truncate) {
        model.file_exists[file] = true;
        model.size[file] = 0;
    }
    size_t size = model.size[file];
    size_t offset = rng() % 3 == 0 ? size : rng() % (size + 3000);
    size_t length = rng() % 3 == 0 ? rng() % 600 : rng() % 20000;
    if (offset + length > MAX_SIZE)
        length = offset < MAX_SIZE ? MAX_SIZE - offset : 0;
    uint8_t *chunk = malloc(length + 1);
    for (size_t i = 0; i < length; i++)
        chunk[i] = (uint8_t)rng();
    assert_int_equal(fat_seek(f, (int64_t)offset, FAT_SEEK_SET), (int64_t)offset);
    assert_int_equal(fat_write(f, chunk, length), (ssize_t)length);
    if (length) {
        size_t new_size = offset + length > size ? offset + length : size;
        model.data[file] = realloc(model.data[file], new_size);
        if (offset > size)
            memset(model.data[file] + size, 0, offset - size);
        memcpy(model.data[file] + offset, chunk, length);
        model.size[file] = new_size;
    }
    free(chunk);
    if (rng() % 4 == 0) {
        size_t new_size = rng() % (model.size[file] + 5000);
        if (new_size > MAX_SIZE)
            new_size = MAX_SIZE;
        assert_int_equal(fat_truncate(f, new_size), 0);
        model.data[file] = realloc(model.data[file], new_size + 1);
        if (new_size > model.size[file])
            memset(model.data[file] + model.size[file], 0, new_size - model.size[file]);
        model.size[file] = new_size;
    }
    assert_int_equal(fat_close(f), 0);
}

static void op_unlink(int file)
{
    char path[160];
    file_path(file, path, sizeof(path), rng() % 2);
    int err = fat_unlink(vol, path);
    assert_int_equal(err, model.file_exists[file] ? 0 : -ENOENT);
    model.file_exists[file] = false;
    model.size[file] = 0;
}

static bool dir_empty(int dir)
{
    for (int f = 0; f < NAMES; f++)
        if (model.file_exists[dir * NAMES + f])
            return false;
    for (int d = 0; d < DIRS; d++)
        if (dir_parent[d] == dir && model.dir_exists[d])
            return false;
    return true;
}

static void op_mkdir_rmdir(int dir)
{
    if (dir == 0)
        return;
    if (!model.dir_exists[dir]) {
        int err = fat_mkdir(vol, dir_paths[dir]);
        assert_int_equal(err, model.dir_exists[dir_parent[dir]] ? 0 : -ENOENT);
        model.dir_exists[dir] = err == 0;
        return;
    }
    int err = fat_rmdir(vol, dir_paths[dir]);
    if (dir_empty(dir)) {
        assert_int_equal(err, 0);
        model.dir_exists[dir] = false;
    } else {
        assert_int_equal(err, -ENOTEMPTY);
    }
}

static void op_rename(int from, int to)
{
    char a[160], b[160];
    file_path(from, a, sizeof(a), false);
    file_path(to, b, sizeof(b), false);
    int err = fat_rename(vol, a, b);
    if (from == to) {
        assert_int_equal(err, model.file_exists[from] ? 0 : -ENOENT);
        return;
    }
    if (!model.file_exists[from] || !model.dir_exists[to / NAMES]) {
        assert_int_equal(err, -ENOENT);
        return;
    }
    if (model.file_exists[to]) {
        assert_int_equal(err, -EEXIST);
        return;
    }
    assert_int_equal(err, 0);
    model.file_exists[to] = true;
    free(model.data[to]);
    model.data[to] = model.data[from];
    model.size[to] = model.size[from];
    model.data[from] = NULL;
    model.size[from] = 0;
    model.file_exists[from] = false;
}

static void verify_listing(int dir)
{
    struct fat_dir *handle;
    int err = fat_opendir(vol, dir == 0 ? "/" : dir_paths[dir], &handle);
    if (!model.dir_exists[dir]) {
        assert_int_equal(err, -ENOENT);
        return;
    }
    assert_int_equal(err, 0);
    int expected = 0, seen = 0;
    for (int f = 0; f < NAMES; f++)
        expected += model.file_exists[dir * NAMES + f];
    for (int d = 0; d < DIRS; d++)
        expected += dir_parent[d] == dir && model.dir_exists[d];
    static struct fat_dirent entry;
    while (fat_readdir(handle, &entry) == 1) {
        bool known = false;
        for (int f = 0; f < NAMES; f++)
            known |= model.file_exists[dir * NAMES + f] && strcmp(entry.name, file_names[f]) == 0;
        for (int d = 0; d < DIRS; d++)
            known |= dir_parent[d] == dir && model.dir_exists[d] &&
                     strcmp(entry.name, strrchr(dir_paths[d], '/') + 1) == 0;
        assert_true(known);
        seen++;
    }
    assert_int_equal(seen, expected);
    fat_closedir(handle);
}

static void remount(void)
{
    assert_int_equal(fat_unmount(vol), 0);
    struct fat_check_result result;
    assert_int_equal(fat_check(&disk.io, NULL, NULL, &result), 0);
    assert_int_equal(result.errors, 0);
    assert_int_equal(result.warnings, 0);
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
}

static void run_model(uint64_t bytes, unsigned type, uint32_t sector_size, uint32_t cluster,
                      uint32_t seed)
{
    ramdisk_init(&disk, 512, bytes);
    struct fat_mkfs_options options = {
        .fat_type = type, .sector_size = sector_size, .cluster_size = cluster};
    assert_int_equal(fat_mkfs(&disk.io, &options), 0);
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
    struct fat_statfs fs;
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_int_equal(fs.fat_type, type);
    memset(&model, 0, sizeof(model));
    model.dir_exists[0] = true;
    rng_state = seed;
    for (int step = 0; step < OPERATIONS; step++) {
        int file = (int)(rng() % FILES);
        switch (rng() % 16) {
        case 0 ... 5:
            op_write(file);
            break;
        case 6:
        case 7:
            op_unlink(file);
            break;
        case 8:
        case 9:
            op_mkdir_rmdir((int)(rng() % DIRS));
            break;
        case 10:
        case 11:
            op_rename(file, (int)(rng() % FILES));
            break;
        case 12:
            verify_listing((int)(rng() % DIRS));
            break;
        case 13:
            if (rng() % 8 == 0)
                remount();
            break;
        default:
            break;
        }
        verify_file(file);
    }
    for (int f = 0; f < FILES; f++)
        verify_file(f);
    remount();
    for (int f = 0; f < FILES; f++) {
        verify_file(f);
        free(model.data[f]);
    }
    assert_int_equal(fat_unmount(vol), 0);
    ramdisk_free(&disk);
}

static void test_model_fat12_512(void **state)
{
    run_model(4 * 1024 * 1024, 12, 512, 0, 12345);
}

static void test_model_fat16_512(void **state)
{
    run_model(24 * 1024 * 1024, 16, 512, 512, 777);
}

static void test_model_fat32_512(void **state)
{
    run_model(40 * 1024 * 1024, 32, 512, 512, 4242);
}

static void test_model_fat16_4096(void **state)
{
    run_model(40 * 1024 * 1024, 16, 4096, 4096, 99);
}

static void test_model_fat32_4096(void **state)
{
    run_model(280ull * 1024 * 1024, 32, 4096, 4096, 31337);
}

static void test_model_fat12_4096(void **state)
{
    run_model(8 * 1024 * 1024, 12, 4096, 4096, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_fat12_512),  cmocka_unit_test(test_model_fat16_512),
        cmocka_unit_test(test_model_fat32_512),  cmocka_unit_test(test_model_fat16_4096),
        cmocka_unit_test(test_model_fat32_4096), cmocka_unit_test(test_model_fat12_4096),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
