/* Files: open/read/write/seek/truncate with a run map (extents of the cluster chain) so that a
 * seek never walks the chain from its start again. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

#define FILE_SIZE_MAX     0xffffffffull
#define REQUEST_SECTORS   8192 /* per device request: 4-32 MiB */
#define ZERO_BUFFER_BYTES (256 * 1024)

static int runs_append(struct fat_file *file, uint32_t cluster)
{
    /* A chain that comes back to a cluster it already holds loops: refuse it here, so a
     * looping chain never reads as a file of repeated clusters. */
    for (uint32_t i = 0; i < file->run_count; i++)
        if (cluster - file->runs[i].cluster < file->runs[i].length)
            return -EUCLEAN;
    if (file->run_count) {
        struct fat_run *last = &file->runs[file->run_count - 1];
        if (last->cluster + last->length == cluster) {
            last->length++;
            file->mapped_clusters++;
            return 0;
        }
    }
    if (file->run_count == file->run_capacity) {
        uint32_t capacity = file->run_capacity ? file->run_capacity * 2 : 8;
        struct fat_run *runs = krealloc(file->runs, sizeof(*runs) * capacity);
        if (!runs)
            return -ENOMEM;
        file->runs = runs;
        file->run_capacity = capacity;
    }
    file->runs[file->run_count++] =
        (struct fat_run){.file_cluster = file->mapped_clusters, .cluster = cluster, .length = 1};
    file->mapped_clusters++;
    return 0;
}

static void runs_reset(struct fat_file *file)
{
    file->run_count = 0;
    file->mapped_clusters = 0;
    file->map_complete = file->first_cluster == 0;
}

/* Extends the run map along the chain until it covers file_cluster or the chain ends.  The
 * chain cannot be longer than the volume's cluster count; a longer one loops. */
static int map_extend(struct fat_file *file, uint32_t file_cluster)
{
    struct fat_volume *vol = file->volume;
    while (!file->map_complete && file->mapped_clusters <= file_cluster) {
        int err;
        if (file->mapped_clusters == 0) {
            if (!fat_cluster_valid(vol, file->first_cluster))
                return -EUCLEAN;
            err = runs_append(file, file->first_cluster);
            if (err)
                return err;
            continue;
        }
        const struct fat_run *last = &file->runs[file->run_count - 1];
        uint32_t next;
        int r = fat_next_cluster(vol, last->cluster + last->length - 1, &next);
        if (r < 0)
            return r;
        if (r == 0) {
            file->map_complete = true;
            break;
        }
        if (file->mapped_clusters >= vol->cluster_count)
            return -EUCLEAN;
        err = runs_append(file, next);
        if (err)
            return err;
    }
    return 0;
}

/* Device cluster of a file cluster and how many clusters follow it contiguously (itself
 * included).  Returns 1, or 0 when the chain ends before it. */
int fat_map_cluster(struct fat_file *file, uint32_t file_cluster, uint32_t *cluster,
                    uint32_t *run_left)
{
    int err = map_extend(file, file_cluster);
    if (err)
        return err;
    if (file_cluster >= file->mapped_clusters)
        return 0;
    uint32_t low = 0, high = file->run_count - 1;
    while (low < high) {
        uint32_t middle = (low + high + 1) / 2;
        if (file->runs[middle].file_cluster <= file_cluster)
            low = middle;
        else
            high = middle - 1;
    }
    const struct fat_run *run = &file->runs[low];
    *cluster = run->cluster + (file_cluster - run->file_cluster);
    *run_left = run->length - (file_cluster - run->file_cluster);
    return 1;
}

static int map_complete(struct fat_file *file)
{
    return map_extend(file, UINT32_MAX - 1);
}

/* Data I/O over [position, position + size): whole sectors go straight to the device in runs
 * as long as the clusters are contiguous; partial sectors pass through the bounce sector. */
