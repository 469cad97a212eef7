/* libFuzzer: an arbitrary disk (a sparse description, tests/fuzz/sparse_disk.h, so FAT32
 * volumes of any size are a few kilobytes of input) is checked, mounted and everything on it
 * walked and read; its partition table is parsed and the first partition gets the same
 * treatment; then the volume is modified (create, write, truncate, rename, unlink, mkdir,
 * rmdir) and checked again.  Nothing may crash, hang or read out of bounds, and what statfs
 * reports must be consistent. */
#include <rayos/errno.h>
#include <rayos/fat.h>
#include <rayos/partition.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/sparse_disk.h"

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

static void check_statfs(struct fat_volume *vol)
{
    struct fat_statfs fs;
    if (fat_statfs(vol, &fs) != 0)
        return;
    if (fs.free_clusters > fs.cluster_count ||
        (fs.fat_type != 12 && fs.fat_type != 16 && fs.fat_type != 32))
        abort();
}

/* What the library does with one volume: check, read-only walk, modify and check again; bits
 * 2-3 of the first input byte pick one of these (0: all), so the fuzzer spends its time on one
 * part instead of paying for every cluster-wide pass each run.  Bit 4 makes the volume to
 * modify writable the root probe's way: mounted read-only, then fat_make_writable. */
enum { DO_ALL, DO_CHECK, DO_WALK, DO_MODIFY };

static int mount_writable(const struct block_io *io, bool made_writable, struct fat_volume **vol)
{
    if (!made_writable)
        return fat_mount(io, 0, NULL, vol);
    int err = fat_mount(io, FAT_MOUNT_READ_ONLY, NULL, vol);
    if (err == 0 && (err = fat_make_writable(*vol)) != 0)
        fat_unmount(*vol);
    return err;
}

static void exercise(const struct block_io *io, unsigned what, bool made_writable)
{
    struct fat_check_result result;
    if (what == DO_ALL || what == DO_CHECK)
        fat_check(io, NULL, NULL, &result);

    struct fat_volume *vol;
    if ((what == DO_ALL || what == DO_WALK) &&
        fat_mount(io, FAT_MOUNT_READ_ONLY, NULL, &vol) == 0) {
        check_statfs(vol);
        int budget = WALK_ENTRIES;
        walk(vol, "/", 0, &budget);
        fat_unmount(vol);
    }
    if ((what == DO_ALL || what == DO_MODIFY) && mount_writable(io, made_writable, &vol) == 0) {
        modify(vol);
        check_statfs(vol);
        fat_unmount(vol);
        fat_check(io, NULL, NULL, &result);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    static struct sparse_disk disk;
    static struct partition_table table;
    host_log_level = -1;
    if (!sparse_disk_init(&disk, input, size))
        return 0;
    unsigned what = (input[0] >> 2) & 3;
    bool made_writable = input[0] & 0x10;
    exercise(&disk.io, what, made_writable);
    if (partition_table_read(&disk.io, &table) == 0 && table.count > 0) {
        for (unsigned i = 0; i < table.count; i++)
            partition_type_name(&table.entries[i]);
        struct block_io_slice slice;
        struct block_io part;
        block_io_slice_init(&slice, &part, &disk.io, table.entries[0].start_lba,
                            table.entries[0].block_count);
        exercise(&part, what, made_writable);
    }
    return 0;
}
