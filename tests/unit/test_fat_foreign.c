/* FAT library against what other systems write: 8.3 names RayOS would never make, long names
 * Linux would not make, labels, few-cluster FAT32, and POSIX path corner cases. */
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

#include "ramdisk.h"

static struct ramdisk disk;
static struct fat_volume *vol;

/* An 8 MiB FAT16 volume with 512-byte sectors. */
static void format16(void)
{
    ramdisk_init(&disk, 512, 8 * 1024 * 1024);
    struct fat_mkfs_options options = {.fat_type = 16, .volume_id = 7};
    assert_int_equal(fat_mkfs(&disk.io, &options), 0);
}

static void mount_rw(void)
{
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
}

static void unmount(void)
{
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
}

static uint8_t *root_slot(unsigned index)
{
    uint32_t reserved = get_le16(disk.bytes + 14), fat_sectors = get_le16(disk.bytes + 22);
    return disk.bytes + 512 * (reserved + 2 * fat_sectors) + 32 * index;
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
    uint8_t buffer[256];
    assert_int_equal(fat_read(f, buffer, sizeof(buffer)), (ssize_t)size);
    assert_memory_equal(buffer, data, size);
    assert_int_equal(fat_close(f), 0);
}

static uint8_t checksum(const uint8_t *short_name)
{
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + short_name[i]);
    return sum;
}

/* Writes a one-slot long-name run (up to 13 units) at slot index for the 8.3 name after it. */
static void put_lfn(unsigned index, const uint16_t *units, size_t count, const uint8_t *short_name)
{
    static const uint8_t offsets[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
    uint8_t *raw = root_slot(index);
    memset(raw, 0, 32);
    raw[0] = 0x41;
    raw[11] = 0x0f;
    raw[13] = checksum(short_name);
    for (size_t i = 0; i < 13; i++)
        put_le16(raw + offsets[i], i < count ? units[i] : i == count ? 0 : 0xffff);
}

struct listing {
    char names[16][64];
    int count;
};

static void list_root(struct listing *out)
{
    struct fat_dir *dir;
    struct fat_dirent entry;
    out->count = 0;
    assert_int_equal(fat_opendir(vol, "/", &dir), 0);
    while (fat_readdir(dir, &entry) == 1 && out->count < 16)
        snprintf(out->names[out->count++], 64, "%.63s", entry.name);
    fat_closedir(dir);
}

/* What ls lists must open: 8.3 names with characters RayOS refuses for new names (">", ":",
 * a space, lower case, OEM bytes, control bytes), as other systems write them. */
static void test_listed_short_names_open(void **state)
{
    format16();
    mount_rw();
    put_file("/SEED.TXT", "seed", 4);
    unmount();
    static const char *raw_names[] = {"N>ME4   BIN",   "A:B     TXT",    "A B     TXT",
                                      "lower   txt",   "CAF\xe9    TXT", "C\x01TRL   TXT",
                                      "\x05LPHA   TXT"};
    uint8_t *seed = root_slot(0);
    for (unsigned i = 0; i < 7; i++) {
        uint8_t *raw = root_slot(1 + i);
        memcpy(raw, seed, 32);
        memcpy(raw, raw_names[i], 11);
    }
    /* the seed's cluster is now shared: only the names matter here */
    assert_int_equal(fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, NULL, &vol), 0);
    struct listing listing;
    list_root(&listing);
    assert_int_equal(listing.count, 8);
    assert_string_equal(listing.names[1], "N>ME4.BIN");
    assert_string_equal(listing.names[2], "A:B.TXT");
    assert_string_equal(listing.names[3], "A B.TXT");
    assert_string_equal(listing.names[4], "lower.txt");
    assert_string_equal(listing.names[5], "CAF\xc3\xa9.TXT"); /* Latin-1 as UTF-8 */
    assert_string_equal(listing.names[6], "C_TRL.TXT");
    assert_string_equal(listing.names[7], "\xc3\xa5LPHA.TXT");
    for (int i = 0; i < listing.count; i++) {
        char path[80];
        snprintf(path, sizeof(path), "/%s", listing.names[i]);
        struct fat_stat st;
        assert_int_equal(fat_stat(vol, path, &st), 0);
        expect_file(path, "seed", 4);
    }
    /* case-insensitively too, as every other name */
    expect_file("/n>me4.bin", "seed", 4);
    expect_file("/LOWER.TXT", "seed", 4);
    unmount();
    ramdisk_free(&disk);
}