static ssize_t transfer(struct fat_file *file, uint64_t position, uint8_t *read_to,
                        const uint8_t *write_from, size_t size)
{
    struct fat_volume *vol = file->volume;
    size_t done = 0;
    while (done < size) {
        uint64_t at = position + done;
        uint32_t cluster, run_left;
        int r = fat_map_cluster(file, (uint32_t)(at / vol->cluster_size), &cluster, &run_left);
        if (r <= 0)
            return done ? (ssize_t)done : (r < 0 ? r : -EUCLEAN);
        uint32_t within = (uint32_t)(at % vol->cluster_size);
        uint64_t sector = fat_cluster_sector(vol, cluster) + within / vol->sector_size;
        uint32_t sector_offset = within % vol->sector_size;
        size_t left = size - done;
        int err;
        if (sector_offset != 0 || left < vol->sector_size) {
            size_t n = MIN(left, (size_t)(vol->sector_size - sector_offset));
            err = fat_device_read(vol, sector, 1, file->bounce);
            if (!err && read_to)
                memcpy(read_to + done, file->bounce + sector_offset, n);
            if (!err && !read_to) {
                if (write_from)
                    memcpy(file->bounce + sector_offset, write_from + done, n);
                else
                    memset(file->bounce + sector_offset, 0, n);
                err = fat_device_write(vol, sector, 1, file->bounce);
            }
            if (err)
                return done ? (ssize_t)done : err;
            done += n;
            continue;
        }
        uint64_t contiguous = (uint64_t)run_left * vol->cluster_size - within;
        uint64_t sectors = MIN((uint64_t)left, contiguous) / vol->sector_size;
        sectors = MIN(sectors, (uint64_t)REQUEST_SECTORS);
        size_t bytes = (size_t)sectors * vol->sector_size;
        if (read_to) {
            err = fat_device_read(vol, sector, (uint32_t)sectors, read_to + done);
        } else if (write_from) {
            err = fat_device_write(vol, sector, (uint32_t)sectors, write_from + done);
        } else {
            static const size_t zero_sectors_max = ZERO_BUFFER_BYTES;
            uint8_t *zeros = kzalloc(MIN(bytes, zero_sectors_max));
            if (!zeros)
                return -ENOMEM;
            bytes = MIN(bytes, zero_sectors_max);
            err = fat_device_write(vol, sector, (uint32_t)(bytes / vol->sector_size), zeros);
            kfree(zeros);
        }
        if (err)
            return done ? (ssize_t)done : err;
        done += bytes;
        vol->data_unflushed |= !read_to;
    }
    return (ssize_t)done;
}

/* Makes the chain at least clusters long. */
static int ensure_clusters(struct fat_file *file, uint32_t clusters, bool contiguous)
{
    struct fat_volume *vol = file->volume;
    int err = map_complete(file);
    if (err)
        return err;
    if (file->mapped_clusters >= clusters)
        return 0;
    uint32_t last = 0;
    if (file->run_count) {
        const struct fat_run *run = &file->runs[file->run_count - 1];
        last = run->cluster + run->length - 1;
    }
    uint32_t first;
    err = fat_allocate(vol, last, clusters - file->mapped_clusters, contiguous, &first);
    if (err)
        return err;
    if (!file->first_cluster) {
        file->first_cluster = first;
        file->entry_dirty = true;
    }
    file->map_complete = false;
    return map_complete(file);
}

static bool same_entry(const struct fat_file *a, uint64_t sector, uint32_t offset)
{
    return a->entry_sector == sector && a->entry_offset == offset;
}

static int create_entry(struct fat_volume *vol, uint32_t parent, const char *name,
                        uint8_t attributes, uint32_t cluster, struct fat_entry_info *out)
{
    uint8_t entry[32];
    memset(entry, 0, sizeof(entry));
    entry[11] = attributes;
    uint16_t date, time;
    fat_now(vol, &date, &time);
    put_le16(entry + 14, time);
    put_le16(entry + 16, date);
    put_le16(entry + 18, date);
    put_le16(entry + 22, time);
    put_le16(entry + 24, date);
    fat_entry_set_cluster(entry, cluster);
    return fat_dir_add(vol, parent, name, entry, out);
}

int fat_create_entry(struct fat_volume *vol, uint32_t parent, const char *name, uint8_t attributes,
                     uint32_t cluster, struct fat_entry_info *out)
{
    return create_entry(vol, parent, name, attributes, cluster, out);
}

