/* Namespace operations: stat, directory listing, mkdir, rmdir, unlink, rename. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

#define ANCESTOR_WALK_MAX 4096

static struct fat_entry_info *entry_alloc(void)
{
    return kmalloc(sizeof(struct fat_entry_info));
}

int fat_stat(struct fat_volume *vol, const char *path, struct fat_stat *out)
{
    struct fat_entry_info *e = entry_alloc();
    if (!e)
        return -ENOMEM;
    uint32_t parent;
    const char *last;
    size_t last_length;
    int err = fat_resolve(vol, path, &parent, &last, &last_length, e, NULL);
    if (!err)
        fat_entry_to_stat(e->raw, vol, out);
    kfree(e);
    return err;
}

int fat_opendir(struct fat_volume *vol, const char *path, struct fat_dir **out)
{
    struct fat_entry_info *e = entry_alloc();
    if (!e)
        return -ENOMEM;
    uint32_t parent;
    const char *last;
    size_t last_length;
    int err = fat_resolve(vol, path, &parent, &last, &last_length, e, NULL);
    if (!err && !(e->raw[11] & FAT_ATTR_DIRECTORY))
        err = -ENOTDIR;
    struct fat_dir *dir = NULL;
    if (!err) {
        dir = kzalloc(sizeof(*dir));
        if (!dir)
            err = -ENOMEM;
    }
    if (!err) {
        dir->volume = vol;
        fat_cursor_init(vol, &dir->cursor, fat_entry_cluster(vol, e->raw));
        *out = dir;
        vol->open_count++;
    }
    kfree(e);
    return err;
}

int fat_readdir(struct fat_dir *dir, struct fat_dirent *out)
{
    struct fat_entry_info *e = entry_alloc();
    if (!e)
        return -ENOMEM;
    int r;
    do {
        r = fat_dir_next(dir->volume, &dir->cursor, &dir->position, e);
    } while (r == 1 && fat_is_dot_entry(e->raw));
    if (r == 1) {
        fat_copy_string(out->name, e->name, sizeof(out->name));
        fat_short_to_string(e->raw, false, out->short_name, sizeof(out->short_name));
        fat_entry_to_stat(e->raw, dir->volume, &out->stat);
    }
    kfree(e);
    return r;
}

int fat_closedir(struct fat_dir *dir)
{
    dir->volume->open_count--;
    kfree(dir);
    return 0;
}

/* Resolves a path that must not exist yet; returns its parent and NUL-terminated name. */
static int resolve_new(struct fat_volume *vol, const char *path, uint32_t *parent, char *name,
                       struct fat_entry_info *e)
{
    const char *last;
    size_t last_length;
    int err = fat_resolve(vol, path, parent, &last, &last_length, e, NULL);
    if (err == 0)
        return -EEXIST; /* also "/", "DIR/." and "DIR/..", as mkdir(2) says */
    if (err != -ENOENT || !last)
        return err;
    memcpy(name, last, last_length);
    name[last_length] = 0;
    return 0;
}

static int write_new_directory(struct fat_volume *vol, uint32_t cluster, uint32_t parent)
{
    uint8_t *buffer = kzalloc(vol->cluster_size);
    if (!buffer)
        return -ENOMEM;
    uint16_t date, time;
    fat_now(vol, &date, &time);
    for (int i = 0; i < 2; i++) {
        uint8_t *raw = buffer + i * FAT_DIR_ENTRY_SIZE;
        memcpy(raw, i == 0 ? ".          " : "..         ", 11);
        raw[11] = FAT_ATTR_DIRECTORY;
        put_le16(raw + 14, time);
        put_le16(raw + 16, date);
        put_le16(raw + 18, date);
        put_le16(raw + 22, time);
        put_le16(raw + 24, date);
        /* ".." of a directory in the root says 0, even on FAT32 */
        uint32_t target = i == 0 ? cluster : parent == fat_root_cluster(vol) ? 0 : parent;
        fat_entry_set_cluster(raw, target);
    }
    uint64_t sector = fat_cluster_sector(vol, cluster);
    fat_cache_drop_range(vol, sector, vol->sectors_per_cluster);
    int err = fat_device_write(vol, sector, vol->sectors_per_cluster, buffer);
    vol->data_unflushed = true;
    kfree(buffer);
    return err;
}

