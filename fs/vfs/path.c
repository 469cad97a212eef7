/* Path normalisation, shared by the VFS and its unit tests. */
#include <rayos/errno.h>
#include <rayos/string.h>
#include <rayos/vfs.h>

int vfs_normalize_path(const char *path, char *out, size_t size)
{
    if (!path || path[0] != '/')
        return -EINVAL;
    if (strlen(path) >= VFS_PATH_MAX)
        return -ENAMETOOLONG;
    if (size < 2)
        return -ENAMETOOLONG;
    size_t length = 0;
    const char *p = path + 1;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) { /* "a//b" is "a/b", "a/" is "a" */
            p++;
            continue;
        }
        if (n > VFS_NAME_BYTES_MAX)
            return -ENAMETOOLONG;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return -EINVAL;
        if (n == 1 && p[0] == '.') {
            /* stays in the same directory */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (length == 0) {
                p += n;
                if (*p == '/')
                    p++;
                continue; /* "/.." is "/" */
            }
            while (out[length - 1] != '/') /* drop the last component and its '/' */
                length--;
            length--;
        } else {
            if (length + 1 + n + 1 > size)
                return -ENAMETOOLONG;
            out[length] = '/';
            memcpy(out + length + 1, p, n);
            length += 1 + n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    if (length == 0)
        out[length++] = '/';
    out[length] = 0;
    return 0;
}
