/* The virtual filesystem: a mount table, path resolution across mount points, and one file API
 * for the kernel over any filesystem type (FAT, the in-memory ramfs, ...).  Paths are absolute
 * and mean what they mean in POSIX: repeated slashes are one, "/.." is "/", "." and ".." are
 * resolved against the directories walked (so "FILE/.." is ENOTDIR), a trailing slash asks
 * for a directory, and a last component "." or ".." makes rmdir, unlink, mkdir and rename fail
 * as on Linux.  Control characters and over-long names are errors.  Every function returns 0
 * (or a count) or a negative errno. */
#ifndef RAYOS_VFS_H
#define RAYOS_VFS_H

#include <rayos/block_io.h>
#include <rayos/types.h>

#define VFS_NAME_MAX 255 /* characters of one path component (FAT: UTF-16 units) */
/* bytes of one path component: 255 UTF-16 units take at most 765 bytes of UTF-8; each
 * filesystem checks its own limit (ramfs: 255 bytes) */
#define VFS_NAME_BYTES_MAX (VFS_NAME_MAX * 3)
#define VFS_PATH_MAX       1024 /* bytes of a whole path */

/* vfs_open flags */
#define VFS_O_READ   0x01u
#define VFS_O_WRITE  0x02u
#define VFS_O_CREATE 0x04u
#define VFS_O_EXCL   0x08u
#define VFS_O_TRUNC  0x10u
#define VFS_O_APPEND 0x20u

#define VFS_SEEK_SET 0
#define VFS_SEEK_CUR 1
#define VFS_SEEK_END 2

/* vfs_mount flags */
#define VFS_MOUNT_READ_ONLY 0x01u
#define VFS_MOUNT_QUIET     0x02u /* no log lines: a probe, not a mount anyone asked for */

struct vfs_stat {
    uint64_t size;
    bool is_directory;
    bool read_only;
    int64_t modified; /* seconds since 1970 (UTC); 0 if unknown */
    int64_t created;
};

struct vfs_dirent {
    char name[VFS_NAME_BYTES_MAX + 1];
    struct vfs_stat stat;
};

struct vfs_statfs {
    char type[8];
    uint64_t block_size;
    uint64_t total_blocks;
    uint64_t free_blocks;
    char label[24]; /* UTF-8 (FAT: 11 bytes, OEM bytes as Latin-1) */
    bool was_dirty; /* not cleanly unmounted last time */
};

/* A contiguous piece of a file on its device (for loop devices). */
struct vfs_extent {
    uint64_t file_offset; /* bytes */
    uint64_t lba;         /* in the device's blocks */
    uint64_t block_count;
};

/* A piece of a planned read, in the filesystem's own terms (FAT: a sector, the first byte
 * within it, a length contiguous on the device). */
struct vfs_read_piece {
    uint64_t where;
    uint32_t offset;
    uint32_t length;
};
#define VFS_READ_PIECES 16
struct vfs_read_plan {
    size_t count;
    struct vfs_read_piece pieces[VFS_READ_PIECES];
};

/* A filesystem type: handles are the filesystem's own (void *).  Paths handed to it are
 * normalised and relative to its mount point, starting with '/'. */
struct filesystem_type {
    const char *name;
    bool without_device; /* lives in memory (ramfs, bootmod): mounted with io NULL */
    /* io is NULL for filesystems without a device (ramfs). */
    int (*mount)(const struct block_io *io, unsigned flags, void **volume);
    int (*unmount)(void *volume);
    int (*sync)(void *volume);
    int (*statfs)(void *volume, struct vfs_statfs *out);
    int (*open)(void *volume, const char *path, unsigned flags, void **file);
    ssize_t (*read)(void *file, void *buffer, size_t size);
    ssize_t (*write)(void *file, const void *buffer, size_t size);
    int64_t (*seek)(void *file, int64_t offset, int whence);
    int (*truncate)(void *file, uint64_t size);
    int (*file_sync)(void *file);
    int (*close)(void *file);
    int (*fstat)(void *file, struct vfs_stat *out);
    int (*stat)(void *volume, const char *path, struct vfs_stat *out);
    int (*opendir)(void *volume, const char *path, void **dir);
    int (*readdir)(void *dir, struct vfs_dirent *out); /* 1 = entry, 0 = end */
    int (*closedir)(void *dir);
    int (*mkdir)(void *volume, const char *path);
    int (*rmdir)(void *volume, const char *path);
    int (*unlink)(void *volume, const char *path);
    int (*rename)(void *volume, const char *old_path, const char *new_path);
    /* Optional, for files opened read-only: reads in two steps so that readers of one volume
     * overlap.  read_plan runs under the mount's lock, maps up to size bytes at the position
     * into plan and moves the position (returns the bytes planned, 0 at the end, or an
     * error); read_pieces runs without it, on any number of CPUs at once, and moves the
     * bytes.  The filesystem guarantees the pieces stay valid while the file is open. */
    ssize_t (*read_plan)(void *file, size_t size, struct vfs_read_plan *plan);
    int (*read_pieces)(void *volume, const struct vfs_read_plan *plan, void *buffer);
    /* Optional: writes in three steps, so that writers of different files overlap.
     * write_begin (under the lock) allocates what the write needs, does any part that must
     * not race another writer, moves the position and returns the bytes planned with *plan;
     * write_pieces (without the lock) moves the bulk; write_end (under the lock) makes the
     * write visible (the size grows only now) and frees the plan, returning the bytes written
     * or the transfer's error. */
    ssize_t (*write_begin)(void *file, const void *buffer, size_t size, void **plan);
    int (*write_pieces)(void *volume, void *plan, const void *buffer);
    ssize_t (*write_end)(void *file, void *plan, int status);
    /* Optional: the file's on-device extents, and contiguous preallocation. */
    int (*extents)(void *file, struct vfs_extent *out, size_t max);
    int (*allocate)(void *file, uint64_t size, bool contiguous);
    /* Optional: a volume mounted read-only becomes writable (vfs_remount); without it, a
     * read-only mount stays read-only. */
    int (*make_writable)(void *volume);
};

