/* ramfs: a filesystem in kernel memory, for /tmp and for a root when no disk is usable.  Its
 * shape (a tree of nodes with names, no clusters, no device) is deliberately unlike FAT, to keep
 * the VFS interface honest. */
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/list.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include <rayos/vfs.h>

#define RAMFS_CAPACITY (32 * MiB) /* a runaway writer fills this, not the kernel heap */
#define RAMFS_BLOCK    4096

struct ramfs_node {
    char name[VFS_NAME_MAX + 1];
    bool directory;
    struct ramfs_node *parent;
    struct list_node children; /* directories */
    struct list_node sibling;
    char *data; /* files */
    size_t size, capacity;
    int64_t created, modified;
    unsigned open_count;
    unsigned writers; /* open handles that may change it */
    bool unlinked;
};

struct ramfs_volume {
    struct ramfs_node root;
    uint64_t bytes;
};

struct ramfs_file {
    struct ramfs_volume *volume;
    struct ramfs_node *node;
    uint64_t position;
    unsigned flags;
};

struct ramfs_dir {
    struct ramfs_node *node;
    struct list_node *next;
};

static void node_init(struct ramfs_node *node, const char *name, size_t length, bool directory)
{
    memcpy(node->name, name, length);
    node->name[length] = 0;
    node->directory = directory;
    list_init(&node->children);
    list_init(&node->sibling);
    node->created = node->modified = time_unix();
}

static int ramfs_mount(const struct block_io *io, unsigned flags, void **volume)
{
    if (io)
        return -ENODEV;
    struct ramfs_volume *v = kzalloc(sizeof(*v));
    if (!v)
        return -ENOMEM;
    node_init(&v->root, "", 0, true);
    *volume = v;
    return 0;
}

/* Memory is always writable: the VFS is what keeps a read-only ramfs mount from changing. */
static int ramfs_make_writable(void *volume)
{
    return 0;
}

static void free_tree(struct ramfs_volume *v, struct ramfs_node *node)
{
    struct ramfs_node *child, *tmp;
    list_for_each_entry_safe(child, tmp, &node->children, sibling)
    {
        free_tree(v, child);
        kfree(child);
    }
    kfree(node->data);
}

static int ramfs_unmount(void *volume)
{
    free_tree(volume, &((struct ramfs_volume *)volume)->root);
    kfree(volume);
    return 0;
}

static int ramfs_sync(void *volume)
{
    return 0;
}

static int ramfs_statfs(void *volume, struct vfs_statfs *out)
{
    struct ramfs_volume *v = volume;
    memset(out, 0, sizeof(*out));
    strlcpy(out->type, "ramfs", sizeof(out->type));
    out->block_size = RAMFS_BLOCK;
    out->total_blocks = RAMFS_CAPACITY / RAMFS_BLOCK;
    out->free_blocks = (RAMFS_CAPACITY - v->bytes) / RAMFS_BLOCK;
    return 0;
}

static struct ramfs_node *child_named(struct ramfs_node *dir, const char *name, size_t length)
{
    struct ramfs_node *child;
    list_for_each_entry(child, &dir->children, sibling)
    {
        if (strlen(child->name) == length && memcmp(child->name, name, length) == 0)
            return child;
    }
    return NULL;
}

/* Walks path; on success *node is the target, or NULL with *parent and the last component
 * filled when only the last component is missing. */
static int walk(struct ramfs_volume *v, const char *path, struct ramfs_node **node,
                struct ramfs_node **parent, const char **last, size_t *last_length)
{
    struct ramfs_node *at = &v->root;
    const char *p = path;
    while (*p == '/')
        p++;
    *parent = NULL;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (!at->directory)
            return -ENOTDIR;
        struct ramfs_node *next = child_named(at, p, n);
        if (!next) {
            if (p[n] != 0)
                return -ENOENT;
            *node = NULL;
            *parent = at;
            *last = p;
            *last_length = n;
            return 0;
        }
        *parent = at;
        at = next;
        p += n;
        while (*p == '/')
            p++;
    }
    *node = at;
    return 0;
}

static int lookup(struct ramfs_volume *v, const char *path, struct ramfs_node **node)
{
    struct ramfs_node *parent;
    const char *last;
    size_t n;
    int error = walk(v, path, node, &parent, &last, &n);
    if (!error && !*node)
        error = -ENOENT;
    return error;
}

static void fill_stat(const struct ramfs_node *node, struct vfs_stat *out)
{
    memset(out, 0, sizeof(*out));
    out->size = node->directory ? 0 : node->size;
    out->is_directory = node->directory;
    out->created = node->created;
    out->modified = node->modified;
}

