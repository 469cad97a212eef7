/* FAT library: mounting and validation, names, directories, files, run map, check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/fat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fat/fat_internal.h" /* the directory index, for the duplicate-names test */
#include "ramdisk.h"

static struct ramdisk disk;
static struct fat_volume *vol;

static void format(uint64_t bytes, unsigned type, uint32_t sector_size, uint32_t cluster)
{
    ramdisk_init(&disk, 512, bytes);
    struct fat_mkfs_options options = {.fat_type = type,
                                       .sector_size = sector_size,
                                       .cluster_size = cluster,
                                       .volume_id = 0x1234abcd};
    assert_int_equal(fat_mkfs(&disk.io, &options), 0);
}

static void mount_volume(void)
{
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
}

static void setup_volume(uint64_t bytes, unsigned type, uint32_t sector_size, uint32_t cluster)
{
    format(bytes, type, sector_size, cluster);
    mount_volume();
}

static void check_clean(void);

/* Unmounts, checks the volume with fat_check and frees the disk. */
static void teardown_volume(void)
{
    if (vol)
        assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
    check_clean();
    ramdisk_free(&disk);
}

static void put_file(const char *path, const void *data, size_t size)
{
    struct fat_file *f;
    assert_int_equal(fat_open(vol, path, FAT_O_WRITE | FAT_O_CREATE | FAT_O_TRUNC, &f), 0);
    assert_int_equal(fat_write(f, data, size), (ssize_t)size);
    assert_int_equal(fat_close(f), 0);
}

static void expect_file(const char *path, const void *data, size_t size)
{
    struct fat_file *f;
    assert_int_equal(fat_open(vol, path, FAT_O_READ, &f), 0);
    uint8_t *buffer = malloc(size + 16);
    assert_int_equal(fat_read(f, buffer, size + 16), (ssize_t)size);
    assert_memory_equal(buffer, data, size);
    free(buffer);
    assert_int_equal(fat_close(f), 0);
}

static void check_clean(void)
{
    struct fat_check_result result;
    assert_int_equal(fat_check(&disk.io, NULL, NULL, &result), 0);
    assert_int_equal(result.errors, 0);
}

static void test_mkfs_types_by_size(void **state)
{
    struct fat_statfs fs;
    setup_volume(4 * 1024 * 1024, 0, 0, 0);
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_int_equal(fs.fat_type, 12);
    teardown_volume();
    setup_volume(64 * 1024 * 1024, 0, 0, 0);
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_int_equal(fs.fat_type, 16);
    teardown_volume();
    setup_volume(64 * 1024 * 1024, 32, 0, 512);
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_int_equal(fs.fat_type, 32);
    assert_int_equal(fs.cluster_size, 512);
    assert_int_equal(fs.free_clusters, fs.cluster_count - 1);
    teardown_volume();
    setup_volume(16 * 1024 * 1024, 16, 4096, 0);
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_int_equal(fs.sector_size, 4096);
    teardown_volume();
    ramdisk_init(&disk, 512, 1024 * 1024);
    struct fat_mkfs_options too_small = {.fat_type = 32};
    assert_int_equal(fat_mkfs(&disk.io, &too_small), -EINVAL); /* far too small for FAT32 */
    ramdisk_free(&disk);
}

static int mount_after_patch(unsigned offset, unsigned width, uint32_t value)
{
    if (width == 1)
        disk.bytes[offset] = (uint8_t)value;
    else if (width == 2)
        put_le16(disk.bytes + offset, (uint16_t)value);
    else
        put_le32(disk.bytes + offset, value);
    struct fat_volume *v;
    int err = fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, NULL, &v);
    if (err == 0)
        fat_unmount(v);
    return err;
}

static void test_boot_sector_validation(void **state)
{
    struct {
        unsigned offset, width;
        uint32_t value;
        int expected;
    } cases[] = {
        {11, 2, 1000, -EINVAL},                       /* bytes per sector not a power of two */
        {11, 2, 256, -EINVAL},                        /* too small */
        {11, 2, 8192, -EINVAL},                       /* too large */
        {13, 1, 3, -EUCLEAN},                         /* sectors per cluster */
        {13, 1, 0, -EUCLEAN},   {14, 2, 0, -EUCLEAN}, /* no reserved sectors */
        {16, 1, 0, -EUCLEAN},                         /* no FATs */
        {17, 2, 0, -EUCLEAN},                         /* FAT16 without a root directory */
        {17, 2, 17, -EUCLEAN},                        /* root entries not filling whole sectors */
        {22, 2, 1, -EUCLEAN},                         /* FAT too small for the clusters */
        {19, 2, 0, -EUCLEAN},                         /* no total sectors */
        {510, 2, 0, -EINVAL},                         /* no signature */
        {0, 1, 0, -EINVAL},                           /* no jump */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        format(8 * 1024 * 1024, 16, 0, 0);
        assert_int_equal(mount_after_patch(cases[i].offset, cases[i].width, cases[i].value),
                         cases[i].expected);
        ramdisk_free(&disk);
    }
    /* a volume larger than the device (a truncated image): mounted read-only; what is there
     * reads, what is not is an I/O error; with its FATs cut off it is refused */
    format(8 * 1024 * 1024, 16, 0, 0);
    struct fat_volume *v;
    assert_int_equal(fat_mount(&disk.io, 0, NULL, &v), 0);
    struct fat_file *f;
    static uint8_t big[64 * 1024];
    memset(big, 0x5a, sizeof(big));
    assert_int_equal(fat_open(v, "/near", FAT_O_WRITE | FAT_O_CREATE, &f), 0);
    assert_int_equal(fat_write(f, big, 100), 100);
    assert_int_equal(fat_close(f), 0);
    assert_int_equal(fat_open(v, "/far", FAT_O_WRITE | FAT_O_CREATE, &f), 0);
    assert_int_equal(fat_file_allocate(f, 6 * 1024 * 1024, true), 0);
    assert_int_equal(fat_close(f), 0);
    assert_int_equal(fat_unmount(v), 0);
    disk.io.block_count /= 2;
    assert_int_equal(fat_mount(&disk.io, 0, NULL, &v), 0);
    assert_int_equal(fat_open(v, "/near", FAT_O_READ, &f), 0);
    uint8_t back[100];
    assert_int_equal(fat_read(f, back, sizeof(back)), 100);
    assert_memory_equal(back, big, 100);
    assert_int_equal(fat_close(f), 0);
    assert_int_equal(fat_open(v, "/far", FAT_O_READ, &f), 0);
    assert_int_equal(fat_seek(f, 5 * 1024 * 1024, FAT_SEEK_SET), 5 * 1024 * 1024);
    assert_int_equal(fat_read(f, big, sizeof(big)), -EIO);
    assert_int_equal(fat_close(f), 0);
    assert_int_equal(fat_open(v, "/new", FAT_O_WRITE | FAT_O_CREATE, &f), -EROFS);
    assert_int_equal(fat_mkdir(v, "/d"), -EROFS);
    assert_int_equal(fat_unmount(v), 0);
    disk.io.block_count = 8;
    assert_int_equal(fat_mount(&disk.io, 0, NULL, &v), -EUCLEAN);
    ramdisk_free(&disk);
    format(64 * 1024 * 1024, 32, 0, 512);
    assert_int_equal(mount_after_patch(44, 4, 1), -EUCLEAN);
    ramdisk_free(&disk);
    format(64 * 1024 * 1024, 32, 0, 512);
    assert_int_equal(mount_after_patch(17, 2, 512), -EUCLEAN);
    ramdisk_free(&disk);
    format(64 * 1024 * 1024, 32, 0, 512);
    assert_int_equal(mount_after_patch(42, 2, 1), -EUCLEAN); /* unknown version */
    ramdisk_free(&disk);
}