/* Long names Linux's vfat would not have made fall back to the 8.3 name, which opens; removing
 * the entry removes its run too. */
static void test_invalid_long_names_fall_back(void **state)
{
    format16();
    mount_rw();
    put_file("/SEED.TXT", "seed", 4);
    unmount();
    static const uint16_t dotdot[] = {'.', '.'};
    static const uint16_t slash[] = {'a', '/', 'b'};
    static const uint16_t escape[] = {'x', 0x1b, '[', '2', 'J'};
    static const uint16_t surrogate[] = {'s', 0xd800, 't'};
    static const uint16_t colon[] = {'c', ':', 'd'};
    static const uint16_t good[] = {'g', 'o', 'o', 'd', ' ', 'n', 'a', 'm', 'e', '.'};
    const uint16_t *names[] = {dotdot, slash, escape, surrogate, colon, good};
    const size_t lengths[] = {2, 3, 5, 3, 3, 10};
    uint8_t seed[32];
    memcpy(seed, root_slot(0), 32);
    memset(root_slot(0), 0, 32);
    for (unsigned i = 0; i < 6; i++) {
        uint8_t short_name[12];
        snprintf((char *)short_name, sizeof(short_name), "FALLBK%u TXT", i);
        put_lfn(2 * i, names[i], lengths[i], short_name);
        memcpy(root_slot(2 * i + 1), seed, 32);
        memcpy(root_slot(2 * i + 1), short_name, 11);
    }
    mount_rw();
    struct listing listing;
    list_root(&listing);
    assert_int_equal(listing.count, 6);
    for (unsigned i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof(want), "FALLBK%u.TXT", i);
        assert_string_equal(listing.names[i], want);
    }
    assert_string_equal(listing.names[5], "good name."); /* valid for Linux: kept */
    expect_file("/FALLBK1.TXT", "seed", 4);
    expect_file("/good name.", "seed", 4);
    struct fat_stat st;
    assert_int_equal(fat_stat(vol, "/c:d", &st), -ENOENT); /* the invalid name does not open */
    /* unlinking the fallback name frees its long-name slot as well */
    assert_int_equal(fat_unlink(vol, "/FALLBK2.TXT"), 0);
    unmount();
    assert_int_equal(root_slot(4)[0], 0xe5);
    assert_int_equal(root_slot(5)[0], 0xe5);
    ramdisk_free(&disk);
}