struct vfs_file;
struct vfs_dir;

/* Normalises path into out (absolute, no "." or "..", no trailing '/'). */
int vfs_normalize_path(const char *path, char *out, size_t size);

/* Mounts a filesystem of the given type (NULL: try every registered type) from io at path.
 * source names the device ("vda1") for listings and removal. */
int vfs_mount(const struct filesystem_type *type, const struct block_io *io, const char *source,
              const char *path, unsigned flags);
int vfs_unmount(const char *path);
/* Changes the flags of the mount at path: clearing VFS_MOUNT_READ_ONLY makes a read-only mount
 * writable (the filesystem's make_writable; -EROFS when it has none or refuses, and the mount
 * stays read-only); clearing VFS_MOUNT_QUIET logs the mount as vfs_mount would have.  Making a
 * writable mount read-only, or setting QUIET, is not supported (-EINVAL); -EINVAL too when
 * nothing is mounted at path.  The root probe keeps the volume it chose this way instead of
 * mounting it a second time. */
int vfs_remount(const char *path, unsigned flags);
/* Unmounts everything (innermost first), for shutdown. */
void vfs_unmount_all(void);
/* The device under source went away: its mounts are dropped, open files return -ENODEV. */
void vfs_source_removed(const char *source);
int vfs_register_type(const struct filesystem_type *type);
const struct filesystem_type *vfs_find_type(const char *name);

/* Mount table iteration for df/mount listings. */
struct vfs_mount_info {
    char path[VFS_PATH_MAX];
    char source[32];
    const char *type;
    bool read_only;
};
bool vfs_mount_at(unsigned index, struct vfs_mount_info *out);

int vfs_open(const char *path, unsigned flags, struct vfs_file **out);
ssize_t vfs_read(struct vfs_file *file, void *buffer, size_t size);
ssize_t vfs_write(struct vfs_file *file, const void *buffer, size_t size);
int64_t vfs_seek(struct vfs_file *file, int64_t offset, int whence);
int vfs_truncate(struct vfs_file *file, uint64_t size);
int vfs_file_sync(struct vfs_file *file);
int vfs_close(struct vfs_file *file);
int vfs_fstat(struct vfs_file *file, struct vfs_stat *out);
int vfs_extents(struct vfs_file *file, struct vfs_extent *out, size_t max);
int vfs_allocate(struct vfs_file *file, uint64_t size, bool contiguous);
/* The name of the device a file lives on ("vda1"; "ramfs" and the like for memory). */
const char *vfs_file_source(struct vfs_file *file);

int vfs_stat(const char *path, struct vfs_stat *out);
int vfs_opendir(const char *path, struct vfs_dir **out);
int vfs_readdir(struct vfs_dir *dir, struct vfs_dirent *out);
int vfs_closedir(struct vfs_dir *dir);
int vfs_mkdir(const char *path);
int vfs_rmdir(const char *path);
int vfs_unlink(const char *path);
int vfs_rename(const char *old_path, const char *new_path);
int vfs_sync(const char *path); /* NULL: every mounted filesystem */
int vfs_statfs(const char *path, struct vfs_statfs *out);

/* Whole-file helpers: read at most max bytes (-EFBIG beyond), write replacing the file. */
int vfs_read_file(const char *path, size_t max, char **data, size_t *length);
int vfs_write_file(const char *path, const void *data, size_t length);

extern const struct filesystem_type ramfs_type;
extern const struct filesystem_type bootmod_type; /* the boot modules, read-only */

#endif
