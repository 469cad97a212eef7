/* FAT12/16/32 filesystem library with long names: portable, storage only through struct
 * block_io, so the kernel and the host tool rayfs share it.  Every function returns 0 (or a
 * count) on success and a negative error code from <rayos/errno.h> on failure.
 * On-disk guarantees and write ordering: docs/FAT.md. */
#ifndef RAYOS_FAT_H
#define RAYOS_FAT_H

#include <rayos/block_io.h>
#include <rayos/types.h>

#define FAT_NAME_MAX      255 /* UTF-16 units in a long name */
#define FAT_NAME_UTF8_MAX (FAT_NAME_MAX * 3)
#define FAT_PATH_MAX      4096
#define FAT_LABEL_MAX     24 /* 11 bytes, Latin-1 as UTF-8, NUL */

struct fat_time {
    uint16_t year; /* 1980..2107 */
    uint8_t month, day, hour, minute, second;
};

/* Wall-clock source for timestamps; without one every timestamp is 1980-01-01 00:00:00. */
struct fat_clock {
    void *context;
    void (*now)(void *context, struct fat_time *out);
};

struct fat_volume;
struct fat_file;
struct fat_dir;

/* fat_mount flags */
#define FAT_MOUNT_READ_ONLY 1u

/* fat_open flags */
#define FAT_O_READ   0x01u
#define FAT_O_WRITE  0x02u
#define FAT_O_CREATE 0x04u /* create if missing (needs FAT_O_WRITE) */
#define FAT_O_EXCL   0x08u /* with FAT_O_CREATE: fail with -EEXIST if it exists */
#define FAT_O_TRUNC  0x10u /* truncate to zero length (needs FAT_O_WRITE) */
#define FAT_O_APPEND 0x20u /* every write goes to the end */

/* fat_seek whence */
#define FAT_SEEK_SET 0
#define FAT_SEEK_CUR 1
#define FAT_SEEK_END 2

/* Attribute bits as stored on disk */
#define FAT_ATTR_READ_ONLY 0x01
#define FAT_ATTR_HIDDEN    0x02
#define FAT_ATTR_SYSTEM    0x04
#define FAT_ATTR_VOLUME_ID 0x08
#define FAT_ATTR_DIRECTORY 0x10
#define FAT_ATTR_ARCHIVE   0x20

struct fat_stat {
    uint64_t size;
    uint8_t attributes;
    bool is_directory;
    uint32_t first_cluster;
    struct fat_time modified;
    struct fat_time created;
    struct fat_time accessed; /* date only */
};

struct fat_dirent {
    char name[FAT_NAME_UTF8_MAX + 1]; /* long name if present and valid, else the 8.3 name */
    char short_name[13];              /* "NAME.EXT" as stored (upper case) */
    struct fat_stat stat;
};

struct fat_statfs {
    unsigned fat_type; /* 12, 16 or 32 */
    uint32_t sector_size;
    uint32_t cluster_size;
    uint32_t cluster_count;
    uint32_t free_clusters;
    uint32_t volume_id;
    char label[FAT_LABEL_MAX]; /* the root directory's label entry (as fatlabel, mtools) */
    bool was_dirty;            /* the volume was not cleanly unmounted before this mount */
    bool free_count_hint_bad;  /* FAT32 FSInfo has wrong signatures: ignored, never written */
    bool rename_pending;       /* read-only mount: an interrupted rename awaits a writable one */
    int rename_recovered;      /* FAT_MOVE_*: what this mount did about an interrupted rename */
};

/* What a mount found of an interrupted rename (docs/FAT.md, "Moves and renames"). */
enum {
    FAT_MOVE_NONE = 0,      /* nothing was interrupted */
    FAT_MOVE_COMPLETED = 1, /* the entry is at its new place */
    FAT_MOVE_UNDONE = 2,    /* the entry is back at its old place */
    FAT_MOVE_DISCARDED = 3, /* a damaged record: the rename had not begun */
};

