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
#include <strings.h>

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
    /* many small files with long names, as rayfs put -r makes them: their directory grows a
     * cluster every few files between flushes (its chain is extended while still new) */
    assert_int_equal(fat_mkdir(vol, "/tree"), 0);
    for (int i = 0; i < 24; i++) {
        char path[96];
        snprintf(path, sizeof(path), "/tree/a file with a long name number %05d.txt", i);
        uint8_t *small = random_bytes(11);
        write_file(path, 0, small, 11, 11);
        if (i == 23)
            seal(path, small, 11);
        else
            free(small);
    }
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

static bool rename_pending(uint8_t *image, uint64_t size)
{
    struct ramdisk view;
    view_init(&view, image, size);
    struct fat_volume *v;
    assert_int_equal(fat_mount(&view.io, FAT_MOUNT_READ_ONLY, NULL, &v), 0);
    struct fat_statfs st;
    assert_int_equal(fat_statfs(v, &st), 0);
    assert_int_equal(fat_unmount(v), 0);
    view.bytes = NULL;
    ramdisk_free(&view);
    return st.rename_pending;
}

/* NULL when no rename was interrupted, else a copy of the image after the next writable mount
 * settled it. */
static uint8_t *settled_copy(uint8_t *image, uint64_t size)
{
    if (!rename_pending(image, size))
        return NULL;
    struct ramdisk view;
    struct fat_volume *v;
    struct fat_statfs st;
    uint8_t *copy = malloc(size);
    memcpy(copy, image, size);
    view_init(&view, copy, size);
    assert_int_equal(fat_mount(&view.io, 0, NULL, &v), 0);
    assert_int_equal(fat_statfs(v, &st), 0);
    assert_false(st.rename_pending);
    assert_int_not_equal(st.rename_recovered, FAT_MOVE_NONE);
    assert_int_equal(fat_unmount(v), 0);
    view.bytes = NULL;
    ramdisk_free(&view);

    /* a read-only mount made writable settles it the same way, byte for byte (the root probe
     * keeps its read-only mount this way, fs/root.c) */
    uint8_t *other = malloc(size);
    memcpy(other, image, size);
    view_init(&view, other, size);
    assert_int_equal(fat_mount(&view.io, FAT_MOUNT_READ_ONLY, NULL, &v), 0);
    assert_int_equal(fat_make_writable(v), 0);
    assert_int_equal(fat_statfs(v, &st), 0);
    assert_false(st.rename_pending);
    assert_int_equal(fat_unmount(v), 0);
    view.bytes = NULL;
    ramdisk_free(&view);
    assert_memory_equal(other, copy, size);
    free(other);
    return copy;
}

