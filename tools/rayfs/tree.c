/* rayfs put -r and get -r: whole directory trees in one run (one mount, one lock), as mcopy -s
 * does.  A file or directory that fails is reported and skipped; the rest is still copied and
 * the exit status is 1.  Names read from the image are untrusted: one that would leave the
 * target directory ("..", a '/') is refused. */
#include "rayfs.h"

#include <rayos/escape.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int join(char *out, size_t size, const char *dir, const char *name)
{
    size_t length = strlen(dir);
    bool slash = length && dir[length - 1] == '/';
    int n = snprintf(out, size, "%s%s%s", dir, slash ? "" : "/", name);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a local directory, sorted (so the image's order does not depend on the host). */
static char **local_names(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t capacity = 16;
    char **names = malloc(capacity * sizeof(*names));
    *count = 0;
    struct dirent *entry;
    while (names && (entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (*count == capacity) {
            char **more = realloc(names, (capacity *= 2) * sizeof(*names));
            if (!more)
                break;
            names = more;
        }
        names[(*count)++] = strdup(entry->d_name);
    }
    closedir(d);
    if (names)
        qsort(names, *count, sizeof(*names), compare_names);
    return names;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* Makes the image directory path unless it is one already. */
static int ensure_image_dir(struct session *s, const char *path)
{
    struct fat_stat st;
    int err = fat_stat(s->vol, path, &st);
    if (err == -ENOENT)
        err = fat_mkdir(s->vol, path);
    else if (!err && !st.is_directory)
        err = -ENOTDIR;
    return err ? fail(path, err) : 0;
}

static int put_dir(struct session *s, const char *local_dir, const char *path)
{
    size_t count;
    char **names = local_names(local_dir, &count);
    if (!names)
        return fail(local_dir, errno ? errno : ENOMEM);
    int status = 0;
    static char local[4096], target[FAT_PATH_MAX + 1];
    for (size_t i = 0; i < count; i++) {
        if (join(local, sizeof(local), local_dir, names[i]) ||
            join(target, sizeof(target), path, names[i])) {
            status = fail(names[i], ENAMETOOLONG);
            continue;
        }
        struct stat st;
        if (lstat(local, &st) != 0) {
            status = fail(local, errno);
        } else if (S_ISDIR(st.st_mode)) {
            char *child_local = strdup(local), *child_target = strdup(target);
            if (!child_local || !child_target)
                status = fail(local, ENOMEM);
            else if (ensure_image_dir(s, child_target) == 0)
                status |= put_dir(s, child_local, child_target);
            else
                status = 1;
            free(child_local);
            free(child_target);
        } else if (S_ISREG(st.st_mode)) {
            status |= import_path(s, local, target);
        } else {
            fprintf(stderr, "rayfs: %s: not a regular file or directory; skipped\n", local);
            status = 1;
        }
    }
    free_names(names, count);
    return status;
}

int put_tree(const char *image, const char *local_dir, const char *path)
{
    struct stat st;
    if (stat(local_dir, &st) != 0)
        return fail(local_dir, errno);
    if (!S_ISDIR(st.st_mode))
        return fail(local_dir, ENOTDIR);
    struct session s;
    if (session_open(&s, image, true))
        return 1;
    int status = ensure_image_dir(&s, path);
    if (status == 0)
        status = put_dir(&s, local_dir, path);
    return session_close(&s, status);
}

/* The entries of an image directory (without "." and ".."), read before any is copied. */
static struct fat_dirent *image_entries(struct session *s, const char *path, size_t *count,
                                        int *err)
{
    struct fat_dir *dir;
    *count = 0;
    if ((*err = fat_opendir(s->vol, path, &dir)) != 0)
        return NULL;
    size_t capacity = 16;
    struct fat_dirent *entries = malloc(capacity * sizeof(*entries));
    while (entries) {
        if (*count == capacity) {
            struct fat_dirent *more = realloc(entries, (capacity *= 2) * sizeof(*entries));
            if (!more) {
                free(entries);
                entries = NULL;
                break;
            }
            entries = more;
        }
        int r = fat_readdir(dir, &entries[*count]);
        if (r <= 0) {
            *err = r;
            break;
        }
        const char *name = entries[*count].name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
            (*count)++;
    }
    fat_closedir(dir);
    if (!entries)
        *err = -ENOMEM;
    return entries;
}

static int get_dir(struct session *s, const char *path, const char *local_dir)
{
    size_t count;
    int err;
    struct fat_dirent *entries = image_entries(s, path, &count, &err);
    if (err < 0) {
        free(entries);
        return fail(path, err);
    }
    int status = 0;
    static char source[FAT_PATH_MAX + 1], local[4096];
    for (size_t i = 0; i < count; i++) {
        const char *name = entries[i].name;
        if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            char shown[FAT_PATH_MAX * ESCAPE_MAX_RATIO + 1];
            fprintf(stderr, "rayfs: %s: a name that leaves the directory; skipped\n",
                    escape_string(shown, sizeof(shown), name));
            status = 1;
            continue;
        }
        if (join(source, sizeof(source), path, name) ||
            join(local, sizeof(local), local_dir, name)) {
            status = fail(name, ENAMETOOLONG);
            continue;
        }
        if (entries[i].stat.is_directory) {
            char *child_source = strdup(source), *child_local = strdup(local);
            if (!child_source || !child_local)
                status = fail(local, ENOMEM);
            else if (mkdir(child_local, 0777) != 0 && errno != EEXIST)
                status = fail(child_local, errno);
            else
                status |= get_dir(s, child_source, child_local);
            free(child_source);
            free(child_local);
        } else {
            status |= export_path(s, source, local);
        }
    }
    free(entries);
    return status;
}

int get_tree(const char *image, const char *path, const char *local_dir)
{
    struct session s;
    if (session_open(&s, image, false))
        return 1;
    struct fat_stat st;
    int err = fat_stat(s.vol, path, &st);
    int status = 0;
    if (err)
        status = fail(path, err);
    else if (!st.is_directory)
        status = fail(path, ENOTDIR);
    else if (mkdir(local_dir, 0777) != 0 && errno != EEXIST)
        status = fail(local_dir, errno);
    if (status == 0)
        status = get_dir(&s, path, local_dir);
    return session_close(&s, status);
}