/* A contiguous piece of a file on the device, in the block_io's blocks. */
struct fat_extent {
    uint64_t file_offset; /* bytes */
    uint64_t lba;
    uint64_t block_count;
};

int fat_mount(const struct block_io *io, unsigned flags, const struct fat_clock *clock,
              struct fat_volume **out);
/* Makes a volume mounted read-only writable, as if mounted writable (an interrupted rename is
 * settled now); 0 if it was.  -EROFS when the device is read-only or the volume is larger than
 * the device; on any error the volume stays read-only. */
int fat_make_writable(struct fat_volume *volume);
/* Flushes, clears the dirty bits and frees the volume (also when the flush fails).  Fails
 * with -EBUSY, and frees nothing, while files or directories are open. */
int fat_unmount(struct fat_volume *volume);
/* Makes everything written so far durable (metadata in crash-safe order, then a device flush). */
int fat_sync(struct fat_volume *volume);
int fat_statfs(struct fat_volume *volume, struct fat_statfs *out);
/* Sets the volume label in the root directory's label entry and in the boot sector (and FAT32's
 * backup boot sector), like fatlabel; NULL or "" removes it ("NO NAME" in the boot sector).
 * At most 11 printable ASCII characters without " * + , . / : ; < = > ? [ \ ] | (-EINVAL). */
int fat_set_label(struct fat_volume *volume, const char *label);

int fat_open(struct fat_volume *volume, const char *path, unsigned flags, struct fat_file **out);
ssize_t fat_read(struct fat_file *file, void *buffer, size_t size);
ssize_t fat_write(struct fat_file *file, const void *buffer, size_t size);

/* Reads in two steps, so that several threads can read one volume at once: fat_read_plan
 * (under whatever lock serialises calls into the volume) maps up to size bytes at the file's
 * position into at most max pieces and moves the position past them; fat_read_pieces (without
 * that lock, on any number of CPUs at once) moves the bytes.  Only for files opened read-only:
 * such a file cannot be written, truncated or removed while open, so its clusters stay put.
 * fat_read_plan returns the bytes planned (0 at the end of the file; a chain shorter than the
 * size gives what it covers, then -EUCLEAN, like fat_read) and sets *count. */
/* Writes in three steps, likewise: fat_write_plan (under the volume's lock) allocates the
 * clusters, writes any partial first and last sector itself (a read-modify-write must not race
 * another writer of the same sector), moves the position and returns the whole sectors left
 * in plan; fat_write_pieces (without the lock) writes them; fat_write_commit (under the lock
 * again) grows the file's size over them, only once they are written, so a sync never
 * publishes a size that covers data not yet written.  fat_write is exactly these three. */
#define FAT_WRITE_PIECES 16
struct fat_write_plan {
    uint64_t start, end; /* the file bytes planned */
    size_t count;
    struct {
        uint64_t sector;    /* filesystem sector */
        uint32_t sectors;   /* whole sectors */
        size_t data_offset; /* where in the caller's buffer they come from */
    } pieces[FAT_WRITE_PIECES];
};
ssize_t fat_write_plan(struct fat_file *file, const void *buffer, size_t size,
                       struct fat_write_plan *plan);
int fat_write_pieces(struct fat_volume *volume, const struct fat_write_plan *plan,
                     const void *buffer);
/* status: what fat_write_pieces returned.  Returns the bytes written or status. */
ssize_t fat_write_commit(struct fat_file *file, const struct fat_write_plan *plan, int status);

struct fat_read_piece {
    uint64_t sector; /* filesystem sector */
    uint32_t offset; /* first byte within it */
    uint32_t length; /* bytes, from there on, contiguous on the device */
};
ssize_t fat_read_plan(struct fat_file *file, size_t size, struct fat_read_piece *pieces, size_t max,
                      size_t *count);