int fat_mkdir(struct fat_volume *vol, const char *path)
{
    if (vol->read_only)
        return -EROFS;
    struct fat_entry_info *e = entry_alloc();
    char *name = kmalloc(FAT_NAME_UTF8_MAX + 1);
    int err = -ENOMEM;
    if (!e || !name)
        goto out;
    uint32_t parent;
    err = resolve_new(vol, path, &parent, name, e);
    if (err)
        goto out;
    if (!fat_long_name_valid(name)) {
        err = -EINVAL;
        goto out;
    }
    uint32_t cluster;
    err = fat_allocate(vol, 0, 1, false, &cluster);
    if (err)
        goto out;
    err = write_new_directory(vol, cluster, parent);
    if (!err)
        err = fat_create_entry(vol, parent, name, FAT_ATTR_DIRECTORY, cluster, e);
    if (err)
        fat_free_chain(vol, cluster); /* nothing refers to it */
out:
    kfree(e);
    kfree(name);
    return err;
}

/* Removes an entry, makes that durable, then frees its clusters. */
static int remove_and_free(struct fat_volume *vol, uint32_t parent, struct fat_entry_info *e)
{
    uint32_t cluster = fat_entry_cluster(vol, e->raw);
    int err = fat_dir_remove(vol, parent, e);
    if (!err)
        err = fat_volume_sync(vol);
    if (!err && fat_cluster_valid(vol, cluster))
        err = fat_free_chain(vol, cluster);
    return err;
}

static int remove_path(struct fat_volume *vol, const char *path, bool directory)
{
    if (vol->read_only)
        return -EROFS;
    struct fat_entry_info *e = entry_alloc();
    if (!e)
        return -ENOMEM;
    uint32_t parent;
    const char *last;
    size_t last_length;
    unsigned kind;
    int err = fat_resolve(vol, path, &parent, &last, &last_length, e, &kind);
    /* what rmdir(2) and unlink(2) say on Linux: "DIR/." EINVAL, "DIR/.." ENOTEMPTY, the
     * root EBUSY; unlink of any of them EISDIR */
    if (!err && !last)
        err = !directory                                  ? -EISDIR
              : (kind & FAT_LAST_KIND) == FAT_LAST_DOT    ? -EINVAL
              : (kind & FAT_LAST_KIND) == FAT_LAST_DOTDOT ? -ENOTEMPTY
                                                          : -EBUSY;
    bool is_dir = !err && (e->raw[11] & FAT_ATTR_DIRECTORY);
    if (!err && directory && !is_dir)
        err = -ENOTDIR;
    if (!err && !directory && is_dir)
        err = -EISDIR;
    if (!err && is_dir) {
        uint32_t cluster = fat_entry_cluster(vol, e->raw);
        if (cluster == 0 || cluster == fat_root_cluster(vol))
            err = -EUCLEAN;
        else
            err = fat_dir_is_empty(vol, cluster);
        if (!err)
            fat_index_drop_dir(vol, cluster); /* the directory goes away */
    }
    if (!err && fat_entry_is_open(vol, e->sector, e->offset))
        err = -EBUSY;
    if (!err)
        err = remove_and_free(vol, parent, e);
    kfree(e);
    return err;
}

int fat_unlink(struct fat_volume *vol, const char *path)
{
    return remove_path(vol, path, false);
}

int fat_rmdir(struct fat_volume *vol, const char *path)
{
    return remove_path(vol, path, true);
}

/* Refuses to move a directory into itself or below itself: walks up from the target parent
 * through ".." entries (bounded). */
static int check_not_ancestor(struct fat_volume *vol, uint32_t moved, uint32_t target_parent)
{
    uint32_t p = target_parent;
    for (int steps = 0; steps < ANCESTOR_WALK_MAX; steps++) {
        if (p == 0 || p == fat_root_cluster(vol))
            return 0;
        if (p == moved)
            return -EINVAL;
        struct fat_dir_cursor cursor;
        fat_cursor_init(vol, &cursor, p);
        uint64_t sector;
        uint32_t offset;
        int err = fat_dir_slot(vol, &cursor, 1, &sector, &offset);
        if (err)
            return err == -ENOENT ? -EUCLEAN : err;
        uint8_t *data;
        err = fat_cache_get(vol, sector, false, &data);
        if (err)
            return err;
        if (memcmp(data + offset, "..         ", 11) != 0)
            return -EUCLEAN;
        p = fat_entry_cluster(vol, data + offset);
    }
    return -ELOOP;
}

