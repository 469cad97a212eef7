/* FAT under the VFS: translates the VFS's calls to the portable FAT library, and gives it the
 * kernel's wall clock for timestamps. */
#include <rayos/errno.h>
#include <rayos/fat.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include <rayos/vfs.h>

static void clock_now(void *context, struct fat_time *out)
{
    struct wall_time t;
    time_wall(&t);
    *out = (struct fat_time){t.year, t.month, t.day, t.hour, t.minute, t.second};
}

static const struct fat_clock kernel_clock = {NULL, clock_now};

static int64_t to_unix(const struct fat_time *t)
{
    if (t->year < 1980)
        return 0;
    struct wall_time w = {t->year, t->month, t->day, t->hour, t->minute, t->second};
    return time_to_unix(&w);
}

static void convert_stat(const struct fat_stat *in, struct vfs_stat *out)
{
    memset(out, 0, sizeof(*out));
    out->size = in->size;
    out->is_directory = in->is_directory;
    out->read_only = in->attributes & FAT_ATTR_READ_ONLY;
    out->modified = to_unix(&in->modified);
    out->created = to_unix(&in->created);
}

static int vfat_mount(const struct block_io *io, unsigned flags, void **volume)
{
    if (!io)
        return -ENODEV;
    return fat_mount(io, (flags & VFS_MOUNT_READ_ONLY) ? FAT_MOUNT_READ_ONLY : 0, &kernel_clock,
                     (struct fat_volume **)volume);
}

static int vfat_make_writable(void *volume)
{
    return fat_make_writable(volume);
}

static int vfat_unmount(void *volume)
{
    return fat_unmount(volume);
}

static int vfat_sync(void *volume)
{
    return fat_sync(volume);
}

static int vfat_statfs(void *volume, struct vfs_statfs *out)
{
    struct fat_statfs s;
    int error = fat_statfs(volume, &s);
    if (error)
        return error;
    memset(out, 0, sizeof(*out));
    snprintf(out->type, sizeof(out->type), "fat%u", s.fat_type);
    out->block_size = s.cluster_size;
    out->total_blocks = s.cluster_count;
    out->free_blocks = s.free_clusters;
    strlcpy(out->label, s.label, sizeof(out->label));
    out->was_dirty = s.was_dirty;
    return 0;
}

static int vfat_open(void *volume, const char *path, unsigned flags, void **file)
{
    unsigned fat_flags = 0;
    if (flags & VFS_O_READ)
        fat_flags |= FAT_O_READ;
    if (flags & VFS_O_WRITE)
        fat_flags |= FAT_O_WRITE;
    if (flags & VFS_O_CREATE)
        fat_flags |= FAT_O_CREATE | FAT_O_WRITE;
    if (flags & VFS_O_EXCL)
        fat_flags |= FAT_O_EXCL;
    if (flags & VFS_O_TRUNC)
        fat_flags |= FAT_O_TRUNC | FAT_O_WRITE;
    if (flags & VFS_O_APPEND)
        fat_flags |= FAT_O_APPEND | FAT_O_WRITE;
    return fat_open(volume, path, fat_flags, (struct fat_file **)file);
}

static ssize_t vfat_read(void *file, void *buffer, size_t size)
{
    return fat_read(file, buffer, size);
}

static ssize_t vfat_read_plan(void *file, size_t size, struct vfs_read_plan *plan)
{
    struct fat_read_piece pieces[VFS_READ_PIECES];
    ssize_t planned = fat_read_plan(file, size, pieces, VFS_READ_PIECES, &plan->count);
    for (size_t i = 0; i < plan->count; i++)
        plan->pieces[i] =
            (struct vfs_read_piece){pieces[i].sector, pieces[i].offset, pieces[i].length};
    return planned;
}

static int vfat_read_pieces(void *volume, const struct vfs_read_plan *plan, void *buffer)
{
    struct fat_read_piece pieces[VFS_READ_PIECES];
    for (size_t i = 0; i < plan->count && i < VFS_READ_PIECES; i++)
        pieces[i] = (struct fat_read_piece){plan->pieces[i].where, plan->pieces[i].offset,
                                            plan->pieces[i].length};
    return fat_read_pieces(volume, pieces, MIN(plan->count, (size_t)VFS_READ_PIECES), buffer);
}

static ssize_t vfat_write_begin(void *file, const void *buffer, size_t size, void **plan)
{
    struct fat_write_plan *p = kmalloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    ssize_t planned = fat_write_plan(file, buffer, size, p);
    if (planned <= 0)
        kfree(p);
    else
        *plan = p;
    return planned;
}

