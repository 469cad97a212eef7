/* Path resolution: lexical normalisation ("." and ".." need no disk access on FAT, which has
 * no links), then one directory lookup per component. */
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/string.h>

#include "fat_internal.h"

struct component {
    const char *text;
    size_t length;
};

/* A directory on the way down: its cluster and where its own entry lives, so that ".." can
 * go back to it without a lookup. */
struct frame {
    uint32_t cluster;
    uint64_t sector;
    uint32_t offset;
};

uint32_t fat_root_cluster(const struct fat_volume *vol)
{
    return vol->type == 32 ? vol->root_cluster : 0;
}

/* The next component from *p ("." and ".." included: they are resolved against the
 * directories walked, as POSIX does, so "FILE/.." is ENOTDIR and "MISSING/.." ENOENT).  Returns
 * false at the end; *final says no component follows. */
static bool next_component(const char **p, struct component *out, bool *final)
{
    const char *s = *p;
    while (*s == '/')
        s++;
    if (!*s)
        return false;
    out->text = s;
    while (*s && *s != '/')
        s++;
    out->length = (size_t)(s - out->text);
    *p = s;
    while (*s == '/')
        s++;
    *final = *s == 0;
    return true;
}

static bool is_dot(const struct component *c)
{
    return c->length == 1 && c->text[0] == '.';
}

static bool is_dotdot(const struct component *c)
{
    return c->length == 2 && c->text[0] == '.' && c->text[1] == '.';
}

static void root_entry(const struct fat_volume *vol, struct fat_entry_info *out)
{
    memset(out, 0, sizeof(*out));
    memset(out->raw, ' ', 11);
    out->raw[0] = '/';
    out->raw[11] = FAT_ATTR_DIRECTORY;
    fat_entry_set_cluster(out->raw, fat_root_cluster(vol));
    fat_copy_string(out->name, "/", sizeof(out->name));
}

/* The entry of the directory on top of the stack (after "." or ".."), read from its slot. */
static int frame_entry(struct fat_volume *vol, const struct frame *frame,
                       struct fat_entry_info *out)
{
    if (frame->sector == 0) {
        root_entry(vol, out);
        return 0;
    }
    uint8_t *data;
    int err = fat_cache_get(vol, frame->sector, false, &data);
    if (err)
        return err;
    memset(out, 0, sizeof(*out));
    memcpy(out->raw, data + frame->offset, FAT_DIR_ENTRY_SIZE);
    out->sector = frame->sector;
    out->offset = frame->offset;
    fat_short_to_string(out->raw, true, out->name, sizeof(out->name));
    return 0;
}

int fat_resolve(struct fat_volume *vol, const char *path, uint32_t *parent_cluster,
                const char **last, size_t *last_length, struct fat_entry_info *out, unsigned *kind)
{
    struct frame *frames = kmalloc(sizeof(*frames) * (FAT_PATH_DEPTH_MAX + 1));
    char *name = kmalloc(FAT_NAME_UTF8_MAX + 1);
    int err = -ENOMEM;
    unsigned last_kind = FAT_LAST_ROOT;
    size_t length = strnlen(path, FAT_PATH_MAX + 1);
    bool trailing_slash = length > 0 && path[length - 1] == '/';
    if (!frames || !name)
        goto out;
    err = -ENAMETOOLONG;
    if (length > FAT_PATH_MAX)
        goto out;
    err = 0;
    *last = NULL;
    *last_length = 0;
    *parent_cluster = 0;
    size_t depth = 0; /* frames[0..depth]: the directories from the root down */
    frames[0] = (struct frame){0, 0, 0};
    bool at_directory = true; /* what the components so far name is a directory */
    const char *cursor = path;
    struct component part;
    bool final;
    while (next_component(&cursor, &part, &final)) {
        if (part.length > FAT_NAME_UTF8_MAX) {
            err = -ENAMETOOLONG;
            goto out;
        }
        if (!at_directory) {
            err = -ENOTDIR;
            goto out;
        }
        if (is_dot(&part) || is_dotdot(&part)) {
            if (is_dotdot(&part) && depth > 0)
                depth--;
            last_kind = is_dot(&part) ? FAT_LAST_DOT : FAT_LAST_DOTDOT;
            continue;
        }
        last_kind = FAT_LAST_NAME;
        memcpy(name, part.text, part.length);
        name[part.length] = 0;
        uint32_t dir = frames[depth].cluster;
        if (final) {
            *parent_cluster = dir;
            *last = part.text;
            *last_length = part.length;
        }
        err = fat_dir_find(vol, dir, name, out);
        if (err)
            goto out;
        at_directory = (out->raw[11] & FAT_ATTR_DIRECTORY) != 0;
        if (!at_directory)
            continue;
        uint32_t cluster = fat_entry_cluster(vol, out->raw);
        if (cluster != 0 && !fat_cluster_valid(vol, cluster)) {
            err = -EUCLEAN;
            goto out;
        }
        if (depth == FAT_PATH_DEPTH_MAX) {
            err = -ENAMETOOLONG;
            goto out;
        }
        frames[++depth] = (struct frame){cluster, out->sector, out->offset};
    }
    if (!at_directory && trailing_slash) {
        err = -ENOTDIR; /* "FILE/" */
        goto out;
    }
    if (last_kind != FAT_LAST_NAME) {
        /* the path ends at a directory reached through "." or "..", or at the root */
        *parent_cluster = depth > 0 ? frames[depth - 1].cluster : 0;
        err = frame_entry(vol, &frames[depth], out);
    }
out:
    if (kind)
        *kind = last_kind | (trailing_slash ? FAT_LAST_SLASH : 0);
    kfree(frames);
    kfree(name);
    return err;
}
