/* File shell commands over the VFS: ls, cat, echo > / >>, cp, mv, rm, mkdir, rmdir, stat, df,
 * sync, mount, umount, hexdump.  Relative paths are taken from "/" (the shell has no working
 * directory).  Errors read like coreutils: "rm: /a/b: No such file or directory". */
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/escape.h>
#include <rayos/heap.h>
#include <rayos/hexdump.h>
#include <rayos/shell.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/vfs.h>
#include "root.h"

#define COPY_CHUNK (64 * 1024)

static const char *absolute(const char *path, char *buffer, size_t size)
{
    if (path[0] == '/')
        return path;
    snprintf(buffer, size, "/%s", path);
    return buffer;
}

static int fail(const char *command, const char *path, int error)
{
    shell_printf("%s: %s: %s\n", command, path, error_name(-error));
    return error;
}

static int usage(const char *text)
{
    shell_printf("usage: %s\n", text);
    return -EINVAL;
}

/* A time as ls shows it; 0 is "not known" (a mount point, a FAT entry without a creation
 * time), shown as "-" in the same width rather than as 1970. */
static void format_time(int64_t seconds, char *out, size_t size)
{
    if (seconds == 0) {
        snprintf(out, size, "%16s", "-");
        return;
    }
    struct wall_time t;
    time_from_unix(seconds, &t);
    snprintf(out, size, "%04u-%02u-%02u %02u:%02u", t.year, t.month, t.day, t.hour, t.minute);
}

/* Names come from disks: control characters (an ESC sequence could clear the screen) are
 * printed escaped, never raw. */
static void print_entry(const char *raw_name, const struct vfs_stat *st, bool long_format)
{
    char *name = kmalloc(VFS_NAME_BYTES_MAX * ESCAPE_MAX_RATIO + 1);
    if (!name)
        return;
    escape_string(name, VFS_NAME_BYTES_MAX * ESCAPE_MAX_RATIO + 1, raw_name);
    if (!long_format) {
        shell_printf("%s%s\n", name, st->is_directory ? "/" : "");
        kfree(name);
        return;
    }
    char when[24];
    format_time(st->modified, when, sizeof(when));
    shell_printf("%c %10llu %s %s\n", st->is_directory ? 'd' : '-', (unsigned long long)st->size,
                 when, name);
    kfree(name);
}

static int cmd_ls(int argc, char **argv)
{
    bool long_format = argc > 1 && strcmp(argv[1], "-l") == 0;
    int first = long_format ? 2 : 1;
    char buffer[VFS_PATH_MAX];
    const char *path = argc > first ? absolute(argv[first], buffer, sizeof(buffer)) : "/";
    struct vfs_stat st;
    int error = vfs_stat(path, &st);
    if (error)
        return fail("ls", path, error);
    if (!st.is_directory) {
        print_entry(path, &st, long_format);
        return 0;
    }
    struct vfs_dir *dir;
    error = vfs_opendir(path, &dir);
    if (error)
        return fail("ls", path, error);
    struct vfs_dirent *entry = kmalloc(sizeof(*entry));
    int result = entry ? 0 : -ENOMEM;
    while (entry && (result = vfs_readdir(dir, entry)) == 1)
        print_entry(entry->name, &entry->stat, long_format);
    kfree(entry);
    vfs_closedir(dir);
    return result < 0 ? fail("ls", path, result) : 0;
}
SHELL_COMMAND("ls", "[-l] [PATH]  list a directory", cmd_ls);

static int cmd_cat(int argc, char **argv)
{
    if (argc < 2)
        return usage("cat FILE...");
    char *chunk = kmalloc(COPY_CHUNK);
    if (!chunk)
        return -ENOMEM;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        char buffer[VFS_PATH_MAX];
        const char *path = absolute(argv[i], buffer, sizeof(buffer));
        struct vfs_file *file;
        int error = vfs_open(path, VFS_O_READ, &file);
        ssize_t n = 0;
        while (!error && (n = vfs_read(file, chunk, COPY_CHUNK)) > 0) {
            shell_write(chunk, (size_t)n);
            if (thread_should_stop()) {
                n = -EINTR;
                break;
            }
        }
        if (!error) {
            error = n < 0 ? (int)n : 0;
            vfs_close(file);
        }
        if (error)
            status = fail("cat", path, error);
    }
    kfree(chunk);
    return status;
}
SHELL_COMMAND("cat", "FILE...  print files", cmd_cat);