static void verify_image(uint8_t *cut_image, uint64_t size, size_t cut, const char *mode)
{
    /* as the next mount sees it: an interrupted rename settled first (on a copy) */
    uint8_t *image = settled_copy(cut_image, size);
    struct ramdisk view;
    view_init(&view, image ? image : cut_image, size);
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
    if (!image)
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

/* ---- Moves and renames: every cut, settled by the next mount ----
 * Each object moves through several names; after any cut and a writable mount (which
 * completes or undoes an interrupted rename) the volume checks without errors and every
 * object is at exactly one of its names with its content intact. */

struct moving {
    const char *paths[5]; /* every name it has had, NULL-terminated */
    uint8_t *data;        /* NULL for a directory */
    size_t size;
};

#define MOVING_MAX 6
static struct moving moving[MOVING_MAX];
static int moving_count;

static void add_moving(const char *p0, const char *p1, const char *p2, const char *p3, size_t size)
{
    struct moving *m = &moving[moving_count++];
    m->paths[0] = p0;
    m->paths[1] = p1;
    m->paths[2] = p2;
    m->paths[3] = p3;
    m->paths[4] = NULL;
    m->size = size;
    m->data = size == (size_t)-1 ? NULL : random_bytes(size);
}

static void moves_setup(void)
{
    moving_count = 0;
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
    assert_int_equal(fat_mkdir(vol, "/src"), 0);
    assert_int_equal(fat_mkdir(vol, "/dst"), 0);
    assert_int_equal(fat_mkdir(vol, "/src/tree"), 0);
    /* /dst nearly full, so a move into it grows it */
    for (int i = 0; i < 11; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/dst/F%d", i);
        write_file(path, 0, (const uint8_t *)"x", 1, 1);
    }
    add_moving("/src/file one.bin", "/dst/moved file with a long name.bin", "/top.bin", NULL, 5000);
    add_moving("/src/tree", "/dst/tree moved", "/src/back", NULL, (size_t)-1);
    add_moving("/src/tree/a.txt", "/dst/tree moved/a.txt", "/src/back/a.txt", NULL, 3000);
    add_moving("/src/tree/b.bin", "/dst/tree moved/b.bin", "/src/back/b.bin",
               "/src/back/b much longer name.bin", 9000);
    add_moving("/src/tree/c.txt", "/dst/tree moved/c.txt", "/src/back/c.txt", NULL, 700);
    for (int i = 0; i < moving_count; i++)
        if (moving[i].data)
            write_file(moving[i].paths[0], 0, moving[i].data, moving[i].size, 4096);
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
}

static void moves_workload(void)
{
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
    assert_int_equal(fat_rename(vol, "/src/file one.bin", "/dst/moved file with a long name.bin"),
                     0);
    assert_int_equal(fat_rename(vol, "/src/tree", "/dst/tree moved"), 0);
    assert_int_equal(fat_rename(vol, "/dst/moved file with a long name.bin", "/top.bin"), 0);
    assert_int_equal(fat_rename(vol, "/dst/tree moved", "/src/back"), 0);
    assert_int_equal(fat_rename(vol, "/src/back/b.bin", "/src/back/b much longer name.bin"), 0);
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
}

/* How many entries of a directory are called name (compared case-insensitively). */
static int count_named(struct fat_volume *v, const char *path)
{
    char dir[96];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    const char *name = path + (slash - dir) + 1;
    if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    struct fat_dir *d;
    if (fat_opendir(v, dir, &d) != 0)
        return 0;
    struct fat_dirent entry;
    int count = 0;
    while (fat_readdir(d, &entry) == 1)
        if (strcasecmp(entry.name, name) == 0)
            count++;
    fat_closedir(d);
    return count;
}

static void verify_moved(uint8_t *cut_image, uint64_t size, size_t cut, const char *mode)
{
    uint8_t *image = settled_copy(cut_image, size);
    struct ramdisk view;
    view_init(&view, image ? image : cut_image, size);
    struct fat_volume *v;
    struct fat_check_result result;
    assert_int_equal(fat_check(&view.io, NULL, NULL, &result), 0);
    if (result.errors) {
        fprintf(stderr, "moves cut %zu (%s): %u errors after recovery\n", cut, mode, result.errors);
        fat_check(&view.io, print_finding, NULL, &result);
        fail();
    }
    assert_int_equal(fat_mount(&view.io, FAT_MOUNT_READ_ONLY, NULL, &v), 0);
    uint8_t *buffer = malloc(20000);
    for (int i = 0; i < moving_count; i++) {
        const struct moving *m = &moving[i];
        int places = 0;
        for (int p = 0; m->paths[p]; p++) {
            int named = count_named(v, m->paths[p]);
            places += named;
            if (!named || !m->data)
                continue;
            struct fat_file *f;
            assert_int_equal(fat_open(v, m->paths[p], FAT_O_READ, &f), 0);
            assert_int_equal(fat_read(f, buffer, 20000), (ssize_t)m->size);
            assert_memory_equal(buffer, m->data, m->size);
            fat_close(f);
        }
        if (places != 1) {
            fprintf(stderr, "moves cut %zu (%s): %s found in %d places\n", cut, mode, m->paths[0],
                    places);
            fail();
        }
    }
    free(buffer);
    assert_int_equal(fat_unmount(v), 0);
    if (!image)
        view.bytes = NULL;
    ramdisk_free(&view);
}

/* With FAT_CRASH_JUDGE set (a command taking an image path), every cut image is also written
 * to FAT_CRASH_DUMP_DIR/moves.img and judged by it (rayfs recover, then fsck.fat -n). */
static void judge(const uint8_t *image, uint64_t size, size_t cut, const char *mode)
{
    const char *command = getenv("FAT_CRASH_JUDGE");
    const char *dir = getenv("FAT_CRASH_DUMP_DIR");
    if (!command || !dir)
        return;
    char path[512], line[1200];
    snprintf(path, sizeof(path), "%s/moves.img", dir);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(image, 1, size, out), size);
    fclose(out);
    snprintf(line, sizeof(line), "%s '%s'", command, path);
    if (system(line) != 0) {
        fprintf(stderr, "moves cut %zu (%s): the judge refused the image\n", cut, mode);
        fail();
    }
}

static void check_cut(uint8_t *image, uint64_t size, size_t cut, const char *mode)
{
    judge(image, size, cut, mode);
    verify_moved(image, size, cut, mode);
}