int fat_read_pieces(struct fat_volume *volume, const struct fat_read_piece *pieces, size_t count,
                    void *buffer);
/* Returns the new position (a position past the end is allowed; writing there zero-fills). */
int64_t fat_seek(struct fat_file *file, int64_t offset, int whence);
int fat_truncate(struct fat_file *file, uint64_t size);
/* Publishes the file's size and clusters and makes them (and everything before) durable. */
int fat_file_sync(struct fat_file *file);
/* Publishes the file's size and clusters (durable at the next sync or unmount) and frees it. */
int fat_close(struct fat_file *file);
int fat_file_stat(struct fat_file *file, struct fat_stat *out);
/* Fills up to max extents covering the file's allocated clusters (not just its size); returns
 * the total number of extents (which may exceed max). */
int fat_file_extents(struct fat_file *file, struct fat_extent *out, size_t max);
/* Grows the file to at least size bytes with zero-filled clusters; with contiguous the new
 * clusters form one run after the existing ones (-ENOSPC if no such run exists). */
int fat_file_allocate(struct fat_file *file, uint64_t size, bool contiguous);
/* Makes the chain cover at least size bytes without changing the file's size (the new clusters
 * are not zeroed and not readable until committed). */
int fat_file_reserve(struct fat_file *file, uint64_t size, bool contiguous);
/* The caller has written the bytes up to size straight to the device through the extents of
 * reserved clusters; the file grows to size (-EINVAL beyond the chain).  Like a write, the new
 * size reaches the disk after the data (at close, sync or unmount). */
int fat_file_commit(struct fat_file *file, uint64_t size);

int fat_stat(struct fat_volume *volume, const char *path, struct fat_stat *out);
int fat_opendir(struct fat_volume *volume, const char *path, struct fat_dir **out);
/* Returns 1 with the next entry ("." and ".." are skipped), 0 at the end, or an error. */
int fat_readdir(struct fat_dir *dir, struct fat_dirent *out);
int fat_closedir(struct fat_dir *dir);
int fat_mkdir(struct fat_volume *volume, const char *path);
int fat_rmdir(struct fat_volume *volume, const char *path);
int fat_unlink(struct fat_volume *volume, const char *path);
/* Renames or moves a file or directory; the target must not exist. */
int fat_rename(struct fat_volume *volume, const char *old_path, const char *new_path);

struct fat_mkfs_options {
    unsigned fat_type;     /* 0 = by size (like mkfs.fat), or 12, 16, 32 */
    uint32_t sector_size;  /* 0 = the device's block size; else 512..4096, >= block size */
    uint32_t cluster_size; /* bytes; 0 = by size */
    uint32_t volume_id;
    const char *label; /* up to 11 characters, NULL for "NO NAME" */
};
int fat_mkfs(const struct block_io *io, const struct fat_mkfs_options *options);

struct fat_check_result {
    unsigned errors; /* damage: cross-links, bad chains, entries pointing at free clusters... */
    unsigned
        warnings; /* harmless: dirty bit, lost clusters, stale FSInfo, chain longer than size */
    uint32_t lost_clusters;
    uint32_t files;
    uint32_t directories;
    uint32_t used_clusters;
    uint32_t free_clusters;
};
/* Read-only consistency check.  report (may be NULL) gets one line per finding.  Returns 0 when
 * the check ran (see result->errors), or a negative error if the volume cannot be read at all. */
int fat_check(const struct block_io *io, void (*report)(void *context, const char *message),
              void *context, struct fat_check_result *result);
/* Repairs what fsck.fat -a repairs (docs/FAT.md, "Repair"), reporting each fix ("fixed: ...");
 * *fixes counts them.  Crash-safe: a cut during a repair leaves a volume another repair
 * fixes.  Files nothing is wrong with are never written. */
int fat_repair(const struct block_io *io, void (*report)(void *context, const char *message),
               void *context, unsigned *fixes);

#endif