/* ".", ".." and a trailing slash in the library, as POSIX and Linux's vfat answer them. */
static void test_path_corner_cases(void **state)
{
    format16();
    mount_rw();
    assert_int_equal(fat_mkdir(vol, "/D"), 0);
    assert_int_equal(fat_mkdir(vol, "/D/E/"), 0);
    put_file("/F", "f", 1);
    assert_int_equal(fat_rmdir(vol, "/D/E/."), -EINVAL);
    assert_int_equal(fat_rmdir(vol, "/D/E/.."), -ENOTEMPTY);
    assert_int_equal(fat_rmdir(vol, "/"), -EBUSY);
    assert_int_equal(fat_rmdir(vol, "/F/"), -ENOTDIR);
    assert_int_equal(fat_unlink(vol, "/D/."), -EISDIR);
    assert_int_equal(fat_unlink(vol, "/F/"), -ENOTDIR);
    assert_int_equal(fat_unlink(vol, "/F/."), -ENOTDIR);
    assert_int_equal(fat_mkdir(vol, "/D/."), -EEXIST);
    assert_int_equal(fat_mkdir(vol, "/D/.."), -EEXIST);
    assert_int_equal(fat_mkdir(vol, "/"), -EEXIST);
    struct fat_stat st, d;
    assert_int_equal(fat_stat(vol, "/D", &d), 0);
    assert_int_equal(fat_stat(vol, "/D/E/..", &st), 0);
    assert_int_equal(st.first_cluster, d.first_cluster);
    assert_int_equal(fat_stat(vol, "/D/E/../../F", &st), 0);
    assert_false(st.is_directory);
    assert_int_equal(fat_stat(vol, "/F/..", &st), -ENOTDIR);
    assert_int_equal(fat_stat(vol, "/NOPE/../F", &st), -ENOENT);
    assert_int_equal(fat_stat(vol, "/F/", &st), -ENOTDIR);
    assert_int_equal(fat_stat(vol, "/..", &st), 0);
    assert_true(st.is_directory);
    struct fat_file *f;
    assert_int_equal(fat_open(vol, "/NEW/", FAT_O_WRITE | FAT_O_CREATE, &f), -EISDIR);
    assert_int_equal(fat_open(vol, "/F/", FAT_O_READ, &f), -ENOTDIR);
    assert_int_equal(fat_open(vol, "/D/.", FAT_O_READ, &f), -EISDIR);
    assert_int_equal(fat_rename(vol, "/D/E/.", "/X"), -EBUSY);
    assert_int_equal(fat_rename(vol, "/F", "/D/."), -EEXIST);
    assert_int_equal(fat_rename(vol, "/F", "/X/"), -ENOTDIR);
    assert_int_equal(fat_rename(vol, "/F/", "/X"), -ENOTDIR);
    assert_int_equal(fat_rename(vol, "/D/E/", "/D/G/"), 0);
    assert_int_equal(fat_stat(vol, "/D/G", &st), 0);
    /* nothing else changed */
    assert_int_equal(fat_stat(vol, "/D/E", &st), -ENOENT);
    assert_int_equal(fat_stat(vol, "/F", &st), 0);
    assert_int_equal(fat_stat(vol, "/NEW", &st), -ENOENT);
    unmount();
    struct fat_check_result result;
    assert_int_equal(fat_check(&disk.io, NULL, NULL, &result), 0);
    assert_int_equal(result.errors, 0);
    ramdisk_free(&disk);
}

/* A long name of 255 UTF-16 units takes up to 765 bytes: creatable and found. */
static void test_long_multibyte_name(void **state)
{
    format16();
    mount_rw();
    char path[800] = "/";
    for (int i = 0; i < 255; i++)
        strcat(path, "\xe2\x82\xac"); /* U+20AC, 3 bytes */
    put_file(path, "euro", 4);
    expect_file(path, "euro", 4);
    strcat(path, "x");
    struct fat_file *f;
    assert_int_equal(fat_open(vol, path, FAT_O_WRITE | FAT_O_CREATE, &f), -ENAMETOOLONG);
    unmount();
    ramdisk_free(&disk);
}

static void report(void *context, const char *message)
{
    char *all = context;
    strncat(all, message, 4000 - strlen(all));
    strncat(all, "\n", 4000 - strlen(all));
}

/* The label is the root directory's entry; setting it writes both places; check compares. */
static void test_label(void **state)
{
    format16();
    mount_rw();
    struct fat_statfs fs;
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_string_equal(fs.label, "");
    assert_int_equal(fat_set_label(vol, "Data 1"), 0);
    assert_int_equal(fat_set_label(vol, "a.b"), -EINVAL);
    assert_int_equal(fat_set_label(vol, "TWELVE CHARS"), -EINVAL);
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_string_equal(fs.label, "Data 1");
    put_file("/AFTER.TXT", "x", 1); /* a new entry does not land on the label */
    unmount();
    assert_memory_equal(disk.bytes + 43, "Data 1     ", 11);
    assert_memory_equal(root_slot(0), "Data 1     ", 11);
    assert_int_equal(root_slot(0)[11], 0x08);
    assert_memory_equal(root_slot(1), "AFTER   TXT", 11);
    mount_rw();
    struct listing listing;
    list_root(&listing);
    assert_int_equal(listing.count, 1); /* the label is not a file */
    assert_int_equal(fat_set_label(vol, ""), 0);
    assert_int_equal(fat_statfs(vol, &fs), 0);
    assert_string_equal(fs.label, "");
    unmount();
    assert_memory_equal(disk.bytes + 43, "NO NAME    ", 11);
    assert_int_equal(root_slot(0)[0], 0xe5);
    /* a boot-sector label without a root entry: reported, as fsck.fat does */
    memcpy(disk.bytes + 43, "OLD        ", 11);
    char findings[4096] = "";
    struct fat_check_result result;
    assert_int_equal(fat_check(&disk.io, report, findings, &result), 0);
    assert_non_null(strstr(findings, "label \"OLD\" in the boot sector but none in the root"));
    assert_int_equal(result.errors, 0);
    ramdisk_free(&disk);
}