bool fat_entry_is_open(struct fat_volume *vol, uint64_t sector, uint32_t offset)
{
    for (struct fat_file *f = vol->open_files; f; f = f->next_open)
        if (same_entry(f, sector, offset))
            return true;
    return false;
}

int fat_open(struct fat_volume *vol, const char *path, unsigned flags, struct fat_file **out)
{
    *out = NULL;
    bool writable = flags & FAT_O_WRITE;
    if (!(flags & (FAT_O_READ | FAT_O_WRITE)))
        return -EINVAL;
    if ((flags & (FAT_O_CREATE | FAT_O_TRUNC | FAT_O_APPEND)) && !writable)
        return -EINVAL;
    if (writable && vol->read_only)
        return -EROFS;
    struct fat_entry_info *e = kmalloc(sizeof(*e));
    char *name = kmalloc(FAT_NAME_UTF8_MAX + 1);
    struct fat_file *file = kzalloc(sizeof(*file));
    int err = -ENOMEM;
    if (!e || !name || !file)
        goto fail;
    uint32_t parent;
    const char *last;
    size_t last_length;
    unsigned kind;
    err = fat_resolve(vol, path, &parent, &last, &last_length, e, &kind);
    if (err == -ENOENT && (flags & FAT_O_CREATE) && last && (kind & FAT_LAST_SLASH)) {
        err = -EISDIR; /* open("NEW/", O_CREAT) */
    } else if (err == -ENOENT && (flags & FAT_O_CREATE) && last) {
        memcpy(name, last, last_length);
        name[last_length] = 0;
        err = create_entry(vol, parent, name, FAT_ATTR_ARCHIVE, 0, e);
    } else if (!err && (flags & FAT_O_CREATE) && (flags & FAT_O_EXCL)) {
        err = -EEXIST;
    }
    if (err)
        goto fail;
    err = -EISDIR;
    if (!last || (e->raw[11] & FAT_ATTR_DIRECTORY))
        goto fail;
    err = -EACCES;
    if (writable && (e->raw[11] & FAT_ATTR_READ_ONLY))
        goto fail;
    for (struct fat_file *other = vol->open_files; other; other = other->next_open) {
        if (same_entry(other, e->sector, e->offset) && (writable || (other->flags & FAT_O_WRITE))) {
            err = -EBUSY;
            goto fail;
        }
    }
    err = -ENOMEM;
    file->bounce = kmalloc(vol->sector_size);
    if (!file->bounce)
        goto fail;
    file->volume = vol;
    file->flags = flags;
    file->entry_sector = e->sector;
    file->entry_offset = e->offset;
    file->parent_cluster = parent;
    file->first_cluster = fat_entry_cluster(vol, e->raw);
    file->size = get_le32(e->raw + 28);
    bool sizeless = file->first_cluster == 0 && file->size != 0;
    if (file->first_cluster == 0)
        file->size = 0; /* no clusters, no data, whatever the size field says */
    runs_reset(file);
    if (!writable) {
        /* A reader gets the whole file or an error, never a short copy that looks complete:
         * a chain that does not cover the size (it ends early, runs into a free or bad
         * cluster, leaves the volume or loops), or a size without clusters, fails the open.
         * A writer may still open it (to truncate or rewrite it). */
        err = sizeless ? -EUCLEAN : map_complete(file);
        if (!err && (uint64_t)file->mapped_clusters * vol->cluster_size < file->size)
            err = -EUCLEAN;
        if (err) {
            kfree(file->runs);
            kfree(file->bounce);
            goto fail;
        }
    }
    file->next_open = vol->open_files;
    vol->open_files = file;
    vol->open_count++;
    kfree(e);
    kfree(name);
    if ((flags & FAT_O_TRUNC) && (file->size || file->first_cluster)) {
        err = fat_truncate(file, 0);
        if (err) {
            fat_close(file);
            return err;
        }
    }
    *out = file;
    return 0;
fail:
    kfree(e);
    kfree(name);
    kfree(file);
    return err;
}

ssize_t fat_read(struct fat_file *file, void *buffer, size_t size)
{
    if (!(file->flags & FAT_O_READ))
        return -EBADF;
    if (file->position >= file->size)
        return 0;
    size = (size_t)MIN((uint64_t)size, file->size - file->position);
    ssize_t n = transfer(file, file->position, buffer, NULL, size);
    if (n > 0)
        file->position += (uint64_t)n;
    return n;
}