static void test_long_name_255(void **state)
{
    setup_volume(8 * 1024 * 1024, 16, 0, 0);
    char name[300];
    memset(name, 0, sizeof(name));
    name[0] = '/';
    for (int i = 1; i <= 255; i++)
        name[i] = (char)('a' + i % 26);
    put_file(name, "x", 1);
    expect_file(name, "x", 1);
    struct fat_dir *dir;
    struct fat_dirent entry;
    assert_int_equal(fat_opendir(vol, "/", &dir), 0);
    assert_int_equal(fat_readdir(dir, &entry), 1);
    assert_int_equal(strlen(entry.name), 255);
    assert_string_equal(entry.name, name + 1);
    assert_int_equal(fat_readdir(dir, &entry), 0);
    fat_closedir(dir);
    name[256] = 'q'; /* 256 characters */
    struct fat_file *f;
    assert_int_equal(fat_open(vol, name, FAT_O_WRITE | FAT_O_CREATE, &f), -ENAMETOOLONG);
    /* 255 UTF-16 units of non-ASCII (2 bytes each in UTF-8) */
    char wide[600] = "/";
    for (int i = 0; i < 255; i++)
        strcat(wide, "\xc3\xa9");
    put_file(wide, "yy", 2);
    expect_file(wide, "yy", 2);
    teardown_volume();
}

static void short_name_of(const char *long_name, char *out)
{
    struct fat_dir *dir;
    struct fat_dirent entry;
    assert_int_equal(fat_opendir(vol, "/", &dir), 0);
    out[0] = 0;
    while (fat_readdir(dir, &entry) == 1)
        if (strcmp(entry.name, long_name) == 0)
            strcpy(out, entry.short_name);
    fat_closedir(dir);
}

/* The 8.3 name of each entry of dir, in slot order; returns the count (NULL names: count). */
static int short_names_in(const char *dir_path, char (*names)[13], const char *long_name,
                          char *alias)
{
    struct fat_dir *dir;
    struct fat_dirent entry;
    assert_int_equal(fat_opendir(vol, dir_path, &dir), 0);
    int count = 0;
    while (fat_readdir(dir, &entry) == 1) {
        if (names)
            strcpy(names[count], entry.short_name);
        if (long_name && strcmp(entry.name, long_name) == 0)
            strcpy(alias, entry.short_name);
        count++;
    }
    fat_closedir(dir);
    return count;
}

static int compare_short(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void expect_alias(const char *dir, const char *name, const char *expected)
{
    char alias[13] = "";
    short_names_in(dir, NULL, name, alias);
    assert_string_equal(alias, expected);
}

/* Hundreds of long names with one basis: each gets the lowest free ~N (as mtools and Windows
 * number them), a freed tail is taken again first, also after a remount (a new index), and
 * no two entries ever share an 8.3 name. */
static void test_alias_tails_many(void **state)
{
    setup_volume(8 * 1024 * 1024, 16, 0, 0);
    assert_int_equal(fat_mkdir(vol, "/d"), 0);
    char path[64], name[64], expected[16];
    for (int i = 1; i <= 600; i++) {
        snprintf(path, sizeof(path), "/d/Long File Name %d.txt", i);
        put_file(path, "n", 1);
    }
    expect_alias("/d", "Long File Name 9.txt", "LONGFI~9.TXT");
    expect_alias("/d", "Long File Name 10.txt", "LONGF~10.TXT");
    expect_alias("/d", "Long File Name 600.txt", "LONG~600.TXT");
    const int freed[] = {300, 7, 5, 123};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "/d/Long File Name %d.txt", freed[i]);
        assert_int_equal(fat_unlink(vol, path), 0);
    }
    const char *again[] = {"LONGFI~5.TXT", "LONGFI~7.TXT", "LONG~123.TXT"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/d/Long File Name again %d.txt", i);
        put_file(path, "a", 1);
        snprintf(name, sizeof(name), "Long File Name again %d.txt", i);
        expect_alias("/d", name, again[i]);
    }
    /* a remount forgets the index: the next free tail is found the same way */
    assert_int_equal(fat_unmount(vol), 0);
    mount_volume();
    put_file("/d/Long File Name again 3.txt", "a", 1);
    expect_alias("/d", "Long File Name again 3.txt", "LONG~300.TXT");
    put_file("/d/Long File Name again 4.txt", "a", 1);
    snprintf(expected, sizeof(expected), "LONG~%d.TXT", 601);
    expect_alias("/d", "Long File Name again 4.txt", expected);
    /* renames within the directory keep every alias unique */
    for (int i = 1; i <= 40; i++) {
        snprintf(path, sizeof(path), "/d/Long File Name %d.txt", 200 + i);
        snprintf(name, sizeof(name), "/d/Long File Name renamed %d.txt", i);
        assert_int_equal(fat_rename(vol, path, name), 0);
    }
    /* every name is found through the index's tables after the moves inside them */
    struct fat_stat st;
    for (int i = 1; i <= 600; i++) {
        bool gone = i == 5 || i == 7 || i == 123 || i == 300 || (i > 200 && i <= 240);
        snprintf(path, sizeof(path), "/d/LONG FILE NAME %d.TXT", i);
        assert_int_equal(fat_stat(vol, path, &st), gone ? -ENOENT : 0);
    }
    for (int i = 1; i <= 40; i++) {
        snprintf(name, sizeof(name), "/d/long file name renamed %d.txt", i);
        expect_file(name, "n", 1);
    }
    expect_file("/d/LONG~300.TXT", "a", 1);
    static char names[700][13];
    int count = short_names_in("/d", names, NULL, NULL);
    assert_int_equal(count, 600 - 4 + 5);
    qsort(names, (size_t)count, sizeof(names[0]), compare_short);
    for (int i = 1; i < count; i++)
        assert_string_not_equal(names[i - 1], names[i]);
    teardown_volume();
}