static uint8_t *find_bytes(uint8_t *image, uint64_t size, const void *what, size_t length)
{
    for (uint64_t at = 0; at + length <= size; at += 32)
        if (memcmp(image + at, what, length) == 0)
            return image + at;
    return NULL;
}

/* The first record of the moves, right after it was written (the move not begun): a record
 * whose bytes are damaged, or one another system made stale by changing the entry since, is
 * discarded and touches nothing. */
static void stale_records(const uint8_t *image, uint64_t size)
{
    for (int variant = 0; variant < 2; variant++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, image, size);
        if (variant == 0) {
            uint8_t *record = find_bytes(copy, size, "\xe5RAYINTNT", 9);
            assert_non_null(record);
            record[40] ^= 1;
        } else {
            uint8_t *entry = find_bytes(copy, size, "FILEON~1BIN", 11);
            assert_non_null(entry);
            entry[28] ^= 1; /* its size changed elsewhere */
        }
        struct ramdisk view;
        view_init(&view, copy, size);
        struct fat_volume *v;
        assert_int_equal(fat_mount(&view.io, 0, NULL, &v), 0);
        struct fat_statfs st;
        assert_int_equal(fat_statfs(v, &st), 0);
        assert_int_equal(st.rename_recovered, FAT_MOVE_DISCARDED);
        struct fat_stat file;
        assert_int_equal(fat_stat(v, "/src/file one.bin", &file), 0);
        assert_int_equal(file.size, variant == 0 ? 5000 : 5000 ^ 1);
        assert_int_equal(fat_stat(v, "/dst/moved file with a long name.bin", &file), -ENOENT);
        assert_int_equal(fat_unmount(v), 0);
        assert_false(rename_pending(copy, size));
        ramdisk_free(&view);
    }
}

static void apply_blocks(uint8_t *image, const struct ramdisk_op *op, uint32_t blocks)
{
    if (op->data)
        memcpy(image + op->lba * 512, op->data, (size_t)blocks * 512);
}

/* Another system's data in every reserved sector a record could use (FAT32: 3-5, 9-11, 13-31):
 * the record must go to root slots instead, and those sectors must never change. */
static void fill_spare_reserved(uint8_t *image)
{
    for (uint32_t sector = 3; sector < 32; sector++)
        if (!(sector >= 6 && sector <= 8) && sector != 12)
            memset(image + sector * 512, 0x5a, 512);
}

static bool spare_reserved_intact(const uint8_t *image)
{
    for (uint32_t sector = 3; sector < 32; sector++)
        if (!(sector >= 6 && sector <= 8) && sector != 12)
            for (uint32_t i = 0; i < 512; i++)
                if (image[sector * 512 + i] != 0x5a)
                    return false;
    return true;
}

static void run_moves(uint64_t bytes, unsigned type, uint32_t cluster, bool reserved_taken)
{
    ramdisk_init(&disk, 512, bytes);
    struct fat_mkfs_options options = {.fat_type = type, .cluster_size = cluster};
    assert_int_equal(fat_mkfs(&disk.io, &options), 0);
    if (reserved_taken)
        fill_spare_reserved(disk.bytes);
    moves_setup();
    uint8_t *base = malloc(bytes);
    memcpy(base, disk.bytes, bytes);
    ramdisk_record(&disk, true);
    moves_workload();
    ramdisk_record(&disk, false);
    size_t ops = disk.op_count;
    uint8_t *all = malloc(bytes), *durable = malloc(bytes), *scratch = malloc(bytes);
    memcpy(all, base, bytes);
    memcpy(durable, base, bytes);
    size_t last_flush = 0;
    size_t images = 0;
    bool dumped_record = false; /* the first image holding a record: only it and dirty bits */
    for (size_t cut = 0; cut <= ops; cut++) {
        if (cut > 0) {
            const struct ramdisk_op *op = &disk.ops[cut - 1];
            /* a cut inside a request: every 512-byte prefix of it */
            for (uint32_t blocks = 1; op->data && blocks < op->count; blocks++) {
                memcpy(scratch, all, bytes);
                apply_blocks(scratch, op, blocks);
                check_cut(scratch, bytes, cut, "torn request");
                images++;
            }
            apply(all, op);
            if (!op->data)
                last_flush = cut;
        }
        if (cut == 0 || disk.ops[cut - 1].data) {
            if (!dumped_record && rename_pending(all, bytes)) {
                dump(all, bytes, "record", type * 10 + reserved_taken);
                stale_records(all, bytes);
                dumped_record = true;
            }
            check_cut(all, bytes, cut, "in order");
            images++;
        }
        /* what a flush made durable, plus a random half of the writes since */
        if (cut - last_flush >= 2) {
            memcpy(durable, base, bytes);
            for (size_t i = 0; i < last_flush; i++)
                apply(durable, &disk.ops[i]);
            for (size_t i = last_flush; i < cut; i++)
                if (rng() % 2)
                    apply(durable, &disk.ops[i]);
            check_cut(durable, bytes, cut, "subset");
            images++;
        }
    }
    fprintf(stderr, "moves: %zu requests, %zu images\n", ops, images);
    if (reserved_taken)
        assert_true(spare_reserved_intact(disk.bytes));
    size_t writes = 0;
    for (size_t i = 0; i < ops; i++)
        writes += disk.ops[i].data != NULL;
    assert_true(images > writes);
    for (int i = 0; i < moving_count; i++)
        free(moving[i].data);
    free(all);
    free(durable);
    free(scratch);
    free(base);
    ramdisk_free(&disk);
}

