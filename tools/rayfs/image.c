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

static int select_partition(struct image *image, const char *spec, unsigned number)
{
    static struct partition_table table;
    const uint32_t sizes[2] = {512, 4096};
    for (int i = 0; i < 2; i++) {
        image->file_io.block_size = sizes[i];
        image->file_io.block_count = image->bytes / sizes[i];
        int err = partition_table_read(&image->file_io, &table);
        if (err) {
            fprintf(stderr, "rayfs: %s: partition table: %s\n", spec, strerror(-err));
            return -1;
        }
        /* 4096-byte logical blocks only when a GPT is found that way */
        if (table.scheme == PARTITION_SCHEME_NONE && i == 0)
            continue;
        if (table.scheme == PARTITION_SCHEME_NONE)
            break;
        for (unsigned k = 0; k < table.count; k++) {
            const struct partition *p = &table.entries[k];
            if (p->number != number)
                continue;
            block_io_slice_init(&image->slice, &image->part_io, &image->file_io, p->start_lba,
                                p->block_count);
            image->io = &image->part_io;
            return 0;
        }
        fprintf(stderr, "rayfs: %s: no partition %u\n", spec, number);
        return -1;
    }
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
    image_file_io(image, fd, 512, (uint64_t)st.st_size, writable);
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
