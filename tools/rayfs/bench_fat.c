/* Benchmarks of the FAT library on an image file (built and run by tools/rayfs/bench.sh, not a
 * test): many files in one directory, random 4 KiB reads in a 1 GiB file, and device reads
 * for a cold path lookup. */
#include <rayos/fat.h>

#include "image.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct image image;

static struct fat_volume *mount_image(const char *path)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    off_t size = lseek(fd, 0, SEEK_END);
    image_file_io(&image, fd, 512, (uint64_t)size, true);
    struct fat_volume *vol;
    if (fat_mount(image.io, 0, NULL, &vol) != 0) {
        fprintf(stderr, "mount failed\n");
        exit(1);
    }
    return vol;
}

static void unmount_image(struct fat_volume *vol)
{
    fat_unmount(vol);
    close(image.fd);
}

static void bench_many_files(const char *path, int count)
{
    struct fat_volume *vol = mount_image(path);
    fat_mkdir(vol, "/many");
    double start = now();
    for (int i = 0; i < count; i++) {
        char name[64];
        snprintf(name, sizeof(name), "/many/file number %05d.txt", i);
        struct fat_file *f;
        if (fat_open(vol, name, FAT_O_WRITE | FAT_O_CREATE, &f) != 0) {
            fprintf(stderr, "create %s failed\n", name);
            exit(1);
        }
        fat_close(f);
    }
    fat_sync(vol);
    double created = now();
    for (int i = 0; i < count; i++) {
        char name[64];
        snprintf(name, sizeof(name), "/MANY/FILE NUMBER %05d.TXT", (i * 7919) % count);
        struct fat_stat st;
        if (fat_stat(vol, name, &st) != 0) {
            fprintf(stderr, "lookup %s failed\n", name);
            exit(1);
        }
    }
    double looked = now();
    printf("create %d files in one directory: %.2f s (%.0f/s)\n", count, created - start,
           count / (created - start));
    printf("look up %d files (random order): %.2f s (%.0f/s)\n", count, looked - created,
           count / (looked - created));
    unmount_image(vol);
}

static void bench_random_reads(const char *path, int reads)
{
    struct fat_volume *vol = mount_image(path);
    struct fat_file *f;
    double start = now();
    if (fat_open(vol, "/big.img", FAT_O_READ | FAT_O_WRITE | FAT_O_CREATE, &f) != 0 ||
        fat_file_allocate(f, 1ull << 30, true) != 0) {
        fprintf(stderr, "1 GiB file failed\n");
        exit(1);
    }
    double allocated = now();
    struct fat_extent extent;
    int extents = fat_file_extents(f, &extent, 1);
    static uint8_t buffer[4096];
    srand(1);
    uint64_t reads_before = image.reads;
    double t0 = now();
    for (int i = 0; i < reads; i++) {
        uint64_t offset = ((uint64_t)rand() * 4096) % (1ull << 30);
        fat_seek(f, (int64_t)offset, FAT_SEEK_SET);
        if (fat_read(f, buffer, sizeof(buffer)) != sizeof(buffer)) {
            fprintf(stderr, "read failed\n");
            exit(1);
        }
    }
    double t1 = now();
    printf("allocate 1 GiB contiguous (zero-filled): %.2f s, %d extent(s)\n", allocated - start,
           extents);
    printf("random 4 KiB reads in a 1 GiB file: %d in %.3f s (%.0f/s, %.1f us each), "
           "%.2f device reads per read\n",
           reads, t1 - t0, reads / (t1 - t0), (t1 - t0) * 1e6 / reads,
           (double)(image.reads - reads_before) / reads);
    fat_close(f);
    fat_unlink(vol, "/big.img");
    unmount_image(vol);
}

static void bench_cold_lookup(const char *path, int depth)
{
    struct fat_volume *vol = mount_image(path);
    char dir[512] = "";
    for (int d = 0; d < depth; d++) {
        strcat(dir, "/level");
        fat_mkdir(vol, dir);
        for (int k = 0; k < 20; k++) { /* some neighbours in every directory */
            char other[600];
            snprintf(other, sizeof(other), "%s/neighbour %d", dir, k);
            struct fat_file *f;
            if (fat_open(vol, other, FAT_O_WRITE | FAT_O_CREATE, &f) == 0)
                fat_close(f);
        }
    }
    unmount_image(vol);
    vol = mount_image(path);
    uint64_t before = image.reads;
    struct fat_stat st;
    char target[600];
    snprintf(target, sizeof(target), "%s/neighbour 19", dir);
    int err = fat_stat(vol, target, &st);
    printf("cold lookup at depth %d (%s): %llu device reads (%s)\n", depth + 1,
           "20 entries per directory", (unsigned long long)(image.reads - before),
           err ? "failed" : "found");
    unmount_image(vol);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fat-bench many|random|lookup IMAGE\n");
        return 2;
    }
    if (strcmp(argv[1], "many") == 0)
        bench_many_files(argv[2], 10000);
    else if (strcmp(argv[1], "random") == 0)
        bench_random_reads(argv[2], 20000);
    else
        for (int depth = 1; depth <= 4; depth++)
            bench_cold_lookup(argv[2], depth);
    return 0;
}
