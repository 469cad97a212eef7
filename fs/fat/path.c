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

uint32_t fat_root_cluster(const struct fat_volume *vol)
{
    return vol->type == 32 ? vol->root_cluster : 0;
}

static int split_path(const char *path, struct component *parts, size_t *count)
{
    size_t n = 0;
    if (strnlen(path, FAT_PATH_MAX + 1) > FAT_PATH_MAX)
        return -ENAMETOOLONG;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t length = (size_t)(p - start);
        if (length == 1 && start[0] == '.')
            continue;
        if (length == 2 && start[0] == '.' && start[1] == '.') {
            if (n > 0)
                n--;
            continue;
        }
        if (length > FAT_NAME_UTF8_MAX)
            return -ENAMETOOLONG;
        if (n == FAT_PATH_DEPTH_MAX)
            return -ENAMETOOLONG;
        parts[n].text = start;
        parts[n].length = length;
        n++;
    }
    *count = n;
    return 0;
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

int fat_resolve(struct fat_volume *vol, const char *path, uint32_t *parent_cluster,
                const char **last, size_t *last_length, struct fat_entry_info *out)
{
    struct component *parts = kmalloc(sizeof(*parts) * FAT_PATH_DEPTH_MAX);
    char *name = kmalloc(FAT_NAME_UTF8_MAX + 1);
    int err = -ENOMEM;
    if (!parts || !name)
        goto out;
    size_t count;
    err = split_path(path, parts, &count);
    if (err)
        goto out;
    *last = NULL;
    *last_length = 0;
    *parent_cluster = 0;
    if (count == 0) {
        root_entry(vol, out);
        goto out;
    }
    uint32_t dir = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(name, parts[i].text, parts[i].length);
        name[parts[i].length] = 0;
        if (i + 1 == count) {
            *parent_cluster = dir;
            *last = parts[i].text;
            *last_length = parts[i].length;
        }
        err = fat_dir_find(vol, dir, name, out);
        if (err)
            goto out;
        if (i + 1 < count) {
            if (!(out->raw[11] & FAT_ATTR_DIRECTORY)) {
                err = -ENOTDIR;
                goto out;
            }
            dir = fat_entry_cluster(vol, out->raw);
            if (dir != 0 && !fat_cluster_valid(vol, dir)) {
                err = -EUCLEAN;
                goto out;
            }
        }
    }
out:
    kfree(parts);
    kfree(name);
    return err;
}