/* What every write of size (> 0) bytes at position does first: the size limit, the dirty bit,
 * clusters for the whole range, and zeros over any gap between the file's end and position. */
static int prepare_write(struct fat_file *file, uint64_t position, size_t size)
{
    struct fat_volume *vol = file->volume;
    if (position > FILE_SIZE_MAX || size > FILE_SIZE_MAX - position)
        return -EFBIG;
    int err = fat_mark_dirty(vol);
    if (!err)
        err = ensure_clusters(file, (uint32_t)DIV_ROUND_UP(position + size, vol->cluster_size),
                              false);
    if (err)
        return err;
    if (position > file->size) {
        /* The gap reads as zeros: fill it before the size covers it. */
        ssize_t gap = transfer(file, file->size, NULL, NULL, (size_t)(position - file->size));
        if (gap < 0)
            return (int)gap;
        if ((uint64_t)gap != position - file->size)
            return -EIO;
    }
    return 0;
}

/* Writes data (or zeros when data is NULL) at position, growing the file as needed. */
static ssize_t write_at(struct fat_file *file, uint64_t position, const void *data, size_t size)
{
    if (size == 0)
        return 0;
    int err = prepare_write(file, position, size);
    if (err)
        return err;
    ssize_t n = data ? transfer(file, position, NULL, data, size)
                     : transfer(file, position, NULL, NULL, size);
    if (n > 0) {
        if (position + (uint64_t)n > file->size)
            file->size = (uint32_t)(position + (uint64_t)n);
        file->entry_dirty = true;
    }
    return n;
}

ssize_t fat_write(struct fat_file *file, const void *buffer, size_t size)
{
    struct fat_write_plan plan;
    ssize_t planned = fat_write_plan(file, buffer, size, &plan);
    if (planned <= 0)
        return planned;
    return fat_write_commit(file, &plan, fat_write_pieces(file->volume, &plan, buffer));
}

/* The next piece of a planned write at `at` (in the file), `left` bytes of it remaining:
 * a partial sector is written here and now (returns its bytes, count unchanged); whole sectors
 * are added to the plan (returns their bytes).  0: the plan is full. */
static ssize_t plan_piece(struct fat_file *file, uint64_t at, const uint8_t *data, size_t left,
                          struct fat_write_plan *plan)
{
    struct fat_volume *vol = file->volume;
    uint32_t cluster, run_left;
    int r = fat_map_cluster(file, (uint32_t)(at / vol->cluster_size), &cluster, &run_left);
    if (r <= 0)
        return r < 0 ? r : -EIO; /* ensure_clusters made the chain long enough */
    uint32_t within = (uint32_t)(at % vol->cluster_size);
    if (within % vol->sector_size || left < vol->sector_size) {
        size_t n = MIN(left, (size_t)(vol->sector_size - within % vol->sector_size));
        ssize_t done = transfer(file, at, NULL, data, n);
        return done == (ssize_t)n ? done : (done < 0 ? done : -EIO);
    }
    if (plan->count == FAT_WRITE_PIECES)
        return 0;
    uint64_t contiguous = (uint64_t)run_left * vol->cluster_size - within;
    uint64_t sectors = MIN((uint64_t)left, contiguous) / vol->sector_size;
    sectors = MIN(sectors, (uint64_t)REQUEST_SECTORS);
    plan->pieces[plan->count].sector = fat_cluster_sector(vol, cluster) + within / vol->sector_size;
    plan->pieces[plan->count].sectors = (uint32_t)sectors;
    plan->pieces[plan->count].data_offset = (size_t)(at - plan->start);
    plan->count++;
    return (ssize_t)(sectors * vol->sector_size);
}