static void test_aliases_and_case(void **state)
{
    setup_volume(8 * 1024 * 1024, 16, 0, 0);
    char short_name[16];
    put_file("/Long File Name.txt", "1", 1);
    put_file("/Long File Name 2.txt", "2", 1);
    put_file("/longfile.txt", "3", 1);
    put_file("/Mixed.Txt", "4", 1);
    put_file("/lower.c", "5", 1);
    put_file("/a+b.tar.gz", "6", 1);
    short_name_of("Long File Name.txt", short_name);
    assert_string_equal(short_name, "LONGFI~1.TXT");
    short_name_of("Long File Name 2.txt", short_name);
    assert_string_equal(short_name, "LONGFI~2.TXT");
    short_name_of("longfile.txt", short_name);
    assert_string_equal(short_name, "LONGFILE.TXT");
    short_name_of("Mixed.Txt", short_name);
    assert_string_equal(short_name, "MIXED.TXT");
    short_name_of("lower.c", short_name);
    assert_string_equal(short_name, "LOWER.C");
    short_name_of("a+b.tar.gz", short_name);
    assert_string_equal(short_name, "A_BTAR~1.GZ");
    for (int i = 3; i <= 12; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/Long File Name %d.txt", i);
        put_file(path, "n", 1);
        snprintf(path, sizeof(path), "Long File Name %d.txt", i);
        short_name_of(path, short_name);
        char expected[16];
        snprintf(expected, sizeof(expected), i < 10 ? "LONGFI~%d.TXT" : "LONGF~%d.TXT", i);
        assert_string_equal(short_name, expected);
    }
    /* lookups are case-insensitive, by long and by short name */
    expect_file("/LONG FILE NAME.TXT", "1", 1);
    expect_file("/longfi~2.txt", "2", 1);
    expect_file("/LOWER.C", "5", 1);
    /* invalid names */
    struct fat_file *f;
    const char *bad[] = {"/a*b",  "/a?b",       "/a:b",       "/a<b",  "/a|b",
                         "/a\"b", "/trailing.", "/trailing ", "/a\\b", "/\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(fat_open(vol, bad[i], FAT_O_WRITE | FAT_O_CREATE, &f), -EINVAL);
    assert_int_equal(fat_open(vol, "/mixed.txt", FAT_O_WRITE | FAT_O_CREATE | FAT_O_EXCL, &f),
                     -EEXIST);
    teardown_volume();
}

static void test_lowercase_flags_on_disk(void **state)
{
    setup_volume(8 * 1024 * 1024, 12, 0, 0);
    put_file("/lower.c", "5", 1);
    put_file("/UPPER.C", "6", 1);

    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
    /* the root directory follows the two FATs; find the entries and their NT flags */
    uint32_t fat_sectors = get_le16(disk.bytes + 22);
    uint8_t *root = disk.bytes + 512 * (1 + 2 * fat_sectors);
    assert_memory_equal(root, "LOWER   C  ", 11);
    assert_int_equal(root[12], 0x18);
    assert_memory_equal(root + 32, "UPPER   C  ", 11);
    assert_int_equal(root[32 + 12], 0);
    ramdisk_free(&disk);
}

static void test_readdir_full_directory_without_end_marker(void **state)
{
    /* 512-byte clusters hold 16 entries: ".", ".." and 14 files fill one with no end marker */
    setup_volume(8 * 1024 * 1024, 16, 0, 512);
    assert_int_equal(fat_mkdir(vol, "/full"), 0);
    for (int i = 0; i < 14; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/FULL/F%02d.TXT", i);
        put_file(path, "z", 1);
    }
    struct fat_dir *dir;
    struct fat_dirent entry;
    assert_int_equal(fat_opendir(vol, "/full", &dir), 0);
    int count = 0;
    while (fat_readdir(dir, &entry) == 1)
        count++;
    assert_int_equal(count, 14);
    assert_int_equal(fat_readdir(dir, &entry), 0);
    fat_closedir(dir);
    struct fat_stat st;
    assert_int_equal(fat_stat(vol, "/full/nothere", &st), -ENOENT);
    /* the fixed root: 512 entries, all used, no end marker */
    for (int i = 0; i < 511; i++) { /* plus /full: 512 */
        char path[32];
        snprintf(path, sizeof(path), "/R%03d", i);
        if (i < 510)
            put_file(path, "", 0);
        else
            assert_int_equal(fat_mkdir(vol, path), 0);
    }
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/onemore", FAT_O_WRITE | FAT_O_CREATE, &f), -ENOSPC);
    assert_int_equal(fat_opendir(vol, "/", &dir), 0);
    count = 0;
    while (fat_readdir(dir, &entry) == 1)
        count++;
    assert_int_equal(count, 512);
    fat_closedir(dir);
    teardown_volume();
}

static void test_unlink_frees_chain(void **state)
{
    setup_volume(16 * 1024 * 1024, 16, 0, 2048);
    struct fat_statfs before, after;
    assert_int_equal(fat_statfs(vol, &before), 0);
    size_t size = 300 * 1024;
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 7);
    put_file("/big.bin", data, size);
    assert_int_equal(fat_statfs(vol, &after), 0);
    assert_int_equal(before.free_clusters - after.free_clusters, 150);
    assert_int_equal(fat_unlink(vol, "/big.bin"), 0);
    assert_int_equal(fat_statfs(vol, &after), 0);
    assert_int_equal(after.free_clusters, before.free_clusters);
    struct fat_stat st;
    assert_int_equal(fat_stat(vol, "/big.bin", &st), -ENOENT);
    free(data);
    teardown_volume();
    /* after remount the count comes from FSInfo/FAT and still agrees */
}