/* check reports what fsck.fat reports about names: invalid 8.3 names (unprintable bytes shown
 * escaped) and duplicates, here a long name used twice (case-folded) and an 8.3 name used
 * twice. */
static void test_check_names(void **state)
{
    format16();
    mount_rw();
    put_file("/SEED.TXT", "seed", 4);
    unmount();
    uint8_t seed[32];
    memcpy(seed, root_slot(0), 32);
    static const uint16_t first[] = {'S', 'a', 'm', 'e', ' ', 'N', 'a', 'm', 'e'};
    static const uint16_t second[] = {'s', 'A', 'M', 'E', ' ', 'n', 'A', 'M', 'E'};
    put_lfn(0, first, 9, (const uint8_t *)"SAMENA~1   ");
    memcpy(root_slot(1), seed, 32);
    memcpy(root_slot(1), "SAMENA~1   ", 11);
    put_lfn(2, second, 9, (const uint8_t *)"SAMENA~2   ");
    memcpy(root_slot(3), seed, 32);
    memcpy(root_slot(3), "SAMENA~2   ", 11);
    memcpy(root_slot(4), seed, 32);
    memcpy(root_slot(4), "TWICE   TXT", 11);
    memcpy(root_slot(5), seed, 32);
    memcpy(root_slot(5), "TWICE   TXT", 11);
    memcpy(root_slot(6), seed, 32);
    memcpy(root_slot(6), "A*B     TXT", 11);
    memcpy(root_slot(7), seed, 32);
    memcpy(root_slot(7), "C\x01\\D    \xffTX", 11);
    char findings[4096] = "";
    struct fat_check_result result;
    assert_int_equal(fat_check(&disk.io, report, findings, &result), 0);
    assert_non_null(strstr(findings, "error: sAME nAME: duplicate name"));
    assert_non_null(strstr(findings, "error: TWICE.TXT: duplicate name"));
    assert_non_null(strstr(findings, "error: A*B.TXT: invalid 8.3 name \"A*B     .TXT\""));
    /* bytes a terminal would not show, and the backslash that introduces them, as \xHH */
    assert_non_null(strstr(findings, "invalid 8.3 name \"C\\x01\\x5cD    .\\xffTX\""));
    assert_null(strstr(findings, "Same Name: duplicate"));
    ramdisk_free(&disk);
}

/* A directory whose chain breaks (or runs past a truncated device) is indexed up to the damage:
 * names before it are found, others report the damage, and neither rescans the directory
 * (fuzzing found truncated images where every lookup did). */
static void test_damaged_directory_lookups(void **state)
{
    format16();
    mount_rw();
    assert_int_equal(fat_mkdir(vol, "/D"), 0);
    char path[64];
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof(path), "/D/F%03d", i);
        put_file(path, "x", 1);
    }
    struct fat_stat d;
    assert_int_equal(fat_stat(vol, "/D", &d), 0);
    unmount();
    uint32_t reserved = get_le16(disk.bytes + 14), fat_sectors = get_le16(disk.bytes + 22);
    for (uint32_t copy = 0; copy < 2; copy++)
        put_le16(disk.bytes + 512 * (reserved + copy * fat_sectors) + 2 * d.first_cluster, 0);
    assert_int_equal(fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, NULL, &vol), 0);
    struct fat_stat st;
    assert_int_equal(fat_stat(vol, "/D/F001", &st), 0);
    assert_int_equal(fat_stat(vol, "/D/F199", &st), -EUCLEAN);
    uint64_t reads = disk.reads;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(fat_stat(vol, "/D/nothing", &st), -EUCLEAN);
        assert_int_equal(fat_stat(vol, "/D/F002", &st), 0);
    }
    assert_true(disk.reads - reads < 5);
    unmount();
    ramdisk_free(&disk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_short_names_open),
        cmocka_unit_test(test_invalid_long_names_fall_back),
        cmocka_unit_test(test_path_corner_cases),
        cmocka_unit_test(test_long_multibyte_name),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_check_names),
        cmocka_unit_test(test_damaged_directory_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