static int cmd_echo(int argc, char **argv)
{
    int end = argc;
    const char *target = NULL;
    bool append = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], ">") == 0 || strcmp(argv[i], ">>") == 0) {
            if (i + 1 >= argc || i + 2 != argc)
                return usage("echo TEXT... [> FILE | >> FILE]");
            append = argv[i][1] == '>';
            target = argv[i + 1];
            end = i;
            break;
        }
    }
    size_t length = 0;
    for (int i = 1; i < end; i++)
        length += strlen(argv[i]) + 1;
    char *text = kmalloc(length + 1), *o = text;
    if (!text)
        return -ENOMEM;
    for (int i = 1; i < end; i++) {
        size_t n = strlen(argv[i]);
        memcpy(o, argv[i], n);
        o += n;
        *o++ = i + 1 < end ? ' ' : '\n';
    }
    if (end == 1)
        *o++ = '\n';
    length = (size_t)(o - text);
    int error = 0;
    if (!target) {
        shell_write(text, length);
    } else {
        char buffer[VFS_PATH_MAX];
        const char *path = absolute(target, buffer, sizeof(buffer));
        struct vfs_file *file;
        error = vfs_open(path, VFS_O_WRITE | VFS_O_CREATE | (append ? VFS_O_APPEND : VFS_O_TRUNC),
                         &file);
        if (!error) {
            ssize_t n = vfs_write(file, text, length);
            error = n < 0 ? (int)n : vfs_file_sync(file);
            int closed = vfs_close(file);
            error = error ? error : closed;
        }
        if (error)
            fail("echo", path, error);
    }
    kfree(text);
    return error;
}
SHELL_COMMAND("echo", "TEXT... [> FILE | >> FILE]  print, write or append a line", cmd_echo);

/* Copies from to to.  Errors name the file that failed (a read error is the source's, a
 * write error the target's); a target that could not be completed is removed, so no partial
 * copy is left looking like a good one. */
static int copy_file(const char *command, const char *from, const char *to)
{
    char a[VFS_PATH_MAX], b[VFS_PATH_MAX];
    if (vfs_normalize_path(from, a, sizeof(a)) == 0 && vfs_normalize_path(to, b, sizeof(b)) == 0 &&
        strcmp(a, b) == 0) {
        shell_printf("%s: %s and %s are the same file\n", command, from, to);
        return -EINVAL;
    }
    struct vfs_file *in, *out;
    int error = vfs_open(from, VFS_O_READ, &in);
    if (error)
        return fail(command, from, error);
    struct vfs_stat st;
    error = vfs_fstat(in, &st);
    if (!error && st.is_directory)
        error = -EISDIR;
    if (error) {
        vfs_close(in);
        return fail(command, from, error);
    }
    error = vfs_open(to, VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC, &out);
    if (error) {
        vfs_close(in);
        if (error == -EBUSY) /* open elsewhere: perhaps the source under another name */
            shell_printf("%s: %s: %s (open, or the same file as %s)\n", command, to,
                         error_name(EBUSY), from);
        else
            fail(command, to, error);
        return error;
    }
    char *chunk = kmalloc(COPY_CHUNK);
    const char *failed = to;
    error = chunk ? 0 : -ENOMEM;
    while (!error) {
        if (thread_should_stop()) { /* Ctrl-C: an incomplete copy, removed below */
            error = -EINTR;
            break;
        }
        ssize_t n = vfs_read(in, chunk, COPY_CHUNK);
        if (n <= 0) {
            error = (int)n;
            failed = from;
            break;
        }
        ssize_t written = vfs_write(out, chunk, (size_t)n);
        if (written != n)
            error = written < 0 ? (int)written : -EIO;
    }
    kfree(chunk);
    if (!error) {
        failed = to;
        error = vfs_file_sync(out);
    }
    vfs_close(in);
    int closed = vfs_close(out);
    if (!error)
        error = closed;
    if (!error)
        return 0;
    fail(command, failed, error);
    int removed = vfs_unlink(to);
    if (removed == 0)
        shell_printf("%s: %s: removed the incomplete copy\n", command, to);
    else
        shell_printf("%s: %s: INCOMPLETE COPY left behind (cannot remove it: %s)\n", command, to,
                     error_name(-removed));
    return error;
}