static void test_run_map_and_seek(void **state)
{
    setup_volume(16 * 1024 * 1024, 16, 0, 1024);
    /* interleave two files so that both fragment */
    struct fat_file *a, *b;
    assert_int_equal(fat_open(vol, "/a", FAT_O_WRITE | FAT_O_READ | FAT_O_CREATE, &a), 0);
    assert_int_equal(fat_open(vol, "/b", FAT_O_WRITE | FAT_O_CREATE, &b), 0);
    uint8_t block[3000];
    for (int round = 0; round < 40; round++) {
        for (size_t i = 0; i < sizeof(block); i++)
            block[i] = (uint8_t)(round * 31 + i);
        assert_int_equal(fat_write(a, block, sizeof(block)), sizeof(block));
        assert_int_equal(fat_write(b, block, 1000), 1000);
    }
    struct fat_extent extents[64];
    int count = fat_file_extents(a, extents, 64);
    assert_true(count > 1);
    uint64_t covered = 0;
    for (int i = 0; i < count; i++) {
        assert_int_equal(extents[i].file_offset, covered);
        covered += extents[i].block_count * 512;
    }
    assert_true(covered >= 40 * sizeof(block));
    /* random seeks read the right bytes, with few device reads (no chain walks) */
    srand(7);
    uint64_t reads_before = disk.reads;
    for (int i = 0; i < 500; i++) {
        int round = rand() % 40;
        size_t offset = (size_t)rand() % (sizeof(block) - 8);
        assert_int_equal(fat_seek(a, (int64_t)(round * sizeof(block) + offset), FAT_SEEK_SET),
                         (int64_t)(round * sizeof(block) + offset));
        uint8_t got[8];
        assert_int_equal(fat_read(a, got, 8), 8);
        for (int k = 0; k < 8; k++)
            assert_int_equal(got[k], (uint8_t)(round * 31 + offset + k));
    }
    assert_true(disk.reads - reads_before <= 500 * 2);
    assert_int_equal(fat_seek(a, 0, FAT_SEEK_END), 40 * sizeof(block));
    assert_int_equal(fat_seek(a, -1, FAT_SEEK_SET), -EINVAL);
    fat_close(a);
    fat_close(b);
    teardown_volume();
}

static void test_allocate_contiguous_and_sparse_write(void **state)
{
    setup_volume(16 * 1024 * 1024, 16, 0, 4096);
    struct fat_file *f;
    put_file("/spacer", "s", 1);
    assert_int_equal(fat_open(vol, "/disk.img", FAT_O_WRITE | FAT_O_READ | FAT_O_CREATE, &f), 0);
    assert_int_equal(fat_file_allocate(f, 4 * 1024 * 1024, true), 0);
    struct fat_extent extents[4];
    assert_int_equal(fat_file_extents(f, extents, 4), 1);
    assert_int_equal(extents[0].block_count, 4 * 1024 * 1024 / 512);
    uint8_t buffer[4096];
    assert_int_equal(fat_seek(f, 123456, FAT_SEEK_SET), 123456);
    assert_int_equal(fat_read(f, buffer, sizeof(buffer)), sizeof(buffer));
    for (size_t i = 0; i < sizeof(buffer); i++)
        assert_int_equal(buffer[i], 0);
    /* the extent's LBAs really hold the file */
    assert_int_equal(fat_seek(f, 8192, FAT_SEEK_SET), 8192);
    assert_int_equal(fat_write(f, "EXTENT", 6), 6);
    assert_memory_equal(disk.bytes + extents[0].lba * 512 + 8192, "EXTENT", 6);
    fat_close(f);
    /* writing past the end zero-fills the gap */
    assert_int_equal(fat_open(vol, "/sparse", FAT_O_WRITE | FAT_O_READ | FAT_O_CREATE, &f), 0);
    assert_int_equal(fat_write(f, "ab", 2), 2);
    assert_int_equal(fat_seek(f, 10000, FAT_SEEK_SET), 10000);
    assert_int_equal(fat_write(f, "cd", 2), 2);
    assert_int_equal(fat_seek(f, 0, FAT_SEEK_SET), 0);
    uint8_t *all = malloc(10002);
    assert_int_equal(fat_read(f, all, 20000), 10002);
    assert_memory_equal(all, "ab", 2);
    for (int i = 2; i < 10000; i++)
        assert_int_equal(all[i], 0);
    assert_memory_equal(all + 10000, "cd", 2);
    free(all);
    /* truncate down and up again: the slack reads as zeros */
    assert_int_equal(fat_truncate(f, 1), 0);
    assert_int_equal(fat_truncate(f, 5000), 0);
    assert_int_equal(fat_seek(f, 0, FAT_SEEK_SET), 0);
    assert_int_equal(fat_read(f, buffer, 4096), 4096);
    assert_int_equal(buffer[0], 'a');
    assert_int_equal(buffer[1], 0);
    assert_int_equal(buffer[4095], 0);
    fat_close(f);
    /* a contiguous run that does not exist */
    assert_int_equal(fat_open(vol, "/huge", FAT_O_WRITE | FAT_O_CREATE, &f), 0);
    assert_int_equal(fat_file_allocate(f, 15 * 1024 * 1024, true), -ENOSPC);
    fat_close(f);
    teardown_volume();
}