static void test_moves_fat16(void **state)
{
    run_moves(4 * 1024 * 1024, 16, 512, false);
}

static void test_moves_fat32(void **state)
{
    run_moves(34 * 1024 * 1024, 32, 512, false);
}

static void test_moves_fat32_reserved_taken(void **state)
{
    run_moves(34 * 1024 * 1024, 32, 512, true);
}

static void test_moves_fat12(void **state)
{
    run_moves(2 * 1024 * 1024, 12, 512, false);
}

/* ---- A repair cut at every point: a second repair fixes what the cut left ---- */

struct fat16_layout {
    uint64_t fat_start, fat_bytes; /* bytes */
    unsigned fats;
};

static struct fat16_layout layout_of(const uint8_t *image)
{
    uint16_t reserved = (uint16_t)(image[14] | image[15] << 8);
    uint16_t fat_sectors = (uint16_t)(image[22] | image[23] << 8);
    return (struct fat16_layout){(uint64_t)reserved * 512, (uint64_t)fat_sectors * 512, image[16]};
}

static uint16_t fat16_get(const uint8_t *image, uint32_t cluster)
{
    struct fat16_layout l = layout_of(image);
    const uint8_t *at = image + l.fat_start + cluster * 2;
    return (uint16_t)(at[0] | at[1] << 8);
}

static void fat16_put(uint8_t *image, uint32_t cluster, uint16_t value, unsigned copies)
{
    struct fat16_layout l = layout_of(image);
    for (unsigned copy = 0; copy < l.fats && copy < copies; copy++) {
        uint8_t *at = image + l.fat_start + copy * l.fat_bytes + cluster * 2;
        at[0] = (uint8_t)value;
        at[1] = (uint8_t)(value >> 8);
    }
}

static uint32_t first_cluster_of(const char *path)
{
    struct fat_volume *v;
    assert_int_equal(fat_mount(&disk.io, FAT_MOUNT_READ_ONLY, NULL, &v), 0);
    struct fat_stat st;
    assert_int_equal(fat_stat(v, path, &st), 0);
    assert_int_equal(fat_unmount(v), 0);
    return st.first_cluster;
}

/* Intact files (sealed) and damaged ones: a cross-link, a loop, a chain into a free cluster,
 * lost clusters, a FAT copy out of step, the dirty bit. */
static void damaged_volume(void)
{
    sealed_count = 0;
    assert_int_equal(fat_mount(&disk.io, 0, &ramdisk_test_clock, &vol), 0);
    assert_int_equal(fat_mkdir(vol, "/keep"), 0);
    const char *names[] = {"/keep/intact one.bin",
                           "/keep/intact two.bin",
                           "/A.BIN",
                           "/B.BIN",
                           "/LOOP.BIN",
                           "/FREE.BIN"};
    for (int i = 0; i < 6; i++) {
        size_t size = 3000 + (size_t)i * 1000;
        uint8_t *data = random_bytes(size);
        write_file(names[i], 0, data, size, 4096);
        if (i < 2)
            seal(names[i], data, size);
        else
            free(data);
    }
    assert_int_equal(fat_unmount(vol), 0);
    vol = NULL;
    uint32_t a = first_cluster_of("/A.BIN"), b = first_cluster_of("/B.BIN");
    uint32_t loop = first_cluster_of("/LOOP.BIN"), freed = first_cluster_of("/FREE.BIN");
    uint8_t *image = disk.bytes;
    fat16_put(image, fat16_get(image, b), (uint16_t)fat16_get(image, a), 2); /* cross-link */
    fat16_put(image, loop + 3, (uint16_t)loop, 2);                           /* a loop */
    fat16_put(image, freed + 1, 7000, 2);                                    /* into a free one */
    for (uint32_t c = 7100; c < 7110; c++)
        fat16_put(image, c, 0xffff, 2); /* lost */
    fat16_put(image, 7200, 0x1234, 1);  /* the first copy differs from the second */
    image[37] |= 1;                     /* dirty */
}