static int create_node(struct ramfs_node *parent, const char *name, size_t n, bool directory,
                       struct ramfs_node **out)
{
    if (n == 0)
        return -EINVAL;
    if (n > VFS_NAME_MAX)
        return -ENAMETOOLONG; /* ramfs keeps names of up to 255 bytes */
    struct ramfs_node *node = kzalloc(sizeof(*node));
    if (!node)
        return -ENOMEM;
    node_init(node, name, n, directory);
    node->parent = parent;
    list_add_tail(&parent->children, &node->sibling);
    parent->modified = node->created;
    *out = node;
    return 0;
}

static int resize(struct ramfs_volume *v, struct ramfs_node *node, uint64_t size)
{
    if (size > node->capacity) {
        if (size - node->capacity > RAMFS_CAPACITY - v->bytes)
            return -ENOSPC;
        /* Grow by half again, so a file written in pieces is copied O(n) times in all, not
         * O(n^2); within the volume's budget, else exactly what is needed. */
        size_t capacity = (size_t)ALIGN_UP(size, RAMFS_BLOCK);
        size_t generous = (size_t)ALIGN_UP(node->capacity + node->capacity / 2, RAMFS_BLOCK);
        if (generous > capacity && generous - node->capacity <= RAMFS_CAPACITY - v->bytes)
            capacity = generous;
        char *data = krealloc(node->data, capacity);
        if (!data)
            return -ENOSPC;
        v->bytes += capacity - node->capacity;
        node->data = data;
        node->capacity = capacity;
    }
    if (size > node->size)
        memset(node->data + node->size, 0, (size_t)(size - node->size));
    node->size = (size_t)size;
    node->modified = time_unix();
    return 0;
}

static int ramfs_open(void *volume, const char *path, unsigned flags, void **out)
{
    struct ramfs_volume *v = volume;
    struct ramfs_node *node, *parent;
    const char *last;
    size_t n;
    int error = walk(v, path, &node, &parent, &last, &n);
    if (error)
        return error;
    if (node && (flags & VFS_O_CREATE) && (flags & VFS_O_EXCL))
        return -EEXIST;
    if (!node) {
        if (!(flags & VFS_O_CREATE))
            return -ENOENT;
        error = create_node(parent, last, n, false, &node);
        if (error)
            return error;
    }
    bool writable = flags & (VFS_O_WRITE | VFS_O_TRUNC | VFS_O_APPEND);
    if (node->directory && writable)
        return -EISDIR;
    /* As FAT does: a file open for writing is not opened again, and one that is open is not
     * opened for writing (cp A A would otherwise truncate the file it is reading). */
    if (node->writers || (writable && node->open_count))
        return -EBUSY;
    struct ramfs_file *file = kzalloc(sizeof(*file));
    if (!file)
        return -ENOMEM;
    if (flags & VFS_O_TRUNC)
        resize(v, node, 0);
    *file = (struct ramfs_file){v, node, 0, flags};
    node->open_count++;
    if (writable)
        node->writers++;
    *out = file;
    return 0;
}

static ssize_t ramfs_read(void *handle, void *buffer, size_t size)
{
    struct ramfs_file *f = handle;
    if (f->node->directory)
        return -EISDIR;
    if (f->position >= f->node->size)
        return 0;
    size_t n = (size_t)MIN((uint64_t)size, f->node->size - f->position);
    memcpy(buffer, f->node->data + f->position, n);
    f->position += n;
    return (ssize_t)n;
}

static ssize_t ramfs_write(void *handle, const void *buffer, size_t size)
{
    struct ramfs_file *f = handle;
    if (!(f->flags & (VFS_O_WRITE | VFS_O_APPEND)))
        return -EBADF;
    if (f->flags & VFS_O_APPEND)
        f->position = f->node->size;
    if (size == 0)
        return 0; /* an empty file has no data buffer to point into */
    if (f->position + size > f->node->size) {
        int error = resize(f->volume, f->node, f->position + size);
        if (error)
            return error;
    }
    memcpy(f->node->data + f->position, buffer, size);
    f->position += size;
    f->node->modified = time_unix();
    return (ssize_t)size;
}

static int64_t ramfs_seek(void *handle, int64_t offset, int whence)
{
    struct ramfs_file *f = handle;
    int64_t base = whence == VFS_SEEK_CUR   ? (int64_t)f->position
                   : whence == VFS_SEEK_END ? (int64_t)f->node->size
                                            : 0;
    if (whence < VFS_SEEK_SET || whence > VFS_SEEK_END || base + offset < 0)
        return -EINVAL;
    f->position = (uint64_t)(base + offset);
    return (int64_t)f->position;
}

static int ramfs_truncate(void *handle, uint64_t size)
{
    struct ramfs_file *f = handle;
    if (!(f->flags & (VFS_O_WRITE | VFS_O_APPEND)))
        return -EBADF;
    return resize(f->volume, f->node, size);
}

static int ramfs_file_sync(void *handle)
{
    return 0;
}

static void free_node(struct ramfs_volume *v, struct ramfs_node *node)
{
    v->bytes -= node->capacity;
    kfree(node->data);
    kfree(node);
}