static void test_directories_and_rename(void **state)
{
    setup_volume(32 * 1024 * 1024, 16, 0, 0);
    assert_int_equal(fat_mkdir(vol, "/a"), 0);
    assert_int_equal(fat_mkdir(vol, "/a/b"), 0);
    assert_int_equal(fat_mkdir(vol, "/a/b/c"), 0);
    assert_int_equal(fat_mkdir(vol, "/a"), -EEXIST);
    assert_int_equal(fat_mkdir(vol, "/x/y"), -ENOENT);
    put_file("/a/b/file.txt", "content", 7);
    assert_int_equal(fat_mkdir(vol, "/a/b/file.txt/z"), -ENOTDIR);
    assert_int_equal(fat_rename(vol, "/a", "/a/b/c/a"), -EINVAL);
    assert_int_equal(fat_rename(vol, "/a/b", "/a/b/inner"), -EINVAL);
    assert_int_equal(fat_rename(vol, "/a/b", "/moved"), 0);
    expect_file("/moved/file.txt", "content", 7);
    expect_file("/a/../moved/./file.txt", "content", 7);
    assert_int_equal(fat_rename(vol, "/moved/file.txt", "/a/Renamed File.txt"), 0);
    expect_file("/a/renamed file.txt", "content", 7);
    assert_int_equal(fat_rename(vol, "/a/renamed file.txt", "/a/RENAMED FILE.TXT"), 0);
    assert_int_equal(fat_rename(vol, "/a/RENAMED FILE.TXT", "/moved/c"), -EEXIST);
    assert_int_equal(fat_rmdir(vol, "/moved"), -ENOTEMPTY);
    assert_int_equal(fat_rmdir(vol, "/moved/c"), 0);
    assert_int_equal(fat_rmdir(vol, "/a/RENAMED FILE.TXT"), -ENOTDIR);
    assert_int_equal(fat_unlink(vol, "/moved"), -EISDIR);
    struct fat_dir *dir;
    struct fat_dirent entry;
    assert_int_equal(fat_opendir(vol, "/a", &dir), 0);
    assert_int_equal(fat_readdir(dir, &entry), 1);
    assert_string_equal(entry.name, "RENAMED FILE.TXT");
    assert_int_equal(fat_readdir(dir, &entry), 0);
    fat_closedir(dir);
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/a/renamed file.txt", FAT_O_READ, &f), 0);
    assert_int_equal(fat_unlink(vol, "/a/renamed file.txt"), -EBUSY);
    assert_int_equal(fat_unmount(vol), -EBUSY);
    fat_close(f);
    teardown_volume();
}

static void test_dirty_bits(void **state)
{
    setup_volume(8 * 1024 * 1024, 16, 0, 0);
    uint32_t fat_start = 512 * get_le16(disk.bytes + 14);
    assert_int_equal(disk.bytes[37] & 1, 0);
    put_file("/f", "1", 1);
    assert_int_equal(disk.bytes[37] & 1, 1);
    assert_int_equal(get_le16(disk.bytes + fat_start + 2) & 0x8000, 0);
    struct fat_statfs fs;
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_false(fs.was_dirty);
    assert_int_equal(fat_unmount(vol), 0);
    assert_int_equal(disk.bytes[37] & 1, 0);
    assert_int_equal(get_le16(disk.bytes + fat_start + 2) & 0x8000, 0x8000);
    /* a read-only session writes nothing at all */
    uint64_t writes = disk.writes;
    assert_int_equal(fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, NULL, &vol), 0);
    expect_file("/f", "1", 1);
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/g", FAT_O_WRITE | FAT_O_CREATE, &f), -EROFS);
    assert_int_equal(fat_unmount(vol), 0);
    assert_int_equal(disk.writes, writes);
    vol = NULL;
    ramdisk_free(&disk);
}

/* A mount reads the boot sector, then FSInfo, the reserved sectors a rename record may be in
 * and the FAT's first sectors in one request (each request is a device round trip); what it
 * read is what the volume then uses (a file written before reads back, statfs agrees).  A
 * check, which looks for a record the same way, reads them once as well. */
static void test_mount_reads_in_two_requests(void **state)
{
    static const struct {
        uint64_t bytes;
        unsigned type;
        uint64_t reads;       /* FAT16: its 32-sector root is looked through for a record too, in
                               * two requests (it was 32) */
        uint64_t check_reads; /* a check reads the reserved sectors once too (FAT32 was 192) */
    } cases[] = {{64 * 1024 * 1024, 32, 2, 191}, {16 * 1024 * 1024, 16, 4, 26}};
    for (size_t i = 0; i < 2; i++) {
        setup_volume(cases[i].bytes, cases[i].type, 0, 512);
        put_file("/f", "abc", 3);
        assert_int_equal(fat_unmount(vol), 0);
        uint64_t reads = disk.reads;
        mount_volume();
        assert_int_equal(disk.reads - reads, cases[i].reads);
        expect_file("/f", "abc", 3);
        struct fat_statfs fs;
        assert_int_equal(fat_statfs(vol, &fs), 0);
        assert_int_equal(fs.free_clusters, fs.cluster_count - (cases[i].type == 32 ? 2 : 1));
        assert_int_equal(fat_unmount(vol), 0);
        vol = NULL;
        reads = disk.reads;
        check_clean();
        assert_int_equal(disk.reads - reads, cases[i].check_reads);
        ramdisk_free(&disk);
    }
}

/* A read-only mount made writable works as a writable mount; a read-only device refuses. */
static void test_make_writable(void **state)
{
    setup_volume(64 * 1024 * 1024, 32, 0, 512);
    put_file("/f", "abc", 3);
    assert_int_equal(fat_unmount(vol), 0);
    uint64_t writes = disk.writes;
    assert_int_equal(fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, &ramdisk_test_clock, &vol), 0);
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/g", FAT_O_WRITE | FAT_O_CREATE, &f), -EROFS);
    assert_int_equal(disk.writes, writes);
    assert_int_equal(fat_make_writable(vol), 0);
    assert_int_equal(fat_make_writable(vol), 0);
    put_file("/g", "defg", 4);
    expect_file("/f", "abc", 3);
    assert_int_equal(fat_unmount(vol), 0);
    assert_true(disk.writes > writes);

    disk.io.read_only = true;
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
    assert_int_equal(fat_make_writable(vol), -EROFS);
    assert_int_equal(fat_open(vol, "/h", FAT_O_WRITE | FAT_O_CREATE, &f), -EROFS);
    expect_file("/g", "defg", 4);
    disk.io.read_only = false;
    teardown_volume();
}

