/* bootmod: the boot modules as a read-only filesystem, one flat directory of files whose bytes
 * are the modules' own memory (reserved for the whole run, so nothing is copied).  Mounted at
 * /boot/modules by the root setup (fs/root.c). */
#include <rayos/boot_modules.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/string.h>
#include <rayos/vfs.h>

struct bootmod_file {
    struct boot_module_file module;
    uint64_t position;
};

struct bootmod_dir {
    unsigned next;
};

static int bootmod_mount(const struct block_io *io, unsigned flags, void **volume)
{
    if (io || !(flags & VFS_MOUNT_READ_ONLY))
        return -EINVAL; /* memory the loader gave us: never a device, never written */
    *volume = NULL;
    return 0;
}

static int bootmod_unmount(void *volume)
{
    return 0;
}

static int bootmod_nothing_to_sync(void *volume)
{
    return 0;
}

static int bootmod_statfs(void *volume, struct vfs_statfs *out)
{
    memset(out, 0, sizeof(*out));
    strlcpy(out->type, "bootmod", sizeof(out->type));
    out->block_size = 1;
    struct boot_module_file module;
    for (unsigned i = 0; boot_module_at(i, &module); i++)
        out->total_blocks += module.size;
    return 0;
}

static void module_stat(const struct boot_module_file *module, struct vfs_stat *out)
{
    *out = (struct vfs_stat){.size = module->size, .read_only = true};
}

/* path is normalised and starts with '/': "/" or "/NAME". */
static bool find_module(const char *path, struct boot_module_file *out)
{
    for (unsigned i = 0; boot_module_at(i, out); i++)
        if (strcmp(out->name, path + 1) == 0)
            return true;
    return false;
}

static int bootmod_stat(void *volume, const char *path, struct vfs_stat *out)
{
    if (strcmp(path, "/") == 0) {
        *out = (struct vfs_stat){.is_directory = true, .read_only = true};
        return 0;
    }
    struct boot_module_file module;
    if (!find_module(path, &module))
        return -ENOENT;
    module_stat(&module, out);
    return 0;
}

static int bootmod_open(void *volume, const char *path, unsigned flags, void **out)
{
    if (strcmp(path, "/") == 0)
        return -EISDIR;
    if (flags & (VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC | VFS_O_APPEND))
        return -EROFS;
    struct bootmod_file *file = kzalloc(sizeof(*file));
    if (!file)
        return -ENOMEM;
    if (!find_module(path, &file->module)) {
        kfree(file);
        return -ENOENT;
    }
    *out = file;
    return 0;
}

static ssize_t bootmod_read(void *handle, void *buffer, size_t size)
{
    struct bootmod_file *file = handle;
    if (file->position >= file->module.size)
        return 0;
    size_t n = MIN(size, file->module.size - file->position);
    memcpy(buffer, (const char *)file->module.data + file->position, n);
    file->position += n;
    return (ssize_t)n;
}

static ssize_t bootmod_write(void *handle, const void *buffer, size_t size)
{
    return -EROFS;
}

static int64_t bootmod_seek(void *handle, int64_t offset, int whence)
{
    struct bootmod_file *file = handle;
    int64_t base = whence == VFS_SEEK_SET   ? 0
                   : whence == VFS_SEEK_CUR ? (int64_t)file->position
                   : whence == VFS_SEEK_END ? (int64_t)file->module.size
                                            : -1;
    if (base < 0 || offset < -base)
        return -EINVAL;
    file->position = (uint64_t)(base + offset);
    return (int64_t)file->position;
}

static int bootmod_truncate(void *handle, uint64_t size)
{
    return -EROFS;
}

static int bootmod_file_sync(void *handle)
{
    return 0;
}

static int bootmod_close(void *handle)
{
    kfree(handle);
    return 0;
}

static int bootmod_fstat(void *handle, struct vfs_stat *out)
{
    module_stat(&((struct bootmod_file *)handle)->module, out);
    return 0;
}

static int bootmod_opendir(void *volume, const char *path, void **out)
{
    struct boot_module_file module;
    if (strcmp(path, "/") != 0)
        return find_module(path, &module) ? -ENOTDIR : -ENOENT;
    struct bootmod_dir *dir = kzalloc(sizeof(*dir));
    if (!dir)
        return -ENOMEM;
    *out = dir;
    return 0;
}

static int bootmod_readdir(void *handle, struct vfs_dirent *out)
{
    struct bootmod_dir *dir = handle;
    struct boot_module_file module;
    if (!boot_module_at(dir->next, &module))
        return 0;
    dir->next++;
    strlcpy(out->name, module.name, sizeof(out->name));
    module_stat(&module, &out->stat);
    return 1;
}

static int bootmod_closedir(void *handle)
{
    kfree(handle);
    return 0;
}

static int bootmod_read_only_path(void *volume, const char *path)
{
    return -EROFS;
}

static int bootmod_rename(void *volume, const char *old_path, const char *new_path)
{
    return -EROFS;
}

const struct filesystem_type bootmod_type = {
    .name = "bootmod",
    .without_device = true,
    .mount = bootmod_mount,
    .unmount = bootmod_unmount,
    .sync = bootmod_nothing_to_sync,
    .statfs = bootmod_statfs,
    .open = bootmod_open,
    .read = bootmod_read,
    .write = bootmod_write,
    .seek = bootmod_seek,
    .truncate = bootmod_truncate,
    .file_sync = bootmod_file_sync,
    .close = bootmod_close,
    .fstat = bootmod_fstat,
    .stat = bootmod_stat,
    .opendir = bootmod_opendir,
    .readdir = bootmod_readdir,
    .closedir = bootmod_closedir,
    .mkdir = bootmod_read_only_path,
    .rmdir = bootmod_read_only_path,
    .unlink = bootmod_read_only_path,
    .rename = bootmod_rename,
};
