/* libFuzzer: path normalisation (fs/vfs/path.c) and FAT path resolution (fs/fat/path.c).  A
 * normalised path is absolute, has no empty, "." or ".." component and no trailing '/',
 * normalising it again changes nothing, and it agrees with a straightforward model.  On a small
 * FAT volume, a path that resolves names the same entry as its normalised form (".." in FAT
 * follows the directories walked, so lexical normalisation must not disagree with it). */
#include <rayos/errno.h>
#include <rayos/fat.h>
#include <rayos/vfs.h>

#include <stdlib.h>
#include <string.h>

#include "tests/unit/ramdisk.h"

extern int host_log_level;

/* The model: a stack of components. */
static int model_normalize(const char *path, char *out)
{
    if (path[0] != '/')
        return -EINVAL;
    if (strlen(path) >= VFS_PATH_MAX)
        return -ENAMETOOLONG;
    size_t length = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return -EINVAL;
        if (n > VFS_NAME_BYTES_MAX)
            return -ENAMETOOLONG;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (length > 0 && out[length - 1] != '/')
                length--;
            if (length > 0)
                length--;
        } else if (!(n == 1 && p[0] == '.')) {
            out[length++] = '/';
            memcpy(out + length, p, n);
            length += n;
        }
        p += n;
    }
    if (length == 0)
        out[length++] = '/';
    out[length] = 0;
    return 0;
}

static void check_shape(const char *path)
{
    size_t length = strlen(path);
    if (path[0] != '/' || (length > 1 && path[length - 1] == '/') || strstr(path, "//") ||
        strstr(path, "/./") || strstr(path, "/../") ||
        (length >= 2 && strcmp(path + length - 2, "/.") == 0) ||
        (length >= 3 && strcmp(path + length - 3, "/..") == 0))
        abort();
}

static struct fat_volume *volume(void)
{
    static struct ramdisk disk;
    static struct fat_volume *vol;
    if (vol)
        return vol;
    ramdisk_init(&disk, 512, 1 << 20);
    struct fat_mkfs_options options = {.fat_type = 12, .volume_id = 1};
    struct fat_file *file;
    if (fat_mkfs(&disk.io, &options) != 0 || fat_mount(&disk.io, 0, NULL, &vol) != 0 ||
        fat_mkdir(vol, "/d") != 0 || fat_mkdir(vol, "/d/e") != 0 ||
        fat_mkdir(vol, "/Long Directory Name") != 0 ||
        fat_open(vol, "/d/f.txt", FAT_O_WRITE | FAT_O_CREATE, &file) != 0 || fat_close(file) ||
        fat_open(vol, "/d/e/é", FAT_O_WRITE | FAT_O_CREATE, &file) != 0 || fat_close(file))
        abort();
    return vol;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[2 * VFS_PATH_MAX], out[VFS_PATH_MAX], again[VFS_PATH_MAX],
        model[2 * VFS_PATH_MAX];
    host_log_level = -1;
    size = MIN(size, sizeof(path) - 1);
    memcpy(path, data, size);
    path[size] = 0;
    int result = vfs_normalize_path(path, out, sizeof(out));
    int expected = model_normalize(path, model);
    if ((result == 0) != (expected == 0) || (result == 0 && strcmp(out, model) != 0))
        abort();
    if (result != 0)
        return 0;
    check_shape(out);
    if (vfs_normalize_path(out, again, sizeof(again)) != 0 || strcmp(out, again) != 0)
        abort(); /* normalising twice changes nothing */
    struct fat_volume *vol = volume();
    struct fat_stat physical, lexical;
    if (fat_stat(vol, path, &physical) == 0) {
        if (fat_stat(vol, out, &lexical) != 0 || physical.first_cluster != lexical.first_cluster ||
            physical.is_directory != lexical.is_directory)
            abort();
    }
    return 0;
}