static int ramfs_close(void *handle)
{
    struct ramfs_file *f = handle;
    if (f->flags & (VFS_O_WRITE | VFS_O_TRUNC | VFS_O_APPEND))
        f->node->writers--;
    if (--f->node->open_count == 0 && f->node->unlinked)
        free_node(f->volume, f->node);
    kfree(f);
    return 0;
}

static int ramfs_fstat(void *handle, struct vfs_stat *out)
{
    fill_stat(((struct ramfs_file *)handle)->node, out);
    return 0;
}

static int ramfs_stat(void *volume, const char *path, struct vfs_stat *out)
{
    struct ramfs_node *node;
    int error = lookup(volume, path, &node);
    if (!error)
        fill_stat(node, out);
    return error;
}

static int ramfs_opendir(void *volume, const char *path, void **out)
{
    struct ramfs_node *node;
    int error = lookup(volume, path, &node);
    if (error)
        return error;
    if (!node->directory)
        return -ENOTDIR;
    struct ramfs_dir *dir = kzalloc(sizeof(*dir));
    if (!dir)
        return -ENOMEM;
    dir->node = node;
    dir->next = node->children.next;
    node->open_count++;
    *out = dir;
    return 0;
}

static int ramfs_readdir(void *handle, struct vfs_dirent *out)
{
    struct ramfs_dir *dir = handle;
    if (dir->next == &dir->node->children)
        return 0;
    struct ramfs_node *node = list_entry(dir->next, struct ramfs_node, sibling);
    dir->next = dir->next->next;
    strlcpy(out->name, node->name, sizeof(out->name));
    fill_stat(node, &out->stat);
    return 1;
}

static int ramfs_closedir(void *handle)
{
    struct ramfs_dir *dir = handle;
    dir->node->open_count--;
    kfree(dir);
    return 0;
}

static int ramfs_mkdir(void *volume, const char *path)
{
    struct ramfs_node *node, *parent;
    const char *last;
    size_t n;
    int error = walk(volume, path, &node, &parent, &last, &n);
    if (error)
        return error;
    if (node)
        return -EEXIST;
    return create_node(parent, last, n, true, &node);
}

static int remove_node(struct ramfs_volume *v, const char *path, bool directory)
{
    struct ramfs_node *node;
    int error = lookup(v, path, &node);
    if (error)
        return error;
    if (node == &v->root)
        return -EBUSY;
    if (directory && !node->directory)
        return -ENOTDIR;
    if (!directory && node->directory)
        return -EISDIR;
    if (directory && (!list_empty(&node->children) || node->open_count))
        return node->open_count ? -EBUSY : -ENOTEMPTY;
    list_remove(&node->sibling);
    node->parent->modified = time_unix();
    if (node->open_count)
        node->unlinked = true; /* freed by the last close */
    else
        free_node(v, node);
    return 0;
}

static int ramfs_rmdir(void *volume, const char *path)
{
    return remove_node(volume, path, true);
}

static int ramfs_unlink(void *volume, const char *path)
{
    return remove_node(volume, path, false);
}

static int ramfs_rename(void *volume, const char *old_path, const char *new_path)
{
    struct ramfs_node *node, *target, *parent;
    const char *last;
    size_t n;
    int error = lookup(volume, old_path, &node);
    if (!error)
        error = walk(volume, new_path, &target, &parent, &last, &n);
    if (error)
        return error;
    if (target)
        return target == node ? 0 : -EEXIST;
    if (node == &((struct ramfs_volume *)volume)->root)
        return -EBUSY;
    for (struct ramfs_node *p = parent; p; p = p->parent)
        if (p == node)
            return -EINVAL; /* a directory into itself */
    if (n > VFS_NAME_MAX)
        return -ENAMETOOLONG;
    list_remove(&node->sibling);
    memcpy(node->name, last, n);
    node->name[n] = 0;
    node->parent = parent;
    list_add_tail(&parent->children, &node->sibling);
    return 0;
}

const struct filesystem_type ramfs_type = {
    .name = "ramfs",
    .without_device = true,
    .mount = ramfs_mount,
    .make_writable = ramfs_make_writable,
    .unmount = ramfs_unmount,
    .sync = ramfs_sync,
    .statfs = ramfs_statfs,
    .open = ramfs_open,
    .read = ramfs_read,
    .write = ramfs_write,
    .seek = ramfs_seek,
    .truncate = ramfs_truncate,
    .file_sync = ramfs_file_sync,
    .close = ramfs_close,
    .fstat = ramfs_fstat,
    .stat = ramfs_stat,
    .opendir = ramfs_opendir,
    .readdir = ramfs_readdir,
    .closedir = ramfs_closedir,
    .mkdir = ramfs_mkdir,
    .rmdir = ramfs_rmdir,
    .unlink = ramfs_unlink,
    .rename = ramfs_rename,
};