/* A damaged directory of one name repeated (every entry rewritten to DUP.TXT): the copies make
 * one long chain in the index's tables, and lookups, creates and removes answer as a pass over
 * the entries would (the first DUP.TXT; a new name is new; the next DUP.TXT once the first is
 * gone, and the one after once that one is). */
static void test_directory_of_one_repeated_name(void **state)
{
    setup_volume(64 * 1024 * 1024, 32, 0, 512);
    assert_int_equal(fat_mkdir(vol, "/d"), 0);
    char path[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/d/f%07d.txt", i);
        put_file(path, &i, sizeof(i));
    }
    assert_int_equal(fat_unmount(vol), 0);
    unsigned rewritten = 0;
    for (uint64_t at = 0; at + 32 <= disk.size; at += 32) {
        if (memcmp(disk.bytes + at, "F", 1) == 0 && memcmp(disk.bytes + at + 8, "TXT", 3) == 0 &&
            disk.bytes[at + 11] == 0x20) {
            memcpy(disk.bytes + at, "DUP     TXT", 11);
            rewritten++;
        }
    }
    assert_int_equal(rewritten, 1000);
    mount_volume();
    struct fat_stat st;
    assert_int_equal(fat_stat(vol, "/d/dup.txt", &st), 0);
    int first = -1;
    struct fat_file *file;
    assert_int_equal(fat_open(vol, "/d/DUP.TXT", FAT_O_READ, &file), 0);
    assert_int_equal(fat_read(file, &first, sizeof(first)), sizeof(first));
    assert_int_equal(fat_close(file), 0);
    assert_int_equal(first, 0);
    assert_int_equal(fat_open(vol, "/d/dup.txt", FAT_O_WRITE | FAT_O_CREATE | FAT_O_EXCL, &file),
                     -EEXIST);
    put_file("/d/new.txt", "n", 1);
    expect_file("/d/new.txt", "n", 1);
    put_file("/d/a long name for an alias.txt", "l", 1);
    expect_file("/d/a long name for an alias.txt", "l", 1);
    assert_int_equal(fat_unlink(vol, "/d/DUP.TXT"), 0);
    int next = -1;
    assert_int_equal(fat_open(vol, "/d/DUP.TXT", FAT_O_READ, &file), 0);
    assert_int_equal(fat_read(file, &next, sizeof(next)), sizeof(next));
    assert_int_equal(fat_close(file), 0);
    assert_int_equal(next, 1);
    assert_int_equal(fat_unlink(vol, "/d/dup.txt"), 0);
    assert_int_equal(fat_open(vol, "/d/DUP.TXT", FAT_O_READ, &file), 0);
    assert_int_equal(fat_read(file, &next, sizeof(next)), sizeof(next));
    assert_int_equal(fat_close(file), 0);
    assert_int_equal(next, 2);
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
    ramdisk_free(&disk);
}

/* Looking files up by their full paths in a tree deeper than a few levels keeps every
 * directory of the path indexed.  With four indexes kept, a walk of a tree eight deep rebuilt
 * each level's index at every lookup (the least recently used one was always the next needed):
 * rayfs get -r of 4,000 files eight levels deep took 5.6 s, and put -r 11 s. */
static void test_deep_tree_lookups_read_each_directory_once(void **state)
{
    enum { LEVELS = 12, FILES = 60 };
    setup_volume(64 * 1024 * 1024, 32, 0, 512);
    char path[512] = "", file_path[600];
    for (int level = 0; level < LEVELS; level++) {
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "/level %d", level);
        assert_int_equal(fat_mkdir(vol, path), 0);
        for (int i = 0; i < FILES; i++) {
            snprintf(file_path, sizeof(file_path), "%s/a long file name %d.txt", path, i);
            put_file(file_path, &i, sizeof(i));
        }
    }
    assert_int_equal(fat_unmount(vol), 0);
    mount_volume();
    uint64_t reads = disk.reads;
    path[0] = 0;
    struct fat_stat st;
    for (int level = 0; level < LEVELS; level++) {
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "/level %d", level);
        for (int i = 0; i < FILES; i++) {
            snprintf(file_path, sizeof(file_path), "%s/a long file name %d.txt", path, i);
            assert_int_equal(fat_stat(vol, file_path, &st), 0);
            assert_int_equal(st.size, sizeof(i));
        }
    }
    /* each level's directory is 12 sectors (183 entries) and the FAT a few more: 146 reads
     * (four indexes kept made it 16,918) */
    assert_in_range(disk.reads - reads, LEVELS * 12, LEVELS * 16);
    teardown_volume();
}

static unsigned indexes_kept(uint64_t *entries)
{
    unsigned kept = 0;
    *entries = 0;
    for (int i = 0; i < FAT_INDEX_DIRS; i++) {
        if (vol->indexes[i].valid) {
            kept++;
            *entries += vol->indexes[i].capacity;
        }
    }
    return kept;
}

/* The indexes kept hold at most a budget of entries: older ones are dropped for a new one, but
 * never the one used last (a rename looks up in one directory and adds in another; in a path
 * lookup, the parent), so a budget smaller than one directory keeps two: the root's and the
 * last directory's.  Lookups answer the same whatever is kept. */