/* Moves an entry to a new name (in a new directory): the new entry is planned, an intent
 * record naming both is made durable, the new entry is written and made durable, the old one
 * removed (and a moved directory's ".." changed), and the record cleared.  A cut anywhere is
 * settled by the next mount (intent.c).  Without a place for the record (a full FAT12/16
 * root), the new entry is made durable before the old one goes: a cut then leaves two names,
 * never none. */
static int move_entry(struct fat_volume *vol, const struct fat_entry_info *old_entry,
                      uint32_t old_parent, uint32_t new_parent, const char *name, bool same_entry,
                      struct fat_entry_info *new_entry)
{
    struct fat_dir_plan *plan = kmalloc(sizeof(*plan));
    if (!plan)
        return -ENOMEM;
    int err = fat_dir_plan_add(vol, new_parent, name, same_entry ? old_entry : NULL, plan);
    if (err) {
        kfree(plan);
        return err;
    }
    uint32_t cluster = fat_entry_cluster(vol, old_entry->raw);
    bool moves_dir = (old_entry->raw[11] & FAT_ATTR_DIRECTORY) && new_parent != old_parent &&
                     fat_cluster_valid(vol, cluster);
    struct fat_move_intent m = {
        .old_dir = old_parent,
        .old_first = old_entry->first_index,
        .old_index = old_entry->index,
        .new_dir = new_parent,
        .new_first = plan->first,
        .new_index = plan->first + plan->lfn_slots,
        .moved_cluster = cluster,
        .old_parent = old_parent,
        .new_parent = new_parent,
        .is_dir = moves_dir,
    };
    memcpy(m.old_raw, old_entry->raw, 32);
    memcpy(m.new_short, plan->short_name, 11);
    int recorded = fat_intent_begin(vol, &m);
    if (recorded < 0)
        err = recorded;
    if (!err)
        err = fat_dir_commit_add(vol, plan, old_entry->raw, new_entry);
    if (!err)
        err = fat_volume_sync(vol);
    if (!err)
        err = fat_dir_remove(vol, old_parent, old_entry);
    if (!err && moves_dir)
        err = fat_set_dotdot(vol, cluster, new_parent);
    if (recorded == 1) {
        int end = err ? fat_intent_abort(vol) : fat_intent_end(vol);
        if (!err)
            err = end;
    }
    kfree(plan);
    return err;
}

int fat_rename(struct fat_volume *vol, const char *old_path, const char *new_path)
{
    if (vol->read_only)
        return -EROFS;
    struct fat_entry_info *old_entry = entry_alloc();
    struct fat_entry_info *new_entry = entry_alloc();
    char *name = kmalloc(FAT_NAME_UTF8_MAX + 1);
    int err = -ENOMEM;
    if (!old_entry || !new_entry || !name)
        goto out;
    uint32_t old_parent, new_parent;
    const char *last;
    size_t last_length;
    err = fat_resolve(vol, old_path, &old_parent, &last, &last_length, old_entry, NULL);
    if (!err && !last)
        err = -EBUSY; /* "/", "DIR/." or "DIR/..", as rename(2) says */
    if (err)
        goto out;
    bool is_dir = old_entry->raw[11] & FAT_ATTR_DIRECTORY;
    unsigned new_kind;
    err = fat_resolve(vol, new_path, &new_parent, &last, &last_length, new_entry, &new_kind);
    bool same_entry = !err && last && new_entry->sector == old_entry->sector &&
                      new_entry->offset == old_entry->offset;
    if (!err && !same_entry) {
        err = -EEXIST; /* the target exists (also "/", "." and ".."): no replacing */
        goto out;
    }
    if (err && (err != -ENOENT || !last))
        goto out;
    if (!is_dir && (new_kind & FAT_LAST_SLASH)) {
        err = -ENOTDIR; /* a file cannot be renamed to "NEW/" */
        goto out;
    }
    memcpy(name, last, last_length);
    name[last_length] = 0;
    err = 0;
    if (!fat_long_name_valid(name)) {
        err = -EINVAL;
        goto out;
    }
    uint32_t cluster = fat_entry_cluster(vol, old_entry->raw);
    if (is_dir && (err = check_not_ancestor(vol, cluster, new_parent)))
        goto out;
    if (fat_entry_is_open(vol, old_entry->sector, old_entry->offset)) {
        err = -EBUSY;
        goto out;
    }
    err = move_entry(vol, old_entry, old_parent, new_parent, name, same_entry, new_entry);
out:
    kfree(old_entry);
    kfree(new_entry);
    kfree(name);
    return err;
}
