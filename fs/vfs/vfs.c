/* The VFS core: mount table, path resolution to (mount, path inside it), and dispatch to the
 * filesystem type.  Each mount has a lock held across every call into its filesystem, so two
 * users of one volume never interleave inside it; the exceptions are the bulk of a read from a
 * file opened read-only and of a write, which run unlocked where the filesystem supports it. */
#define pr_fmt(fmt) "vfs: " fmt
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/list.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/vfs.h>

#define TYPES_MAX 8

struct mount {
    struct list_node node;
    char path[VFS_PATH_MAX];
    size_t path_length;
    char source[32];
    const struct filesystem_type *type;
    void *volume;
    struct block_io io; /* the filesystem keeps a pointer to it, so it lives here */
    bool has_io;
    unsigned flags;
    unsigned open_count; /* open files and directories */
    unsigned pins;       /* open files and directories, plus calls in progress (table_lock) */
    bool removed;
    struct mutex lock;
};

struct vfs_file {
    struct mount *mount;
    void *handle;
    bool read_only; /* opened without any write flag */
};

struct vfs_dir {
    struct mount *mount;
    void *handle;
    char path[VFS_PATH_MAX];
    unsigned next_child_mount; /* mount points shown after the filesystem's own entries */
    bool filesystem_done;
};

static LIST_HEAD(mounts);
static const struct filesystem_type *types[TYPES_MAX];
static struct mutex table_lock = MUTEX_INIT("vfs mount table");

int vfs_register_type(const struct filesystem_type *type)
{
    for (unsigned i = 0; i < TYPES_MAX; i++) {
        if (types[i] == type)
            return 0;
        if (!types[i]) {
            types[i] = type;
            return 0;
        }
    }
    return -ENOSPC;
}