static void test_index_entry_budget(void **state)
{
    enum { DIRS = 5, FILES = 200 };
    setup_volume(64 * 1024 * 1024, 32, 0, 512);
    char path[64];
    for (int d = 0; d < DIRS; d++) {
        snprintf(path, sizeof(path), "/d%d", d);
        assert_int_equal(fat_mkdir(vol, path), 0);
        for (int i = 0; i < FILES; i++) {
            snprintf(path, sizeof(path), "/d%d/f%d.bin", d, i);
            put_file(path, &i, sizeof(i));
        }
    }
    const struct {
        uint32_t budget;
        unsigned kept;    /* after lookups in each directory in turn */
        uint64_t entries; /* their room: 64 the root's, 256 each directory's */
    } cases[] = {{FAT_INDEX_ENTRY_BUDGET, DIRS + 1, 64 + DIRS * 256},
                 {600, 3, 64 + 2 * 256},
                 {100, 2, 64 + 256}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        assert_int_equal(fat_unmount(vol), 0);
        mount_volume();
        vol->index_entry_budget = cases[c].budget;
        struct fat_stat st;
        for (int d = 0; d < DIRS; d++) {
            for (int i = 0; i < FILES; i += 7) {
                snprintf(path, sizeof(path), "/D%d/F%d.BIN", d, i);
                assert_int_equal(fat_stat(vol, path, &st), 0);
                assert_int_equal(st.size, sizeof(i));
            }
            snprintf(path, sizeof(path), "/d%d/f%d.bin", d, FILES);
            assert_int_equal(fat_stat(vol, path, &st), -ENOENT);
        }
        uint64_t entries;
        assert_int_equal(indexes_kept(&entries), cases[c].kept);
        assert_int_equal(entries, cases[c].entries);
    }
    /* a move between directories under the smallest budget */
    assert_int_equal(fat_rename(vol, "/d0/f1.bin", "/d4/moved.bin"), 0);
    assert_int_equal(fat_rename(vol, "/d3/f2.bin", "/d1/moved.bin"), 0);
    int one = 1, two = 2;
    expect_file("/d4/moved.bin", &one, sizeof(one));
    expect_file("/d1/moved.bin", &two, sizeof(two));
    teardown_volume();
}

static void test_fat32_fsinfo(void **state)
{
    setup_volume(64 * 1024 * 1024, 32, 0, 512);
    uint8_t data[5000];
    memset(data, 0x5a, sizeof(data));
    put_file("/f", data, sizeof(data));
    assert_int_equal(get_le32(disk.bytes + 512 + 488), 0xffffffff); /* unknown while dirty */
    struct fat_statfs fs;
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
    assert_int_equal(get_le32(disk.bytes + 512 + 488), fs.free_clusters);
    assert_int_equal(fs.free_clusters, fs.cluster_count - 1 - 10);
    check_clean();
    ramdisk_free(&disk);
}

static void count_findings(void *context, const char *message)
{
    if (strstr(message, "FSInfo"))
        ++*(int *)context;
}

/* FSInfo is a hint: zeroed or wrong signatures mount with the free count counted, the sector
 * is never written, and the check reports it as a warning. */
static void test_fat32_fsinfo_bad_signatures(void **state)
{
    static const unsigned offsets[] = {0, 484, 508};
    for (size_t i = 0; i < 3; i++) {
        format(64 * 1024 * 1024, 32, 0, 512);
        memset(disk.bytes + 512 + offsets[i], 0, 4);
        uint8_t fsinfo[512];
        memcpy(fsinfo, disk.bytes + 512, sizeof(fsinfo));
        mount_volume();
        struct fat_statfs fs;
        assert_int_equal(fat_statfs(vol, &fs), 0);
        assert_true(fs.free_count_hint_bad);
        assert_int_equal(fs.free_clusters, fs.cluster_count - 1);
        put_file("/f", "abc", 3);
        assert_int_equal(fat_statfs(vol, &fs), 0);
        assert_int_equal(fs.free_clusters, fs.cluster_count - 2);
        assert_int_equal(fat_unmount(vol), 0);
        vol = NULL;
        assert_memory_equal(disk.bytes + 512, fsinfo, sizeof(fsinfo));
        struct fat_check_result result;
        int findings = 0;
        assert_int_equal(fat_check(&disk.io, count_findings, &findings, &result), 0);
        assert_int_equal(result.errors, 0);
        assert_int_equal(result.warnings, 1);
        assert_int_equal(findings, 1);
        ramdisk_free(&disk);
    }
}

static void set_fat16(uint32_t cluster, uint16_t value)
{
    uint32_t reserved = get_le16(disk.bytes + 14), fat_sectors = get_le16(disk.bytes + 22);
    for (int copy = 0; copy < 2; copy++)
        put_le16(disk.bytes + 512 * (reserved + copy * fat_sectors) + cluster * 2, value);
}

static void test_damaged_chains(void **state)
{
    setup_volume(8 * 1024 * 1024, 16, 0, 1024);
    uint8_t data[10000];
    memset(data, 1, sizeof(data));
    put_file("/one", data, sizeof(data));
    put_file("/two", data, sizeof(data));
    struct fat_stat one, two;
    assert_int_equal(fat_stat(vol, "/one", &one), 0);
    assert_int_equal(fat_stat(vol, "/two", &two), 0);

    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
    check_clean();
    /* a loop: the second cluster of /one points back to its first */
    set_fat16(one.first_cluster + 1, (uint16_t)one.first_cluster);
    struct fat_check_result result;
    assert_int_equal(fat_check(&disk.io, NULL, NULL, &result), 0);
    assert_true(result.errors > 0);
    mount_volume();
    struct fat_file *f;
    uint8_t buffer[20000];
    /* a reader is refused (it would get a short copy); a writer may open it, and its reads
     * stop where the chain does */
    assert_int_equal(fat_open(vol, "/one", FAT_O_READ, &f), -EUCLEAN);
    assert_int_equal(fat_open(vol, "/one", FAT_O_READ | FAT_O_WRITE, &f), 0);
    assert_true(fat_read(f, buffer, sizeof(buffer)) < (ssize_t)sizeof(data));
    fat_close(f);
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
    /* a cross-link: /two's chain joins /one's */
    set_fat16(one.first_cluster + 1, (uint16_t)(one.first_cluster + 2));
    set_fat16(two.first_cluster, (uint16_t)(one.first_cluster + 1));
    assert_int_equal(fat_check(&disk.io, NULL, NULL, &result), 0);
    assert_true(result.errors > 0);
    /* a chain leaving the volume */
    set_fat16(two.first_cluster, 0xfff0);
    assert_int_equal(fat_check(&disk.io, NULL, NULL, &result), 0);
    assert_true(result.errors > 0);
    ramdisk_free(&disk);
}

/* Writes FAT entry cluster of the first FAT copy straight into the image (FAT12 packs two
 * entries in three bytes, so some straddle two sectors). */