ssize_t fat_write_plan(struct fat_file *file, const void *buffer, size_t size,
                       struct fat_write_plan *plan)
{
    struct fat_volume *vol = file->volume;
    plan->count = 0;
    if (!(file->flags & FAT_O_WRITE))
        return -EBADF;
    if (file->flags & FAT_O_APPEND)
        file->position = file->size;
    uint64_t position = file->position;
    plan->start = plan->end = position;
    if (size == 0)
        return 0;
    int err = prepare_write(file, position, size);
    if (err)
        return err;
    size_t planned = 0;
    while (planned < size) {
        ssize_t n = plan_piece(file, position + planned, (const uint8_t *)buffer + planned,
                               size - planned, plan);
        if (n < 0) {
            if (planned)
                break; /* commit what was planned; the error shows on the next call */
            return n;
        }
        if (n == 0)
            break;
        planned += (size_t)n;
    }
    vol->data_unflushed = true;
    plan->end = position + planned;
    file->position = plan->end;
    file->writes_in_flight++;
    return (ssize_t)planned;
}

int fat_write_pieces(struct fat_volume *vol, const struct fat_write_plan *plan, const void *buffer)
{
    for (size_t i = 0; i < plan->count; i++) {
        int err = fat_device_write(vol, plan->pieces[i].sector, plan->pieces[i].sectors,
                                   (const uint8_t *)buffer + plan->pieces[i].data_offset);
        if (err)
            return err;
    }
    return 0;
}

ssize_t fat_write_commit(struct fat_file *file, const struct fat_write_plan *plan, int status)
{
    file->writes_in_flight--;
    if (status < 0) {
        if (file->position == plan->end) /* nobody wrote after it: undo the reservation */
            file->position = plan->start;
        return status;
    }
    if (plan->end > file->size)
        file->size = (uint32_t)plan->end;
    file->entry_dirty = true;
    return (ssize_t)(plan->end - plan->start);
}

int64_t fat_seek(struct fat_file *file, int64_t offset, int whence)
{
    int64_t base = whence == FAT_SEEK_SET   ? 0
                   : whence == FAT_SEEK_CUR ? (int64_t)file->position
                   : whence == FAT_SEEK_END ? (int64_t)file->size
                                            : -1;
    if (base < 0)
        return -EINVAL;
    if ((offset < 0 && -offset > base) || (offset > 0 && offset > INT64_MAX - base))
        return -EINVAL;
    file->position = (uint64_t)(base + offset);
    return (int64_t)file->position;
}

/* Puts the file's size and first cluster into its (cached) directory entry; the cache's flush
 * order writes it only after the chain it points to. */
static int publish_entry(struct fat_file *file)
{
    struct fat_volume *vol = file->volume;
    if (file->entry_dirty) {
        uint8_t *data;
        int err = fat_cache_get(vol, file->entry_sector, false, &data);
        if (err)
            return err;
        uint8_t raw[32];
        memcpy(raw, data + file->entry_offset, sizeof(raw));
        fat_entry_set_cluster(raw, file->first_cluster);
        put_le32(raw + 28, file->size);
        uint16_t date, time;
        fat_now(vol, &date, &time);
        put_le16(raw + 22, time);
        put_le16(raw + 24, date);
        put_le16(raw + 18, date);
        raw[11] |= FAT_ATTR_ARCHIVE;
        err = fat_write_entry(vol, file->entry_sector, file->entry_offset, raw);
        if (err)
            return err;
        file->entry_dirty = false;
    }
    return 0;
}

int fat_file_sync(struct fat_file *file)
{
    if (!(file->flags & FAT_O_WRITE))
        return 0;
    int err = publish_entry(file);
    return err ? err : fat_volume_sync(file->volume);
}

