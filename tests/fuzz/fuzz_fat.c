/* libFuzzer: an arbitrary image is mounted and everything on it is walked and read; it is
 * checked; its partition table is parsed; and a copy is modified (create, write, truncate,
 * rename, unlink, mkdir, rmdir).  Nothing may crash, hang or read out of bounds. */
#include <rayos/errno.h>
#include <rayos/fat.h>
#include <rayos/partition.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/ramdisk.h"

#define WALK_DEPTH   6
#define WALK_ENTRIES 300
#define READ_LIMIT   (1 << 20)

extern int host_log_level;

static void walk(struct fat_volume *vol, const char *path, int depth, int *budget)
{
    struct fat_dir *dir;
    if (depth > WALK_DEPTH || fat_opendir(vol, path, &dir) != 0)
        return;
    static struct fat_dirent entry;
    char child[1024];
    while (*budget > 0 && fat_readdir(dir, &entry) == 1) {
        (*budget)--;
        snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", entry.name);
        struct fat_stat st;
        fat_stat(vol, child, &st);
        if (entry.stat.is_directory) {
            walk(vol, child, depth + 1, budget);
            continue;
        }
        struct fat_file *file;
        if (fat_open(vol, child, FAT_O_READ, &file) != 0)
            continue;
        static uint8_t buffer[65536];
        size_t total = 0;
        ssize_t n;
        while (total < READ_LIMIT && (n = fat_read(file, buffer, sizeof(buffer))) > 0)
            total += (size_t)n;
        fat_seek(file, (int64_t)(total / 2), FAT_SEEK_SET);
        fat_read(file, buffer, 100);
        struct fat_extent extents[8];
        fat_file_extents(file, extents, 8);
        fat_close(file);
    }
    fat_closedir(dir);
}

static void modify(struct fat_volume *vol)
{
    struct fat_file *file;
    static const uint8_t data[5000] = {1, 2, 3};
    if (fat_open(vol, "/fuzz new file.txt", FAT_O_WRITE | FAT_O_CREATE, &file) == 0) {
        fat_write(file, data, sizeof(data));
        fat_truncate(file, 100);
        fat_close(file);
    }
    fat_mkdir(vol, "/fuzzdir");
    fat_rmdir(vol, "/fuzzdir/.");
    fat_rename(vol, "/fuzzdir/..", "/fuzzdir/x");
    fat_set_label(vol, "FUZZ LABEL");
    fat_rename(vol, "/fuzz new file.txt", "/fuzzdir/moved");
    fat_unlink(vol, "/fuzzdir/moved");
    fat_rmdir(vol, "/fuzzdir");
    struct fat_dir *dir;
    static struct fat_dirent entry;
    if (fat_opendir(vol, "/", &dir) == 0) {
        char path[800];
        for (int i = 0; i < 3 && fat_readdir(dir, &entry) == 1; i++) {
            snprintf(path, sizeof(path), "/%s", entry.name);
            if (i == 0 && fat_open(vol, path, FAT_O_WRITE | FAT_O_APPEND, &file) == 0) {
                fat_write(file, data, 700);
                fat_close(file);
            } else if (i == 1) {
                fat_unlink(vol, path);
            }
        }
        fat_closedir(dir);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    host_log_level = -1;
    if (size < 512 || size > (8u << 20))
        return 0;
    struct ramdisk disk;
    ramdisk_init(&disk, 512, size & ~(size_t)511);
    memcpy(disk.bytes, input, disk.size);

    static struct partition_table table;
    partition_table_read(&disk.io, &table);
    for (unsigned i = 0; i < table.count && i < PARTITION_MAX; i++)
        partition_type_name(&table.entries[i]);

    struct fat_check_result result;
    fat_check(&disk.io, NULL, NULL, &result);

    struct fat_volume *vol;
    if (fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, NULL, &vol) == 0) {
        struct fat_statfs fs;
        fat_statfs(vol, &fs);
        int budget = WALK_ENTRIES;
        walk(vol, "/", 0, &budget);
        fat_unmount(vol);
    }
    if (fat_mount(&disk.io, 0, NULL, &vol) == 0) {
        modify(vol);
        fat_unmount(vol);
        fat_check(&disk.io, NULL, NULL, &result);
    }
    ramdisk_free(&disk);
    return 0;
}