const struct filesystem_type *vfs_find_type(const char *name)
{
    for (unsigned i = 0; i < TYPES_MAX && types[i]; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

/* Is path inside (or equal to) the mount point prefix? */
static bool under(const char *path, const char *prefix, size_t prefix_length)
{
    if (prefix_length == 1)
        return true; /* "/" */
    return strncmp(path, prefix, prefix_length) == 0 &&
           (path[prefix_length] == 0 || path[prefix_length] == '/');
}

/* Normalises path and finds the innermost mount holding it; *inner points into buffer. */
/* Finds the mount a path lies in and pins it: a mount whose device goes away is freed only when
 * its last pin (an open file, or a call in progress on another CPU) is dropped by unpin(). */
static int resolve(const char *path, char *buffer, struct mount **out, const char **inner)
{
    int error = vfs_normalize_path(path, buffer, VFS_PATH_MAX);
    if (error)
        return error;
    struct mount *best = NULL, *m;
    mutex_lock(&table_lock);
    list_for_each_entry(m, &mounts, node)
    {
        if (under(buffer, m->path, m->path_length) && (!best || m->path_length > best->path_length))
            best = m;
    }
    if (best)
        best->pins++;
    mutex_unlock(&table_lock);
    if (!best)
        return -ENOENT;
    *out = best;
    *inner = best->path_length == 1 ? buffer : buffer + best->path_length;
    if (**inner == 0)
        *inner = "/";
    return 0;
}

/* What the lexical normalisation loses, checked the way POSIX walks a path: the directory
 * before each "." or ".." must exist and be a directory ("FILE/.." is ENOTDIR, "NOPE/.."
 * ENOENT), and the shape of the end says what the caller may do with it. */
enum path_last { LAST_NAME, LAST_ROOT, LAST_DOT, LAST_DOTDOT };

struct path_shape {
    enum path_last last;
    bool slash; /* ends in '/' after a component */
};

static int path_shape(const char *path, struct path_shape *out);
static int must_be_directory(const char *path);

static void mount_free(struct mount *m)
{
    if (m->volume)
        m->type->unmount(m->volume);
    kfree(m);
}

static void unpin(struct mount *m)
{
    mutex_lock(&table_lock);
    bool last = --m->pins == 0 && m->removed;
    mutex_unlock(&table_lock);
    if (last)
        mount_free(m);
}

/* Logs a mount (the caller keeps it pinned). */
static void announce(struct mount *m)
{
    struct vfs_statfs info = {0};
    mutex_lock(&m->lock);
    if (!m->removed)
        m->type->statfs(m->volume, &info);
    mutex_unlock(&m->lock);
    pr_info("mounted %s (%s%s) at %s", m->source, m->type->name,
            (m->flags & VFS_MOUNT_READ_ONLY) ? ", read-only" : "", m->path);
    if (info.was_dirty)
        pr_warn("%s was not cleanly unmounted last time; run a check (rayfs check) if in doubt",
                m->source);
}

int vfs_mount(const struct filesystem_type *type, const struct block_io *io, const char *source,
              const char *path, unsigned flags)
{
    struct mount *m = kzalloc(sizeof(*m));
    if (!m)
        return -ENOMEM;
    int error = vfs_normalize_path(path, m->path, sizeof(m->path));
    if (error) {
        kfree(m);
        return error;
    }
    m->path_length = strlen(m->path);
    strlcpy(m->source, source ? source : "none", sizeof(m->source));
    m->flags = flags;
    m->lock = (struct mutex)MUTEX_INIT("vfs mount");
    if (io) {
        m->io = *io;
        m->has_io = true;
    }
    if (type)
        vfs_register_type(type);
    mutex_lock(&table_lock);
    struct mount *other;
    list_for_each_entry(other, &mounts, node)
    {
        if (strcmp(other->path, m->path) == 0 || (io && strcmp(other->source, m->source) == 0)) {
            mutex_unlock(&table_lock);
            kfree(m);
            return -EBUSY;
        }
    }
    error = -ENODEV;
    for (unsigned i = 0; i < TYPES_MAX && types[i] && !m->type; i++) {
        if (type && types[i] != type)
            continue;
        if ((io == NULL) != types[i]->without_device)
            continue;
        error = types[i]->mount(m->has_io ? &m->io : NULL, flags, &m->volume);
        if (error == 0)
            m->type = types[i];
    }
    if (!m->type) {
        mutex_unlock(&table_lock);
        kfree(m);
        /* Only a failing device or memory is an error of its own; anything else means no
         * filesystem type recognised what it found. */
        return error == -EIO || error == -ENOMEM ? error : -EMEDIUMTYPE;
    }
    list_add_tail(&mounts, &m->node);
    if (flags & VFS_MOUNT_QUIET) {
        mutex_unlock(&table_lock);
        return 0;
    }
    m->pins++;
    mutex_unlock(&table_lock);
    announce(m);
    unpin(m);
    return 0;
}

/* The mount at exactly this normalised path, or NULL (table_lock held). */
static struct mount *mount_by_path(const char *normal)
{
    struct mount *m, *found = NULL;
    list_for_each_entry(m, &mounts, node)
    {
        if (strcmp(m->path, normal) == 0)
            found = m;
    }
    return found;
}

int vfs_remount(const char *path, unsigned flags)
{
    char normal[VFS_PATH_MAX];
    int error = vfs_normalize_path(path, normal, sizeof(normal));
    if (error)
        return error;
    mutex_lock(&table_lock);
    struct mount *found = mount_by_path(normal);
    const unsigned changeable = VFS_MOUNT_READ_ONLY | VFS_MOUNT_QUIET;
    if (!found || (flags & ~changeable) != (found->flags & ~changeable) ||
        (flags & ~found->flags & changeable)) {
        mutex_unlock(&table_lock);
        return -EINVAL;
    }
    bool announcing = (found->flags & VFS_MOUNT_QUIET) && !(flags & VFS_MOUNT_QUIET);
    bool writable = (found->flags & VFS_MOUNT_READ_ONLY) && !(flags & VFS_MOUNT_READ_ONLY);
    found->pins++; /* the mount stays while its lock is taken without the table's */
    mutex_unlock(&table_lock);
    /* under the mount's lock: no call is inside the volume while it changes */
    mutex_lock(&found->lock);
    if (found->removed)
        error = -ENODEV;
    else if (writable)
        error = found->type->make_writable ? found->type->make_writable(found->volume) : -EROFS;
    if (!error)
        found->flags = flags;
    mutex_unlock(&found->lock);
    if (!error && announcing)
        announce(found);
    unpin(found);
    return error;
}

static bool has_child_mount(const struct mount *parent)
{
    const struct mount *m;
    list_for_each_entry(m, &mounts, node)
    {
        if (m != parent && m->path_length > parent->path_length &&
            under(m->path, parent->path, parent->path_length))
            return true;
    }
    return false;
}

int vfs_unmount(const char *path)
{
    char buffer[VFS_PATH_MAX];
    int error = vfs_normalize_path(path, buffer, sizeof(buffer));
    if (error)
        return error;
    mutex_lock(&table_lock);
    struct mount *found = mount_by_path(buffer);
    if (!found) {
        mutex_unlock(&table_lock);
        return -EINVAL;
    }
    if (found->pins || has_child_mount(found)) {
        mutex_unlock(&table_lock);
        return -EBUSY;
    }
    error = found->type->unmount(found->volume);
    found->volume = NULL;
    list_remove(&found->node);
    mutex_unlock(&table_lock);
    if (!(found->flags & VFS_MOUNT_QUIET) || error)
        pr_info("unmounted %s from %s%s", found->source, found->path,
                error ? " (with errors)" : "");
    kfree(found);
    return error;
}

void vfs_unmount_all(void)
{
    /* Innermost first: repeatedly take a mount without children. */
    for (;;) {
        struct mount *m, *leaf = NULL;
        list_for_each_entry(m, &mounts, node)
        {
            if (!has_child_mount(m))
                leaf = m;
        }
        if (!leaf)
            return;
        if (leaf->open_count == 0) {
            /* A call in progress on another thread pins the mount for a moment: wait it out
             * (bounded) rather than leave the volume dirty. */
            int error;
            unsigned tries = 0;
            while ((error = vfs_unmount(leaf->path)) == -EBUSY && tries++ < 2000 &&
                   leaf->open_count == 0)
                msleep(1);
            if (error != -EBUSY)
                continue; /* unmounted (leaf is gone) */
        }
        /* Files still open: make everything durable, then forget the mount (the machine is
         * going down, so nothing will use it again). */
        pr_warn("%s: %u files still open at shutdown; synced, left dirty", leaf->path,
                leaf->open_count);
        leaf->type->sync(leaf->volume);
        list_remove(&leaf->node);
    }
}

void vfs_source_removed(const char *source)
{
    mutex_lock(&table_lock);
    struct mount *m, *tmp;
    list_for_each_entry_safe(m, tmp, &mounts, node)
    {
        if (strcmp(m->source, source) != 0)
            continue;
        m->removed = true;
        list_remove(&m->node);
        pr_warn("%s removed: dropped the mount at %s (%u open file%s now fail with ENODEV)", source,
                m->path, m->open_count, m->open_count == 1 ? "" : "s");
        if (m->pins == 0) /* else the last unpin frees it */
            mount_free(m);
    }
    mutex_unlock(&table_lock);
}

bool vfs_mount_at(unsigned index, struct vfs_mount_info *out)
{
    struct mount *m;
    list_for_each_entry(m, &mounts, node)
    {
        if (index-- == 0) {
            strlcpy(out->path, m->path, sizeof(out->path));
            strlcpy(out->source, m->source, sizeof(out->source));
            out->type = m->type->name;
            out->read_only = m->flags & VFS_MOUNT_READ_ONLY;
            return true;
        }
    }
    return false;
}

/* Drops an open file's or directory's reference (and its pin). */
static void release(struct mount *m)
{
    mutex_lock(&table_lock);
    m->open_count--;
    mutex_unlock(&table_lock);
    unpin(m);
}

static bool writes(unsigned flags)
{
    return flags & (VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC | VFS_O_APPEND);
}

int vfs_open(const char *path, unsigned flags, struct vfs_file **out)
{
    struct path_shape shape;
    int error = path_shape(path, &shape);
    if (error)
        return error;
    if (shape.slash || shape.last != LAST_NAME) {
        /* only a directory can be named so, and files are opened here */
        error = must_be_directory(path);
        return error == -ENOENT && (flags & VFS_O_CREATE) ? -EISDIR : error ? error : -EISDIR;
    }
    char buffer[VFS_PATH_MAX];
    const char *inner;
    struct mount *m;
    error = resolve(path, buffer, &m, &inner);
    if (error)
        return error;
    struct vfs_file *file = NULL;
    if (writes(flags) && (m->flags & VFS_MOUNT_READ_ONLY))
        error = -EROFS;
    else if (!(file = kzalloc(sizeof(*file))))
        error = -ENOMEM;
    if (!error) {
        mutex_lock(&m->lock);
        error = m->removed ? -ENODEV : m->type->open(m->volume, inner, flags, &file->handle);
        mutex_unlock(&m->lock);
    }
    if (error) {
        kfree(file);
        unpin(m);
        return error;
    }
    file->mount = m;
    file->read_only = !writes(flags);
    mutex_lock(&table_lock);
    m->open_count++; /* the pin stays with the file until vfs_close */
    mutex_unlock(&table_lock);
    *out = file;
    return 0;
}

/* Runs one filesystem call on an open file's mount under its lock. */
#define FILE_CALL(file, call)                                                                      \
    ({                                                                                             \
        __typeof__(call) result_;                                                                  \
        if ((file)->mount->removed) {                                                              \
            result_ = -ENODEV;                                                                     \
        } else {                                                                                   \
            mutex_lock(&(file)->mount->lock);                                                      \
            result_ = (call);                                                                      \
            mutex_unlock(&(file)->mount->lock);                                                    \
        }                                                                                          \
        result_;                                                                                   \
    })

/* A read whose transfer runs without the mount's lock: only the mapping takes it.  The open
 * file pins the mount (and so the volume) until vfs_close; after a removal the device fails
 * the transfer with ENODEV. */
static ssize_t read_in_parallel(struct vfs_file *file, void *buffer, size_t size)
{
    struct mount *m = file->mount;
    struct vfs_read_plan plan;
    plan.count = 0;
    ssize_t planned = FILE_CALL(file, m->type->read_plan(file->handle, size, &plan));
    if (planned <= 0)
        return planned;
    int error = m->removed ? -ENODEV : m->type->read_pieces(m->volume, &plan, buffer);
    return error < 0 ? error : planned;
}

ssize_t vfs_read(struct vfs_file *file, void *buffer, size_t size)
{
    if (file->read_only && file->mount->type->read_plan)
        return read_in_parallel(file, buffer, size);
    return FILE_CALL(file, file->mount->type->read(file->handle, buffer, size));
}

/* A write whose bulk runs without the mount's lock (see filesystem_type.write_begin). */
static ssize_t write_in_parallel(struct vfs_file *file, const void *buffer, size_t size)
{
    struct mount *m = file->mount;
    void *plan = NULL;
    ssize_t planned = FILE_CALL(file, m->type->write_begin(file->handle, buffer, size, &plan));
    if (planned <= 0)
        return planned;
    int status = m->removed ? -ENODEV : m->type->write_pieces(m->volume, plan, buffer);
    mutex_lock(&m->lock); /* even after a removal: the plan is freed here */
    ssize_t written = m->type->write_end(file->handle, plan, status);
    mutex_unlock(&m->lock);
    return written;
}

ssize_t vfs_write(struct vfs_file *file, const void *buffer, size_t size)
{
    if (file->mount->type->write_begin)
        return write_in_parallel(file, buffer, size);
    return FILE_CALL(file, file->mount->type->write(file->handle, buffer, size));
}

int64_t vfs_seek(struct vfs_file *file, int64_t offset, int whence)
{
    return FILE_CALL(file, file->mount->type->seek(file->handle, offset, whence));
}

int vfs_truncate(struct vfs_file *file, uint64_t size)
{
    return FILE_CALL(file, file->mount->type->truncate(file->handle, size));
}

int vfs_file_sync(struct vfs_file *file)
{
    return FILE_CALL(file, file->mount->type->file_sync(file->handle));
}

int vfs_fstat(struct vfs_file *file, struct vfs_stat *out)
{
    return FILE_CALL(file, file->mount->type->fstat(file->handle, out));
}

int vfs_extents(struct vfs_file *file, struct vfs_extent *out, size_t max)
{
    if (!file->mount->type->extents)
        return -EOPNOTSUPP;
    return FILE_CALL(file, file->mount->type->extents(file->handle, out, max));
}

int vfs_allocate(struct vfs_file *file, uint64_t size, bool contiguous)
{
    if (!file->mount->type->allocate)
        return -EOPNOTSUPP;
    return FILE_CALL(file, file->mount->type->allocate(file->handle, size, contiguous));
}

const char *vfs_file_source(struct vfs_file *file)
{
    return file->mount->source;
}

int vfs_close(struct vfs_file *file)
{
    struct mount *m = file->mount;
    int error = m->removed ? -ENODEV : 0;
    mutex_lock(&m->lock);
    int closed = m->type->close(file->handle); /* frees the handle even on a dead device */
    mutex_unlock(&m->lock);
    release(m);
    kfree(file);
    return error ? error : closed;
}

/* Runs one path-based call under the mount's lock. */
static int path_call(const char *path, bool modifies,
                     int (*call)(struct mount *m, const char *inner, void *arg), void *arg)
{
    char buffer[VFS_PATH_MAX];
    const char *inner;
    struct mount *m;
    int error = resolve(path, buffer, &m, &inner);
    if (error)
        return error;
    if (modifies && (m->flags & VFS_MOUNT_READ_ONLY)) {
        unpin(m);
        return -EROFS;
    }
    mutex_lock(&m->lock);
    error = m->removed ? -ENODEV : call(m, inner, arg);
    mutex_unlock(&m->lock);
    unpin(m);
    return error;
}

static int do_stat(struct mount *m, const char *inner, void *arg)
{
    return m->type->stat(m->volume, inner, arg);
}
static int do_mkdir(struct mount *m, const char *inner, void *arg)
{
    return m->type->mkdir(m->volume, inner);
}
static int do_rmdir(struct mount *m, const char *inner, void *arg)
{
    return strcmp(inner, "/") == 0 ? -EBUSY : m->type->rmdir(m->volume, inner);
}
static int do_unlink(struct mount *m, const char *inner, void *arg)
{
    return m->type->unlink(m->volume, inner);
}
static int do_sync(struct mount *m, const char *inner, void *arg)
{
    return m->type->sync(m->volume);
}
static int do_statfs(struct mount *m, const char *inner, void *arg)
{
    return m->type->statfs(m->volume, arg);
}

/* A path that is itself a mount point behaves as a directory even if its parent lacks it. */
static bool is_mount_point(const char *path)
{
    char buffer[VFS_PATH_MAX];
    if (vfs_normalize_path(path, buffer, sizeof(buffer)))
        return false;
    struct mount *m;
    list_for_each_entry(m, &mounts, node)
    {
        if (strcmp(m->path, buffer) == 0)
            return true;
    }
    return false;
}

static int path_shape(const char *path, struct path_shape *out)
{
    out->last = LAST_ROOT;
    out->slash = false;
    if (!path || path[0] != '/')
        return 0; /* the normalisation reports it */
    char *prefix = kmalloc(VFS_PATH_MAX);
    if (!prefix)
        return -ENOMEM;
    size_t n = 0;
    int error = 0;
    prefix[0] = 0;
    for (const char *p = path; *p && !error;) {
        while (*p == '/')
            p++;
        if (!*p) {
            out->slash = out->last != LAST_ROOT;
            break;
        }
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t length = (size_t)(p - start);
        bool dot = length == 1 && start[0] == '.';
        bool dotdot = length == 2 && start[0] == '.' && start[1] == '.';
        out->last = dot ? LAST_DOT : dotdot ? LAST_DOTDOT : LAST_NAME;
        if (dot || dotdot) {
            struct vfs_stat st;
            error = path_call(n ? prefix : "/", false, do_stat, &st);
            if (!error && !st.is_directory)
                error = -ENOTDIR;
        }
        if (n + 1 + length >= VFS_PATH_MAX) {
            error = error ? error : -ENAMETOOLONG;
            break;
        }
        prefix[n++] = '/';
        memcpy(prefix + n, start, length);
        n += length;
        prefix[n] = 0;
    }
    kfree(prefix);
    return error;
}

/* A path that must name a directory if it names anything ("X/", "X/.", "X/.."): 0 if it
 * does, -ENOTDIR for a file, -ENOENT if nothing is there. */
static int must_be_directory(const char *path)
{
    struct vfs_stat st;
    int error = path_call(path, false, do_stat, &st);
    return error ? error : st.is_directory ? 0 : -ENOTDIR;
}

int vfs_stat(const char *path, struct vfs_stat *out)
{
    struct path_shape shape;
    int error = path_shape(path, &shape);
    if (!error)
        error = path_call(path, false, do_stat, out);
    if (!error && shape.slash && !out->is_directory)
        error = -ENOTDIR;
    return error;
}
int vfs_mkdir(const char *path)
{
    struct path_shape shape;
    int error = path_shape(path, &shape);
    if (error)
        return error;
    if (shape.last != LAST_NAME || is_mount_point(path))
        return -EEXIST; /* "/", "DIR/.", "DIR/.." exist */
    return path_call(path, true, do_mkdir, NULL);
}
int vfs_rmdir(const char *path)
{
    struct path_shape shape;
    int error = path_shape(path, &shape);
    if (error)
        return error;
    /* as rmdir(2) on Linux */
    if (shape.last == LAST_DOT)
        return -EINVAL;
    if (shape.last == LAST_DOTDOT)
        return -ENOTEMPTY;
    return is_mount_point(path) ? -EBUSY : path_call(path, true, do_rmdir, NULL);
}
int vfs_unlink(const char *path)
{
    struct path_shape shape;
    int error = path_shape(path, &shape);
    if (error)
        return error;
    if (shape.last != LAST_NAME)
        return -EISDIR; /* as unlink(2) on Linux for "/", "DIR/." and "DIR/.." */
    if (shape.slash) {
        error = must_be_directory(path);
        return error ? error : -EISDIR; /* "FILE/" is ENOTDIR, "DIR/" EISDIR */
    }
    return path_call(path, true, do_unlink, NULL);
}
int vfs_statfs(const char *path, struct vfs_statfs *out)
{
    return path_call(path, false, do_statfs, out);
}

int vfs_sync(const char *path)
{
    if (path)
        return path_call(path, false, do_sync, NULL);
    int first_error = 0;
    struct mount *m;
    list_for_each_entry(m, &mounts, node)
    {
        mutex_lock(&m->lock);
        int error = m->type->sync(m->volume);
        mutex_unlock(&m->lock);
        if (error && !first_error)
            first_error = error;
    }
    return first_error;
}

static int rename_pinned(struct mount *old_mount, struct mount *new_mount, const char *old_path,
                         const char *old_buffer, const char *old_inner, const char *new_buffer,
                         const char *new_inner, const struct path_shape *old_shape,
                         const struct path_shape *new_shape)
{
    int error;
    /* as rename(2) on Linux (with no replacing: an existing target is EEXIST) */
    if (old_shape->last != LAST_NAME)
        return -EBUSY;
    if (new_shape->last != LAST_NAME)
        return -EEXIST;
    if (old_shape->slash && (error = must_be_directory(old_path)) != 0)
        return error;
    if (new_shape->slash && (error = must_be_directory(old_path)) != 0)
        return error; /* "NEW/" only for a directory */
    if (old_mount != new_mount)
        return -EXDEV;
    if (is_mount_point(old_buffer) || is_mount_point(new_buffer))
        return -EBUSY;
    if (old_mount->flags & VFS_MOUNT_READ_ONLY)
        return -EROFS;
    mutex_lock(&old_mount->lock);
    error = old_mount->removed ? -ENODEV
                               : old_mount->type->rename(old_mount->volume, old_inner, new_inner);
    mutex_unlock(&old_mount->lock);
    return error;
}

int vfs_rename(const char *old_path, const char *new_path)
{
    char old_buffer[VFS_PATH_MAX], new_buffer[VFS_PATH_MAX];
    const char *old_inner, *new_inner;
    struct mount *old_mount = NULL, *new_mount = NULL;
    struct path_shape old_shape, new_shape;
    int error = path_shape(old_path, &old_shape);
    if (!error)
        error = path_shape(new_path, &new_shape);
    if (!error)
        error = resolve(old_path, old_buffer, &old_mount, &old_inner);
    if (!error && (error = resolve(new_path, new_buffer, &new_mount, &new_inner)) != 0)
        new_mount = NULL;
    if (!error)
        error = rename_pinned(old_mount, new_mount, old_path, old_buffer, old_inner, new_buffer,
                              new_inner, &old_shape, &new_shape);
    if (new_mount)
        unpin(new_mount);
    if (old_mount)
        unpin(old_mount);
    return error;
}

int vfs_opendir(const char *path, struct vfs_dir **out)
{
    struct path_shape shape;
    int error = path_shape(path, &shape);
    if (error)
        return error;
    struct vfs_dir *dir = kzalloc(sizeof(*dir));
    if (!dir)
        return -ENOMEM;
    const char *inner;
    struct mount *m;
    error = resolve(path, dir->path, &m, &inner);
    if (!error) {
        mutex_lock(&m->lock);
        error = m->removed ? -ENODEV : m->type->opendir(m->volume, inner, &dir->handle);
        mutex_unlock(&m->lock);
        if (error)
            unpin(m);
    }
    if (error) {
        kfree(dir);
        return error;
    }
    dir->mount = m;
    mutex_lock(&table_lock);
    m->open_count++; /* the pin stays with the directory until vfs_closedir */
    mutex_unlock(&table_lock);
    *out = dir;
    return 0;
}

/* The next mount point directly under dir->path that the filesystem did not list itself. */
static int next_child_mount(struct vfs_dir *dir, struct vfs_dirent *out)
{
    size_t length = strlen(dir->path);
    unsigned index = 0;
    struct mount *m;
    list_for_each_entry(m, &mounts, node)
    {
        if (index++ < dir->next_child_mount)
            continue;
        dir->next_child_mount++;
        if (m->path_length <= length || !under(m->path, dir->path, length == 1 ? 1 : length))
            continue;
        const char *name = m->path + (length == 1 ? 1 : length + 1);
        if (strchr(name, '/'))
            continue;
        struct vfs_stat st;
        const char *inner =
            dir->mount->path_length == 1 ? m->path : m->path + dir->mount->path_length;
        if (dir->mount->type->stat(dir->mount->volume, inner, &st) == 0)
            continue; /* the filesystem has a directory of that name and listed it */
        memset(out, 0, sizeof(*out));
        strlcpy(out->name, name, sizeof(out->name));
        out->stat.is_directory = true;
        return 1;
    }
    return 0;
}

int vfs_readdir(struct vfs_dir *dir, struct vfs_dirent *out)
{
    if (dir->mount->removed)
        return -ENODEV;
    mutex_lock(&dir->mount->lock);
    int result = 0;
    if (!dir->filesystem_done) {
        result = dir->mount->type->readdir(dir->handle, out);
        if (result == 0)
            dir->filesystem_done = true;
    }
    bool mount_point = false;
    if (dir->filesystem_done)
        mount_point = (result = next_child_mount(dir, out)) == 1;
    mutex_unlock(&dir->mount->lock);
    if (mount_point) {
        /* shown with the mounted root's times, as stat shows them (its own lock, not taken
         * inside this one's) */
        char path[VFS_PATH_MAX];
        struct vfs_stat st;
        if (snprintf(path, sizeof(path), "%s/%s", strcmp(dir->path, "/") ? dir->path : "",
                     out->name) < (int)sizeof(path) &&
            vfs_stat(path, &st) == 0)
            out->stat = st;
    }
    return result;
}

int vfs_closedir(struct vfs_dir *dir)
{
    struct mount *m = dir->mount;
    mutex_lock(&m->lock);
    int error = m->type->closedir(dir->handle);
    mutex_unlock(&m->lock);
    release(m);
    kfree(dir);
    return error;
}

int vfs_read_file(const char *path, size_t max, char **data, size_t *length)
{
    struct vfs_file *file;
    int error = vfs_open(path, VFS_O_READ, &file);
    if (error)
        return error;
    struct vfs_stat st;
    error = vfs_fstat(file, &st);
    if (!error && st.is_directory)
        error = -EISDIR;
    if (!error && st.size > max)
        error = -EFBIG;
    char *buffer = error ? NULL : kmalloc((size_t)st.size + 1);
    if (!error && !buffer)
        error = -ENOMEM;
    ssize_t n = error ? 0 : vfs_read(file, buffer, (size_t)st.size);
    if (!error && n < 0)
        error = (int)n;
    vfs_close(file);
    if (error) {
        kfree(buffer);
        return error;
    }
    buffer[n] = 0;
    *data = buffer;
    *length = (size_t)n;
    return 0;
}

int vfs_write_file(const char *path, const void *data, size_t length)
{
    struct vfs_file *file;
    int error = vfs_open(path, VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC, &file);
    if (error)
        return error;
    ssize_t n = vfs_write(file, data, length);
    error = n < 0 ? (int)n : (size_t)n != length ? -EIO : vfs_file_sync(file);
    int closed = vfs_close(file);
    return error ? error : closed;
}