int fat_truncate(struct fat_file *file, uint64_t size)
{
    struct fat_volume *vol = file->volume;
    if (!(file->flags & FAT_O_WRITE))
        return -EBADF;
    if (file->writes_in_flight)
        return -EBUSY; /* freed clusters could be reused under a write still being done */
    if (size > FILE_SIZE_MAX)
        return -EFBIG;
    if (size > file->size) {
        ssize_t n = write_at(file, file->size, NULL, (size_t)(size - file->size));
        return n < 0 ? (int)n : 0;
    }
    int err = map_complete(file);
    if (err)
        return err;
    uint32_t keep = (uint32_t)DIV_ROUND_UP(size, vol->cluster_size);
    uint32_t old_first = file->first_cluster;
    file->size = (uint32_t)size;
    file->entry_dirty = true;
    if (keep >= file->mapped_clusters)
        return fat_file_sync(file);
    /* The entry stops covering the tail (durably) before the tail is cut, and the cut is
     * durable before the tail's clusters are freed. */
    uint32_t tail = 0;
    if (keep == 0) {
        file->first_cluster = 0;
        tail = old_first;
        err = fat_file_sync(file);
    } else {
        uint32_t last, left;
        if (fat_map_cluster(file, keep - 1, &last, &left) != 1)
            return -EUCLEAN;
        err = fat_file_sync(file);
        if (!err && fat_next_cluster(vol, last, &tail) != 1)
            err = -EUCLEAN;
        if (!err)
            err = fat_set_entry(vol, last, fat_end_of_chain(vol), FAT_PHASE_CHAIN);
        if (!err)
            err = fat_volume_sync(vol);
    }
    if (!err)
        err = fat_free_chain(vol, tail);
    runs_reset(file);
    return err;
}

int fat_close(struct fat_file *file)
{
    struct fat_volume *vol = file->volume;
    int err = (file->flags & FAT_O_WRITE) ? publish_entry(file) : 0;
    for (struct fat_file **link = &vol->open_files; *link; link = &(*link)->next_open) {
        if (*link == file) {
            *link = file->next_open;
            break;
        }
    }
    vol->open_count--;
    kfree(file->runs);
    kfree(file->bounce);
    kfree(file);
    return err;
}

int fat_file_stat(struct fat_file *file, struct fat_stat *out)
{
    uint8_t *data;
    int err = fat_cache_get(file->volume, file->entry_sector, false, &data);
    if (err)
        return err;
    fat_entry_to_stat(data + file->entry_offset, file->volume, out);
    out->size = file->size;
    out->first_cluster = file->first_cluster;
    return 0;
}

int fat_file_extents(struct fat_file *file, struct fat_extent *out, size_t max)
{
    struct fat_volume *vol = file->volume;
    int err = map_complete(file);
    if (err)
        return err;
    if ((uint64_t)file->mapped_clusters * vol->cluster_size < file->size)
        return -EUCLEAN; /* extents that do not cover the size would export a short copy */
    uint64_t blocks_per_cluster = (uint64_t)vol->sectors_per_cluster * vol->blocks_per_sector;
    for (uint32_t i = 0; i < file->run_count && i < max; i++) {
        const struct fat_run *run = &file->runs[i];
        out[i].file_offset = (uint64_t)run->file_cluster * vol->cluster_size;
        out[i].lba = fat_cluster_sector(vol, run->cluster) * vol->blocks_per_sector;
        out[i].block_count = run->length * blocks_per_cluster;
    }
    return (int)file->run_count;
}

int fat_file_allocate(struct fat_file *file, uint64_t size, bool contiguous)
{
    struct fat_volume *vol = file->volume;
    if (!(file->flags & FAT_O_WRITE))
        return -EBADF;
    if (size > FILE_SIZE_MAX)
        return -EFBIG;
    if (size <= file->size)
        return 0;
    int err = map_complete(file);
    if (err)
        return err;
    uint32_t had = file->mapped_clusters;
    err = ensure_clusters(file, (uint32_t)DIV_ROUND_UP(size, vol->cluster_size), contiguous);
    if (err)
        return err;
    /* New clusters are zeroed run by run (large requests), old slack by a normal write. */
    for (uint32_t i = 0; i < file->run_count; i++) {
        const struct fat_run *run = &file->runs[i];
        if (run->file_cluster + run->length <= had)
            continue;
        uint32_t skip = had > run->file_cluster ? had - run->file_cluster : 0;
        err = fat_zero_clusters(vol, run->cluster + skip, run->length - skip);
        if (err)
            return err;
    }
    uint64_t slack_end = MIN(size, (uint64_t)had * vol->cluster_size);
    if (slack_end > file->size) {
        ssize_t n = transfer(file, file->size, NULL, NULL, (size_t)(slack_end - file->size));
        if (n < 0)
            return (int)n;
    }
    vol->data_unflushed = true;
    file->size = (uint32_t)size;
    file->entry_dirty = true;
    return fat_file_sync(file);
}