static void poke_fat_entry(unsigned type, uint32_t cluster, uint32_t value)
{
    uint8_t *fat = disk.bytes + 512 * get_le16(disk.bytes + 14);
    if (type == 12) {
        uint8_t *p = fat + cluster + cluster / 2;
        uint16_t pair = get_le16(p);
        pair = cluster & 1 ? (uint16_t)((pair & 0x000f) | value << 4)
                           : (uint16_t)((pair & 0xf000) | (value & 0xfff));
        put_le16(p, pair);
    } else if (type == 16) {
        put_le16(fat + 2 * cluster, (uint16_t)value);
    } else {
        put_le32(fat + 4 * cluster, value);
    }
}

/* The whole-FAT passes (the free count, check's cluster count) read the FAT a sector at a
 * time: every entry must still count, the FAT12 ones across sector boundaries included. */
static void test_counts_see_every_fat_entry(void **state)
{
    static const struct {
        unsigned type;
        uint64_t bytes;
        uint32_t cluster;
    } volumes[] = {
        {12, 2 * 1024 * 1024, 512}, {16, 8 * 1024 * 1024, 512}, {32, 64 * 1024 * 1024, 512}};
    for (size_t v = 0; v < 3; v++) {
        unsigned type = volumes[v].type;
        setup_volume(volumes[v].bytes, type, 0, volumes[v].cluster);
        struct fat_statfs fs;
        assert_int_equal(fat_statfs(vol, &fs), 0);
        assert_int_equal(fat_unmount(vol), 0);
        vol = NULL;
        uint32_t end = type == 12 ? 0xfff : type == 16 ? 0xffff : 0x0fffffff;
        uint32_t bad = end - 8, free_count = 0, used = 0;
        for (uint32_t c = 2; c < fs.cluster_count + 2; c++) {
            uint32_t value = c % 3 == 0 ? end : c % 7 == 0 ? bad : c % 5 == 0 ? c + 1 : 0;
            if (type == 32 && c == 2)
                value = end; /* the root directory */
            poke_fat_entry(type, c, value);
            free_count += value == 0;
            used += value != 0 && value != bad;
        }
        if (type == 32)
            put_le32(disk.bytes + 512 + 488, 0xffffffff); /* FSInfo: count unknown */
        struct fat_check_result result;
        assert_int_equal(fat_check(&disk.io, NULL, NULL, &result), 0);
        assert_int_equal(result.free_clusters, free_count);
        assert_int_equal(result.used_clusters, used);
        assert_int_equal(result.lost_clusters, used - (type == 32));
        assert_int_equal(fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, NULL, &vol), 0);
        assert_int_equal(fat_statfs(vol, &fs), 0);
        assert_int_equal(fs.free_clusters, free_count);
        assert_int_equal(fat_unmount(vol), 0);
        vol = NULL;
        ramdisk_free(&disk);
    }
}

static void test_append_and_overwrite(void **state)
{
    setup_volume(8 * 1024 * 1024, 12, 4096, 0);
    struct fat_file *f;
    put_file("/log", "hello ", 6);
    assert_int_equal(fat_open(vol, "/log", FAT_O_WRITE | FAT_O_APPEND, &f), 0);
    assert_int_equal(fat_write(f, "world", 5), 5);
    fat_close(f);
    expect_file("/log", "hello world", 11);
    assert_int_equal(fat_open(vol, "/log", FAT_O_WRITE | FAT_O_READ, &f), 0);
    assert_int_equal(fat_write(f, "HE", 2), 2);
    fat_close(f);
    expect_file("/log", "HEllo world", 11);
    put_file("/log", "new", 3);
    expect_file("/log", "new", 3);
    assert_int_equal(fat_open(vol, "/log", FAT_O_READ, &f), 0);
    assert_int_equal(fat_write(f, "x", 1), -EBADF);
    fat_close(f);
    teardown_volume();
}

static void test_reserve_and_commit(void **state)
{
    setup_volume(16 * 1024 * 1024, 16, 0, 2048);
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/direct", FAT_O_WRITE | FAT_O_READ | FAT_O_CREATE, &f), 0);
    assert_int_equal(fat_file_reserve(f, 10000, false), 0);
    struct fat_stat st;
    assert_int_equal(fat_file_stat(f, &st), 0);
    assert_int_equal(st.size, 0); /* reserved, not yet part of the file */
    struct fat_extent extents[8];
    int count = fat_file_extents(f, extents, 8);
    assert_true(count >= 1);
    uint64_t covered = 0;
    for (int i = 0; i < count; i++)
        for (uint64_t b = 0; b < extents[i].block_count; b++, covered += 512)
            memset(disk.bytes + (extents[i].lba + b) * 512, (int)(covered / 512), 512);
    assert_true(covered >= 10000);
    assert_int_equal(fat_file_commit(f, covered + 1), -EINVAL);
    assert_int_equal(fat_file_commit(f, 10000), 0);
    uint8_t buffer[10000];
    assert_int_equal(fat_read(f, buffer, sizeof(buffer)), sizeof(buffer));
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buffer[i], (uint8_t)(i / 512));
    assert_int_equal(fat_close(f), 0);
    teardown_volume();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkfs_types_by_size),
        cmocka_unit_test(test_boot_sector_validation),
        cmocka_unit_test(test_long_name_255),
        cmocka_unit_test(test_aliases_and_case),
        cmocka_unit_test(test_alias_tails_many),
        cmocka_unit_test(test_lowercase_flags_on_disk),
        cmocka_unit_test(test_readdir_full_directory_without_end_marker),
        cmocka_unit_test(test_unlink_frees_chain),
        cmocka_unit_test(test_run_map_and_seek),
        cmocka_unit_test(test_allocate_contiguous_and_sparse_write),
        cmocka_unit_test(test_directories_and_rename),
        cmocka_unit_test(test_dirty_bits),
        cmocka_unit_test(test_fat32_fsinfo),
        cmocka_unit_test(test_fat32_fsinfo_bad_signatures),
        cmocka_unit_test(test_damaged_chains),
        cmocka_unit_test(test_counts_see_every_fat_entry),
        cmocka_unit_test(test_append_and_overwrite),
        cmocka_unit_test(test_reserve_and_commit),
        cmocka_unit_test(test_mount_reads_in_two_requests),
        cmocka_unit_test(test_make_writable),
        cmocka_unit_test(test_directory_of_one_repeated_name),
        cmocka_unit_test(test_deep_tree_lookups_read_each_directory_once),
        cmocka_unit_test(test_index_entry_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