static int vfat_write_pieces(void *volume, void *plan, const void *buffer)
{
    return fat_write_pieces(volume, plan, buffer);
}

static ssize_t vfat_write_end(void *file, void *plan, int status)
{
    ssize_t written = fat_write_commit(file, plan, status);
    kfree(plan);
    return written;
}

static ssize_t vfat_write(void *file, const void *buffer, size_t size)
{
    return fat_write(file, buffer, size);
}

static int64_t vfat_seek(void *file, int64_t offset, int whence)
{
    return fat_seek(file, offset, whence); /* VFS_SEEK_* equal FAT_SEEK_* */
}

static int vfat_truncate(void *file, uint64_t size)
{
    return fat_truncate(file, size);
}

static int vfat_file_sync(void *file)
{
    return fat_file_sync(file);
}

static int vfat_close(void *file)
{
    return fat_close(file);
}

static int vfat_fstat(void *file, struct vfs_stat *out)
{
    struct fat_stat s;
    int error = fat_file_stat(file, &s);
    if (!error)
        convert_stat(&s, out);
    return error;
}

static int vfat_stat(void *volume, const char *path, struct vfs_stat *out)
{
    struct fat_stat s;
    int error = fat_stat(volume, path, &s);
    if (!error)
        convert_stat(&s, out);
    return error;
}

static int vfat_opendir(void *volume, const char *path, void **dir)
{
    return fat_opendir(volume, path, (struct fat_dir **)dir);
}

static int vfat_readdir(void *dir, struct vfs_dirent *out)
{
    struct fat_dirent *entry = kmalloc(sizeof(*entry)); /* ~800 bytes: not on the stack */
    if (!entry)
        return -ENOMEM;
    int result = fat_readdir(dir, entry);
    if (result == 1) {
        strlcpy(out->name, entry->name, sizeof(out->name));
        convert_stat(&entry->stat, &out->stat);
    }
    kfree(entry);
    return result;
}

static int vfat_closedir(void *dir)
{
    return fat_closedir(dir);
}

static int vfat_mkdir(void *volume, const char *path)
{
    return fat_mkdir(volume, path);
}

static int vfat_rmdir(void *volume, const char *path)
{
    return fat_rmdir(volume, path);
}

static int vfat_unlink(void *volume, const char *path)
{
    return fat_unlink(volume, path);
}

static int vfat_rename(void *volume, const char *old_path, const char *new_path)
{
    return fat_rename(volume, old_path, new_path);
}

static int vfat_extents(void *file, struct vfs_extent *out, size_t max)
{
    struct fat_extent *extents = max ? kcalloc(max, sizeof(*extents)) : NULL;
    if (max && !extents)
        return -ENOMEM;
    int total = fat_file_extents(file, extents, max);
    for (size_t i = 0; total > 0 && i < max && i < (size_t)total; i++)
        out[i] =
            (struct vfs_extent){extents[i].file_offset, extents[i].lba, extents[i].block_count};
    kfree(extents);
    return total;
}

static int vfat_allocate(void *file, uint64_t size, bool contiguous)
{
    return fat_file_allocate(file, size, contiguous);
}

static const struct filesystem_type fat_type = {
    .name = "fat",
    .mount = vfat_mount,
    .make_writable = vfat_make_writable,
    .unmount = vfat_unmount,
    .sync = vfat_sync,
    .statfs = vfat_statfs,
    .open = vfat_open,
    .read = vfat_read,
    .read_plan = vfat_read_plan,
    .read_pieces = vfat_read_pieces,
    .write = vfat_write,
    .write_begin = vfat_write_begin,
    .write_pieces = vfat_write_pieces,
    .write_end = vfat_write_end,
    .seek = vfat_seek,
    .truncate = vfat_truncate,
    .file_sync = vfat_file_sync,
    .close = vfat_close,
    .fstat = vfat_fstat,
    .stat = vfat_stat,
    .opendir = vfat_opendir,
    .readdir = vfat_readdir,
    .closedir = vfat_closedir,
    .mkdir = vfat_mkdir,
    .rmdir = vfat_rmdir,
    .unlink = vfat_unlink,
    .rename = vfat_rename,
    .extents = vfat_extents,
    .allocate = vfat_allocate,
};

static int fat_vfs_register(void)
{
    int error = vfs_register_type(&fat_type);
    return error ? error : vfs_register_type(&ramfs_type);
}
INITCALL(fat_vfs_register, INIT_CORE);