static int cmd_cp(int argc, char **argv)
{
    if (argc != 3)
        return usage("cp SOURCE TARGET");
    char a[VFS_PATH_MAX], b[VFS_PATH_MAX];
    return copy_file("cp", absolute(argv[1], a, sizeof(a)), absolute(argv[2], b, sizeof(b)));
}
SHELL_COMMAND("cp", "SOURCE TARGET  copy a file", cmd_cp);

static int cmd_mv(int argc, char **argv)
{
    if (argc != 3)
        return usage("mv SOURCE TARGET");
    char a[VFS_PATH_MAX], b[VFS_PATH_MAX];
    const char *from = absolute(argv[1], a, sizeof(a)), *to = absolute(argv[2], b, sizeof(b));
    int error = vfs_rename(from, to);
    if (error == -EXDEV) { /* another filesystem: copy, then remove the original */
        error = copy_file("mv", from, to);
        if (error)
            return error; /* reported by copy_file, naming the file that failed */
        error = vfs_unlink(from);
    }
    return error ? fail("mv", from, error) : 0;
}
SHELL_COMMAND("mv", "SOURCE TARGET  rename or move", cmd_mv);

/* Runs one path operation per argument, with the command's error report. */
static int each_path(int argc, char **argv, const char *name, int (*op)(const char *path))
{
    if (argc < 2) {
        shell_printf("usage: %s PATH...\n", name);
        return -EINVAL;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        char buffer[VFS_PATH_MAX];
        const char *path = absolute(argv[i], buffer, sizeof(buffer));
        int error = op(path);
        if (error)
            status = fail(name, path, error);
    }
    return status;
}

static int remove_path(const char *path)
{
    struct vfs_stat st;
    int error = vfs_stat(path, &st);
    if (error)
        return error;
    return st.is_directory ? vfs_rmdir(path) : vfs_unlink(path);
}

static int cmd_rm(int argc, char **argv)
{
    return each_path(argc, argv, "rm", remove_path);
}
SHELL_COMMAND("rm", "PATH...  remove files (or empty directories)", cmd_rm);

static int cmd_mkdir(int argc, char **argv)
{
    return each_path(argc, argv, "mkdir", vfs_mkdir);
}
SHELL_COMMAND("mkdir", "DIR...  create directories", cmd_mkdir);

static int cmd_rmdir(int argc, char **argv)
{
    return each_path(argc, argv, "rmdir", vfs_rmdir);
}
SHELL_COMMAND("rmdir", "DIR...  remove empty directories", cmd_rmdir);

static int print_stat(const char *path)
{
    struct vfs_stat st;
    int error = vfs_stat(path, &st);
    if (error)
        return error;
    char modified[24] = "unknown", created[24] = "unknown";
    if (st.modified)
        format_time(st.modified, modified, sizeof(modified));
    if (st.created)
        format_time(st.created, created, sizeof(created));
    shell_printf("  File: %s\n  Size: %llu\n  Type: %s%s\nModify: %s\nCreate: %s\n", path,
                 (unsigned long long)st.size, st.is_directory ? "directory" : "regular file",
                 st.read_only ? " (read-only)" : "", modified, created);
    return 0;
}

static int cmd_stat(int argc, char **argv)
{
    return each_path(argc, argv, "stat", print_stat);
}
SHELL_COMMAND("stat", "PATH...  size, type and times", cmd_stat);

static int cmd_df(int argc, char **argv)
{
    struct vfs_mount_info info;
    shell_printf("%-10s %-6s %10s %10s %10s %4s %s\n", "Filesystem", "Type", "1K-blocks", "Used",
                 "Available", "Use%", "Mounted on");
    for (unsigned i = 0; vfs_mount_at(i, &info); i++) {
        struct vfs_statfs fs;
        if (vfs_statfs(info.path, &fs) != 0)
            continue;
        uint64_t total = fs.total_blocks * fs.block_size / 1024;
        uint64_t available = fs.free_blocks * fs.block_size / 1024;
        uint64_t used = total - available;
        shell_printf("%-10s %-6s %10llu %10llu %10llu %3llu%% %s\n", info.source, fs.type,
                     (unsigned long long)total, (unsigned long long)used,
                     (unsigned long long)available,
                     (unsigned long long)(total ? DIV_ROUND_UP(used * 100, total) : 0), info.path);
    }
    return 0;
}
SHELL_COMMAND("df", "mounted filesystems and their space", cmd_df);