int fat_file_reserve(struct fat_file *file, uint64_t size, bool contiguous)
{
    if (!(file->flags & FAT_O_WRITE))
        return -EBADF;
    if (size > FILE_SIZE_MAX)
        return -EFBIG;
    int err = fat_mark_dirty(file->volume);
    if (err)
        return err;
    return ensure_clusters(file, (uint32_t)DIV_ROUND_UP(size, file->volume->cluster_size),
                           contiguous);
}

int fat_file_commit(struct fat_file *file, uint64_t size)
{
    struct fat_volume *vol = file->volume;
    if (!(file->flags & FAT_O_WRITE))
        return -EBADF;
    int err = map_complete(file);
    if (err)
        return err;
    if (size > (uint64_t)file->mapped_clusters * vol->cluster_size || size > FILE_SIZE_MAX)
        return -EINVAL;
    if (size <= file->size)
        return 0;
    /* the data went around us: the next flush must make it durable before the entry */
    vol->data_unflushed = true;
    file->size = (uint32_t)size;
    file->entry_dirty = true;
    return 0;
}

/* ---- parallel reads (see fat_read_plan in <rayos/fat.h>) ---- */

ssize_t fat_read_plan(struct fat_file *file, size_t size, struct fat_read_piece *pieces, size_t max,
                      size_t *count)
{
    struct fat_volume *vol = file->volume;
    *count = 0;
    if (!(file->flags & FAT_O_READ))
        return -EBADF;
    if (file->flags & FAT_O_WRITE)
        return -EINVAL; /* its clusters could change under the unlocked transfer */
    if (file->position >= file->size)
        return 0;
    size = (size_t)MIN((uint64_t)size, file->size - file->position);
    size_t planned = 0;
    while (planned < size && *count < max) {
        uint64_t at = file->position + planned;
        uint32_t cluster, run_left;
        int r = fat_map_cluster(file, (uint32_t)(at / vol->cluster_size), &cluster, &run_left);
        if (r <= 0) {
            if (planned)
                break;
            return r < 0 ? r : -EUCLEAN;
        }
        uint32_t within = (uint32_t)(at % vol->cluster_size);
        uint64_t contiguous = (uint64_t)run_left * vol->cluster_size - within;
        uint32_t length = (uint32_t)MIN(MIN((uint64_t)(size - planned), contiguous),
                                        (uint64_t)REQUEST_SECTORS * vol->sector_size);
        pieces[(*count)++] =
            (struct fat_read_piece){fat_cluster_sector(vol, cluster) + within / vol->sector_size,
                                    within % vol->sector_size, length};
        planned += length;
    }
    file->position += planned;
    return (ssize_t)planned;
}

/* One piece: whole sectors straight into the buffer, a partial first or last sector through a
 * bounce buffer of the caller's (never the file's: other threads may be reading it too). */
static int read_piece(struct fat_volume *vol, const struct fat_read_piece *piece, uint8_t *out,
                      uint8_t **bounce)
{
    uint64_t sector = piece->sector;
    uint32_t offset = piece->offset, left = piece->length;
    while (left) {
        if (offset || left < vol->sector_size) {
            if (!*bounce && !(*bounce = kmalloc(vol->sector_size)))
                return -ENOMEM;
            uint32_t n = MIN(left, vol->sector_size - offset);
            int err = fat_device_read(vol, sector, 1, *bounce);
            if (err)
                return err;
            memcpy(out, *bounce + offset, n);
            out += n;
            left -= n;
            offset = 0;
            sector++;
            continue;
        }
        uint32_t sectors = left / vol->sector_size;
        int err = fat_device_read(vol, sector, sectors, out);
        if (err)
            return err;
        out += (size_t)sectors * vol->sector_size;
        left -= sectors * vol->sector_size;
        sector += sectors;
    }
    return 0;
}

int fat_read_pieces(struct fat_volume *vol, const struct fat_read_piece *pieces, size_t count,
                    void *buffer)
{
    uint8_t *out = buffer, *bounce = NULL;
    int err = 0;
    for (size_t i = 0; i < count && !err; i++) {
        err = read_piece(vol, &pieces[i], out, &bounce);
        out += pieces[i].length;
    }
    kfree(bounce);
    return err;
}
