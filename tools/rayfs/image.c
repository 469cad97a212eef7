#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_read(void *context, uint64_t lba, uint32_t count, void *buffer)
{
    struct image *image = context;
    uint64_t bytes = (uint64_t)count * image->file_io.block_size;
    if (lba > image->file_io.block_count || count > image->file_io.block_count - lba)
        return -EINVAL;
    image->reads++;
    uint64_t done = 0;
    while (done < bytes) {
        ssize_t n = pread(image->fd, (char *)buffer + done, bytes - done,
                          (off_t)(lba * image->file_io.block_size + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        done += (uint64_t)n;
    }
    return 0;
}

static int file_write(void *context, uint64_t lba, uint32_t count, const void *buffer)
{
    struct image *image = context;
    uint64_t bytes = (uint64_t)count * image->file_io.block_size;
    if (image->file_io.read_only)
        return -EROFS;
    if (lba > image->file_io.block_count || count > image->file_io.block_count - lba)
        return -EINVAL;
    image->writes++;
    uint64_t done = 0;
    while (done < bytes) {
        ssize_t n = pwrite(image->fd, (const char *)buffer + done, bytes - done,
                           (off_t)(lba * image->file_io.block_size + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        done += (uint64_t)n;
    }
    return 0;
}

static int file_flush(void *context)
{
    struct image *image = context;
    image->flushes++;
    return fdatasync(image->fd) == 0 ? 0 : -EIO;
}

void image_file_io(struct image *image, int fd, uint32_t block_size, uint64_t bytes, bool writable)
{
    image->fd = fd;
    image->bytes = bytes;
    image->file_io = (struct block_io){
        .context = image,
        .block_size = block_size,
        .block_count = bytes / block_size,
        .read_only = !writable,
        .read = file_read,
        .write = file_write,
        .flush = file_flush,
    };
    image->io = &image->file_io;
}

static uint32_t forced_block_size; /* --sector-size; 0: from the table */
static double wait_seconds = 60;   /* --wait */

void image_set_wait(double seconds)
{
    wait_seconds = seconds;
}

void image_set_block_size(uint32_t block_size)
{
    forced_block_size = block_size;
}

static bool bytes_at(const struct image *image, uint64_t offset, void *buffer, size_t length)
{
    return pread(image->fd, buffer, length, (off_t)offset) == (ssize_t)length;
}

/* A GPT header names its own block size: it stands in block 1. */
static bool gpt_header_at(const struct image *image, uint32_t block_size)
{
    char signature[8];
    return bytes_at(image, block_size, signature, sizeof(signature)) &&
           memcmp(signature, "EFI PART", 8) == 0;
}

/* An MBR does not say its block size; the partition's first block does when it holds a boot
 * sector (FAT's bytes-per-sector matches the disk's logical blocks). */
static bool boot_sector_at(const struct image *image, const struct partition *p, uint32_t size)
{
    uint8_t sector[512];
    if (p->start_lba > image->bytes / size || !bytes_at(image, p->start_lba * size, sector, 512))
        return false;
    return sector[510] == 0x55 && sector[511] == 0xaa &&
           (uint32_t)(sector[11] | sector[12] << 8) == size;
}

static const struct partition *find_number(const struct partition_table *table, unsigned number)
{
    for (unsigned k = 0; k < table->count; k++)
        if (table->entries[k].number == number)
            return &table->entries[k];
    return NULL;
}

/* The partition table is read in 512-byte blocks and in 4096-byte ones: a GPT found in block 1
 * of one size decides; an MBR (the same bytes either way) takes the size at which the
 * partition starts with a matching boot sector, else 512.  --sector-size decides alone. */
static int select_partition(struct image *image, const char *spec, unsigned number)
{
    static struct partition_table table;
    uint32_t sizes[2] = {512, 4096};
    unsigned tries = 2;
    if (forced_block_size) {
        sizes[0] = forced_block_size;
        tries = 1;
    } else if (gpt_header_at(image, 4096) && !gpt_header_at(image, 512)) {
        sizes[0] = 4096;
        sizes[1] = 512;
    }
    int first_error = 0;
    for (unsigned i = 0; i < tries; i++) {
        image->file_io.block_size = sizes[i];
        image->file_io.block_count = image->bytes / sizes[i];
        int err = partition_table_read(&image->file_io, &table);
        if (err || table.scheme == PARTITION_SCHEME_NONE) {
            if (err && !first_error)
                first_error = err;
            continue;
        }
        const struct partition *p = find_number(&table, number);
        if (!p) {
            fprintf(stderr, "rayfs: %s: no partition %u\n", spec, number);
            return -1;
        }
        if (table.scheme == PARTITION_SCHEME_MBR && tries == 2 && i == 0 &&
            !boot_sector_at(image, p, sizes[0]) && boot_sector_at(image, p, sizes[1]))
            continue; /* the other block size fits this disk */
        block_io_slice_init(&image->slice, &image->part_io, &image->file_io, p->start_lba,
                            p->block_count);
        image->io = &image->part_io;
        return 0;
    }
    if (first_error)
        fprintf(stderr, "rayfs: %s: partition table: %s\n", spec, strerror(-first_error));
    else
        fprintf(stderr, "rayfs: %s: no partition table\n", spec);
    return -1;
}

int image_open(struct image *image, const char *spec, bool writable)
{
    memset(image, 0, sizeof(*image));
    char path[4096];
    snprintf(path, sizeof(path), "%s", spec);
    char *at = strrchr(path, '@');
    unsigned number = 0;
    if (at) {
        char *end;
        unsigned long n = strtoul(at + 1, &end, 10);
        if (*end == 0 && at[1] && n >= 1 && n <= PARTITION_MAX) {
            number = (unsigned)n;
            *at = 0;
        }
    }
    int fd = open(path, writable ? O_RDWR : O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "rayfs: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "rayfs: %s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    const char *why = NULL;
    int locked = image_lock(fd, writable, wait_seconds, &why);
    if (locked) {
        fprintf(stderr, "rayfs: %s: %s (%s)\n", path, why, strerror(-locked));
        close(fd);
        return -1;
    }
    /* The size may have changed while we waited. */
    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "rayfs: %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    image_file_io(image, fd, forced_block_size ? forced_block_size : 512, (uint64_t)st.st_size,
                  writable);
    if (number && select_partition(image, spec, number) != 0) {
        close(fd);
        return -1;
    }
    return 0;
}

void image_close(struct image *image)
{
    if (image->fd >= 0)
        close(image->fd);
    image->fd = -1;
}