static void verify_repaired(uint8_t *cut_image, uint64_t size, size_t cut, const char *mode)
{
    uint8_t *image = malloc(size);
    memcpy(image, cut_image, size);
    struct ramdisk view;
    view_init(&view, image, size);
    unsigned fixes;
    assert_int_equal(fat_repair(&view.io, NULL, NULL, &fixes), 0); /* the second repair */
    struct fat_check_result result;
    assert_int_equal(fat_check(&view.io, NULL, NULL, &result), 0);
    if (result.errors || result.warnings) {
        fprintf(stderr, "repair cut %zu (%s): %u errors, %u warnings after a second repair\n", cut,
                mode, result.errors, result.warnings);
        fat_check(&view.io, print_finding, NULL, &result);
        fail();
    }
    assert_int_equal(fat_repair(&view.io, NULL, NULL, &fixes), 0);
    assert_int_equal(fixes, 0); /* nothing left to do */
    struct fat_volume *v;
    assert_int_equal(fat_mount(&view.io, FAT_MOUNT_READ_ONLY, NULL, &v), 0);
    uint8_t buffer[8000];
    for (int i = 0; i < sealed_count; i++) {
        struct fat_file *f;
        assert_int_equal(fat_open(v, sealed[i].path, FAT_O_READ, &f), 0);
        assert_int_equal(fat_read(f, buffer, sizeof(buffer)), (ssize_t)sealed[i].size);
        assert_memory_equal(buffer, sealed[i].data, sealed[i].size);
        fat_close(f);
    }
    assert_int_equal(fat_unmount(v), 0);
    ramdisk_free(&view);
}

static void test_repair_cut_everywhere(void **state)
{
    uint64_t bytes = 4 * 1024 * 1024;
    ramdisk_init(&disk, 512, bytes);
    struct fat_mkfs_options options = {.fat_type = 16, .cluster_size = 512};
    assert_int_equal(fat_mkfs(&disk.io, &options), 0);
    damaged_volume();
    uint8_t *base = malloc(bytes), *all = malloc(bytes), *scratch = malloc(bytes);
    memcpy(base, disk.bytes, bytes);
    ramdisk_record(&disk, true);
    unsigned fixes;
    assert_int_equal(fat_repair(&disk.io, NULL, NULL, &fixes), 0);
    ramdisk_record(&disk, false);
    assert_true(fixes >= 6);
    size_t ops = disk.op_count, last_flush = 0, images = 0, dumps = 0;
    memcpy(all, base, bytes);
    for (size_t cut = 0; cut <= ops; cut++) {
        if (cut > 0) {
            const struct ramdisk_op *op = &disk.ops[cut - 1];
            for (uint32_t blocks = 1; op->data && blocks < op->count; blocks++) {
                memcpy(scratch, all, bytes);
                apply_blocks(scratch, op, blocks);
                verify_repaired(scratch, bytes, cut, "torn request");
                images++;
            }
            apply(all, op);
            if (!op->data)
                last_flush = cut;
        }
        verify_repaired(all, bytes, cut, "in order");
        images++;
        if (cut % 4 == 0 && dumps < 16) {
            dump(all, bytes, "repaircut", cut);
            dumps++;
        }
        if (cut - last_flush >= 2) {
            memcpy(scratch, base, bytes);
            for (size_t i = 0; i < cut; i++)
                if (i < last_flush || rng() % 2)
                    apply(scratch, &disk.ops[i]);
            verify_repaired(scratch, bytes, cut, "subset");
            images++;
        }
    }
    fprintf(stderr, "repair: %zu requests, %zu images\n", ops, images);
    for (int i = 0; i < sealed_count; i++)
        free(sealed[i].data);
    free(base);
    free(all);
    free(scratch);
    ramdisk_free(&disk);
}

extern int host_log_level;

int main(void)
{
    host_log_level = 3; /* every cut image is "not cleanly unmounted": no warning per mount */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_fat16),
        cmocka_unit_test(test_crash_fat32),
        cmocka_unit_test(test_crash_fat12),
        cmocka_unit_test(test_moves_fat16),
        cmocka_unit_test(test_moves_fat32),
        cmocka_unit_test(test_moves_fat12),
        cmocka_unit_test(test_moves_fat32_reserved_taken),
        cmocka_unit_test(test_repair_cut_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