static int cmd_sync(int argc, char **argv)
{
    int error = vfs_sync(NULL);
    if (error)
        shell_printf("sync: %s\n", error_name(-error));
    return error;
}
SHELL_COMMAND("sync", "write everything to disk", cmd_sync);

static int cmd_mount(int argc, char **argv)
{
    if (argc == 1) {
        struct vfs_mount_info info;
        for (unsigned i = 0; vfs_mount_at(i, &info); i++)
            shell_printf("%s on %s type %s (%s)\n", info.source, info.path, info.type,
                         info.read_only ? "ro" : "rw");
        return 0;
    }
    bool read_only = argc == 4 && strcmp(argv[1], "-r") == 0;
    if (argc != 3 && !read_only)
        return usage("mount [-r] DEVICE PATH   (no arguments: list mounts)");
    const char *device = argv[argc - 2];
    char buffer[VFS_PATH_MAX];
    const char *path = absolute(argv[argc - 1], buffer, sizeof(buffer));
    int error = fs_mount_device(device, path, read_only ? VFS_MOUNT_READ_ONLY : 0);
    struct block_device *dev = error == -EBUSY ? block_device_find(device) : NULL;
    char why[80];
    if (error == -EMEDIUMTYPE)
        shell_printf("mount: %s: no filesystem RayOS knows\n", device);
    else if (dev && block_device_busy(dev, why, sizeof(why)))
        shell_printf("mount: %s: %s: %s\n", device, error_name(EBUSY), why);
    else if (error)
        fail("mount", device, error);
    if (dev)
        device_put(&dev->dev);
    return error;
}
SHELL_COMMAND("mount", "[-r] DEVICE PATH  mount a filesystem (no arguments: list)", cmd_mount);

static int cmd_umount(int argc, char **argv)
{
    if (argc != 2)
        return usage("umount PATH");
    char buffer[VFS_PATH_MAX];
    const char *path = absolute(argv[1], buffer, sizeof(buffer));
    char normal[VFS_PATH_MAX];
    if (vfs_normalize_path(path, normal, sizeof(normal)) == 0 && strcmp(normal, "/") == 0) {
        /* Everything else lives under it (configuration, log, loop files); poweroff and
         * reboot unmount it last, after the log and the loop devices let go. */
        shell_printf("umount: /: %s: the root stays mounted until poweroff or reboot\n",
                     error_name(EBUSY));
        return -EBUSY;
    }
    int error = fs_unmount_path(path);
    if (error == -EINVAL)
        shell_printf("umount: %s: not mounted\n", path);
    else if (error)
        fail("umount", path, error);
    return error;
}
SHELL_COMMAND("umount", "PATH  unmount", cmd_umount);

static int cmd_hexdump(int argc, char **argv)
{
    if (argc != 2)
        return usage("hexdump FILE");
    char buffer[VFS_PATH_MAX];
    const char *path = absolute(argv[1], buffer, sizeof(buffer));
    struct vfs_file *file;
    int error = vfs_open(path, VFS_O_READ, &file);
    if (error)
        return fail("hexdump", path, error);
    uint8_t *chunk = kmalloc(4096);
    uint64_t offset = 0;
    ssize_t n = chunk ? 0 : -ENOMEM;
    while (chunk && (n = vfs_read(file, chunk, 4096)) > 0 && !thread_should_stop()) {
        char line[HEXDUMP_LINE_MAX];
        for (ssize_t i = 0; i < n; i += 16) {
            size_t length = hexdump_line(line, offset + (uint64_t)i, chunk + i,
                                         (size_t)MIN((ssize_t)16, n - i));
            shell_write(line, length);
        }
        offset += (uint64_t)n;
    }
    kfree(chunk);
    vfs_close(file);
    return n < 0 ? fail("hexdump", path, (int)n) : 0;
}
SHELL_COMMAND("hexdump", "FILE  bytes in xxd format", cmd_hexdump);
