/* rayfs: FAT disk images from the host command line, through RayOS's own FAT library. */
#define _GNU_SOURCE /* copy_file_range */
#include <rayos/escape.h>
#include <rayos/fat.h>
#include <rayos/string.h>

#include "bootdisk.h"
#include "image.h"
#include "rayfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PUT_CHUNK  (16 * 1024 * 1024) /* fewer, larger allocations */
#define COPY_CHUNK (1024 * 1024)      /* reading: stays in the CPU caches */
/* A pipe as large as an unprivileged process may make it (/proc/sys/fs/pipe-max-size's
 * default): the reader wakes once per megabyte instead of once per 64 KiB. */
#define PIPE_BUFFER (1024 * 1024)

static const char usage[] =
    "usage: rayfs COMMAND IMAGE [ARGS]\n"
    "\n"
    "Works on FAT12/16/32 disk images with RayOS's FAT library.  IMAGE is a file holding a\n"
    "FAT volume, or DISK@N for partition N (1-based, MBR or GPT) of a partitioned disk image.\n"
    "The disk's logical block size (512 or 4096) is read from its partition table; give it\n"
    "with --sector-size N before IMAGE to say it (rayfs --sector-size 4096 ls DISK@1 /).\n"
    "\n"
    "Reading commands lock the image shared, writing ones exclusive, in QEMU's scheme: while\n"
    "another rayfs holds it, rayfs waits (at most 60 s; --wait SECONDS before IMAGE, 0 for\n"
    "not at all); an image a running QEMU has open for writing is refused at once.\n"
    "\n"
    "commands:\n"
    "  ls [-l] IMAGE PATH      list a directory (or name a file); -l adds 'd' or '-' and size\n"
    "  cat IMAGE PATH          write a file's bytes to standard output\n"
    "  put IMAGE LOCAL PATH    copy a local file in (replacing PATH; into PATH if a directory)\n"
    "  put -r IMAGE LOCAL PATH copy a local directory tree in as PATH (made if missing; files\n"
    "                          there are replaced), in one run, like mcopy -s\n"
    "  get IMAGE PATH LOCAL    copy a file out\n"
    "  get -r IMAGE PATH LOCAL copy a directory tree out as LOCAL (made if missing)\n"
    "  mkdir IMAGE PATH        make a directory\n"
    "  rm IMAGE PATH           remove a file or an empty directory\n"
    "  mv IMAGE OLD NEW        rename or move a file or directory (NEW must not exist)\n"
    "  stat IMAGE PATH         show an entry's type, size, attributes, cluster and times\n"
    "  df IMAGE                show FAT type, label, sizes and free space\n"
    "  label IMAGE [NEW]       show the volume label, or set it (\"\" removes it) in the root\n"
    "                          directory and the boot sector, like fatlabel\n"
    "  mkfs IMAGE [--fat 12|16|32] [--sector-size N] [--cluster-size N] [--label L]\n"
    "                          format (FAT type and cluster size by size unless given)\n"
    "  check [--repair] IMAGE  consistency check; exit status 1 if errors; --repair first\n"
    "                          repairs what fsck.fat -a repairs (crash-safe), then checks\n"
    "  recover IMAGE           only complete or undo a rename a power cut interrupted (every\n"
    "                          writing command and a RayOS mount do this first); exit 0 also\n"
    "                          when there was nothing to do\n"
    "  bootdisk IMAGE ...      a bootable RayOS disk (rayfs bootdisk for its options)\n"
    "\n"
    "Errors go to standard error as 'rayfs: PATH: reason' with a non-zero exit status, and\n"
    "leave the image as it was.  Paths are case-insensitive and use '/'.\n";

static void host_clock(void *context, struct fat_time *out)
{
    (void)context;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    *out = (struct fat_time){
        (uint16_t)(tm.tm_year + 1900), (uint8_t)(tm.tm_mon + 1), (uint8_t)tm.tm_mday,
        (uint8_t)tm.tm_hour,           (uint8_t)tm.tm_min,       (uint8_t)tm.tm_sec};
}

const struct fat_clock rayfs_clock = {NULL, host_clock};

int fail(const char *what, int err)
{
    fprintf(stderr, "rayfs: %s: %s\n", what, strerror(err < 0 ? -err : err));
    return 1;
}

int session_open(struct session *s, const char *spec, bool writable)
{
    s->spec = spec;
    if (image_open(&s->image, spec, writable) != 0)
        return -1;
    int err = fat_mount(s->image.io, writable ? 0 : FAT_MOUNT_READ_ONLY, &rayfs_clock, &s->vol);
    if (err) {
        fprintf(stderr, "rayfs: %s: not a valid FAT volume: %s\n", spec, strerror(-err));
        image_close(&s->image);
        return -1;
    }
    return 0;
}

int session_close(struct session *s, int status)
{
    int err = fat_unmount(s->vol);
    image_close(&s->image);
    if (err && status == 0)
        return fail(s->spec, err);
    return status;
}

/* Names and labels come from the image: control characters never reach the terminal raw. */
static const char *escaped(const char *text)
{
    static char buffer[FAT_PATH_MAX * ESCAPE_MAX_RATIO + 1];
    return escape_string(buffer, sizeof(buffer), text);
}

static void print_entry(const char *name, const struct fat_stat *st, bool long_format)
{
    if (long_format)
        printf("%c %10llu %s\n", st->is_directory ? 'd' : '-', (unsigned long long)st->size,
               escaped(name));
    else
        printf("%s\n", escaped(name));
}

static int cmd_ls(int argc, char **argv)
{
    bool long_format = false;
    if (argc > 0 && strcmp(argv[0], "-l") == 0) {
        long_format = true;
        argc--, argv++;
    }
    if (argc != 2)
        return fail("ls", EINVAL);
    struct session s;
    if (session_open(&s, argv[0], false))
        return 1;
    const char *path = argv[1];
    struct fat_stat st;
    int err = fat_stat(s.vol, path, &st);
    if (err)
        return session_close(&s, fail(path, err));
    if (!st.is_directory) {
        const char *base = strrchr(path, '/');
        print_entry(base ? base + 1 : path, &st, long_format);
        return session_close(&s, 0);
    }
    struct fat_dir *dir;
    err = fat_opendir(s.vol, path, &dir);
    if (err)
        return session_close(&s, fail(path, err));
    static struct fat_dirent entry;
    int r;
    while ((r = fat_readdir(dir, &entry)) == 1)
        print_entry(entry.name, &entry.stat, long_format);
    fat_closedir(dir);
    return session_close(&s, r < 0 ? fail(path, r) : 0);
}

static int copy_out(struct fat_file *file, int fd, const char *path)
{
    char *buffer = malloc(COPY_CHUNK);
    if (!buffer)
        return fail(path, ENOMEM);
    int status = 0;
    for (;;) {
        ssize_t n = fat_read(file, buffer, COPY_CHUNK);
        if (n < 0) {
            status = fail(path, (int)n);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(fd, buffer + done, (size_t)(n - done));
            if (w <= 0) {
                status = fail("output", errno);
                goto out;
            }
            done += w;
        }
    }
out:
    free(buffer);
    return status;
}

/* One piece of an extent copied by the host kernel, from src at *src_at to dst (at *dst_at, or
 * at its position when dst_at is NULL).  copy_file_range first: no copy at all where the file
 * system can share or copy blocks itself, one in the kernel elsewhere.  It takes only regular
 * files on one kind of file system; for the rest (a pipe or a terminal as standard output, an
 * image in tmpfs and a local file on disk) sendfile, which moves page-cache pages into a pipe
 * without copying them and copies once in the kernel to a file.  Returns what copy_file_range
 * and sendfile return; *by_sendfile says which one is used from then on. */
static ssize_t host_copy(int dst, loff_t *dst_at, int src, loff_t *src_at, size_t length,
                         bool *by_sendfile)
{
    if (!*by_sendfile) {
        ssize_t n = copy_file_range(src, src_at, dst, dst_at, length, 0);
        if (n >= 0 || (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP &&
                       errno != ENOSYS && errno != EBADF))
            return n;
        *by_sendfile = true;
    }
    if (dst_at && lseek(dst, *dst_at, SEEK_SET) != *dst_at)
        return -1;
    ssize_t n = sendfile(dst, src, src_at, length);
    if (n > 0 && dst_at)
        *dst_at += n;
    return n;
}

/* The host kernel copies size bytes between the file's extents in the image and the local
 * file fd (host_copy: no copy through this process), out of the image into fd at its
 * position, or into the image from fd's start.  Returns 1 when done, 0 when that is not
 * possible here and nothing was copied, -1 on an error (reported). */
static int copy_extents(struct session *s, struct fat_file *file, int fd, uint64_t size,
                        bool into_image, const char *path)
{
    int count = fat_file_extents(file, NULL, 0);
    if (count <= 0)
        return count == 0 && size == 0 ? 1 : 0;
    struct fat_extent *extents = calloc((size_t)count, sizeof(*extents));
    if (!extents || fat_file_extents(file, extents, (size_t)count) != count) {
        free(extents);
        return 0;
    }
    uint64_t block_size = s->image.io->block_size;
    uint64_t base = s->image.io == &s->image.part_io ? s->image.slice.start * block_size : 0;
    uint64_t done = 0;
    int result = 1;
    bool by_sendfile = false;
    for (int i = 0; i < count && done < size && result == 1; i++) {
        uint64_t length = MIN(extents[i].block_count * block_size, size - done);
        loff_t image_at = (loff_t)(base + extents[i].lba * block_size);
        loff_t local_at = (loff_t)done;
        while (length > 0) {
            size_t chunk = (size_t)MIN(length, 1u << 30);
            ssize_t n = into_image
                            ? host_copy(s->image.fd, &image_at, fd, &local_at, chunk, &by_sendfile)
                            : host_copy(fd, NULL, s->image.fd, &image_at, chunk, &by_sendfile);
            if (n <= 0) {
                result = done == 0 && n < 0 ? 0 : (fail(path, n < 0 ? errno : EIO), -1);
                break;
            }
            length -= (uint64_t)n;
            done += (uint64_t)n;
        }
    }
    free(extents);
    return result;
}

/* sendfile puts the image's page-cache pages themselves into a pipe, not copies: a write to
 * the image after rayfs ends would change bytes still in the pipe, and its reader would get
 * data the file never held.  So rayfs keeps its lock on the image until the reader has taken
 * everything (or has gone), polling the pipe's fill every millisecond. */
static void wait_for_pipe_drained(int fd)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int queued = 0;
        if (poll(&p, 1, 0) < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) ||
            ioctl(fd, FIONREAD, &queued) != 0 || queued == 0)
            return;
        nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
    }
}

/* The output gets the file's extents copied by the host kernel (copy_extents): a regular file,
 * a pipe, a terminal.  Not a socket, which may hold on to the pages it was given until they
 * are sent; where the kernel cannot, the caller reads. */
static int copy_out_extents(struct session *s, struct fat_file *file, int fd, const char *path)
{
    struct fat_stat st;
    struct stat out_stat;
    if (fat_file_stat(file, &st) || fstat(fd, &out_stat) != 0 || S_ISSOCK(out_stat.st_mode))
        return 0;
    bool pipe = S_ISFIFO(out_stat.st_mode);
    if (pipe && st.size > PIPE_BUFFER)
        fcntl(fd, F_SETPIPE_SZ, PIPE_BUFFER); /* where allowed; a smaller pipe only costs time */
    int result = copy_extents(s, file, fd, st.size, false, path);
    if (pipe && result == 1)
        wait_for_pipe_drained(fd);
    return result;
}

/* Copies the image's file IMAGE PATH to the local file (standard output when local is NULL):
 * through its extents when possible, else by reads.  Every path fails the same way on a
 * damaged file: the library refuses to open for reading a file whose chain does not cover
 * its size, so nothing is written.  A local file is written under a temporary name and
 * renamed into place only when complete: a failure never leaves a partial file that looks
 * like the whole one (nor destroys one that was there).  Returns the exit status. */
int export_path(struct session *s, const char *path, const char *local)
{
    struct fat_file *file;
    int err = fat_open(s->vol, path, FAT_O_READ, &file);
    if (err)
        return fail(path, err);
    char *temporary = NULL;
    int fd = STDOUT_FILENO;
    struct stat existing;
    if (local && stat(local, &existing) == 0 && !S_ISREG(existing.st_mode) &&
        !S_ISDIR(existing.st_mode)) {
        /* a device or a FIFO (/dev/null, a pipe): written in place */
        fd = open(local, O_WRONLY);
        if (fd < 0) {
            fat_close(file);
            return fail(local, errno);
        }
        local = NULL;
    } else if (local) {
        temporary = malloc(strlen(local) + 16);
        if (temporary) {
            sprintf(temporary, "%s.rayfs-XXXXXX", local);
            fd = mkstemp(temporary);
        }
        if (fd >= 0) {
            mode_t mask = umask(0);
            umask(mask);
            fchmod(fd, 0666 & ~mask);
        }
    }
    int status = 0;
    if (!temporary && local) {
        status = fail(local, ENOMEM);
    } else if (fd < 0) {
        status = fail(local, errno);
    } else {
        int fast = copy_out_extents(s, file, fd, path);
        status = fast == 1 ? 0 : fast < 0 ? 1 : copy_out(file, fd, path);
    }
    if (!local && fd != STDOUT_FILENO && close(fd) != 0 && status == 0)
        status = fail(path, errno);
    if (local && fd >= 0) {
        if (close(fd) != 0 && status == 0)
            status = fail(local, errno);
        if (status == 0 && rename(temporary, local) != 0)
            status = fail(local, errno);
        if (status != 0)
            unlink(temporary);
    }
    free(temporary);
    fat_close(file);
    return status;
}

static int export_file(const char *image, const char *path, const char *local)
{
    struct session s;
    if (session_open(&s, image, false))
        return 1;
    return session_close(&s, export_path(&s, path, local));
}

static int cmd_cat(int argc, char **argv)
{
    return argc != 2 ? fail("cat", EINVAL) : export_file(argv[0], argv[1], NULL);
}

static int cmd_get(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[0], "-r") == 0)
        return get_tree(argv[1], argv[2], argv[3]);
    return argc != 3 ? fail("get", EINVAL) : export_file(argv[0], argv[1], argv[2]);
}

/* The file's clusters are reserved first, then the host kernel copies the local file into
 * their extents (copy_extents), then the size is committed.  Returns 1 when done, 0 when
 * that is not possible (nothing but the reservation happened; the caller writes normally), -1
 * on an error (reported). */
static int copy_in_extents(struct session *s, struct fat_file *file, int fd, uint64_t size,
                           const char *path)
{
    int err = fat_file_reserve(file, size, false);
    if (err)
        return fail(path, err), -1;
    int result = size ? copy_extents(s, file, fd, size, true, path) : 0;
    if (result == 1 && (err = fat_file_commit(file, size)) != 0)
        return fail(path, err), -1;
    return result;
}

/* Copies the local regular file `local` to the image's `path` (into it, when a directory).
 * Everything that can be checked is checked before the image changes: the parent exists, the
 * target is not a directory, and the free space suffices. */
int import_path(struct session *s, const char *local_path, const char *path)
{
    int fd = open(local_path, O_RDONLY);
    struct stat local;
    if (fd < 0 || fstat(fd, &local) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return fail(local_path, err);
    }
    if (!S_ISREG(local.st_mode)) {
        close(fd);
        return fail(local_path, EINVAL);
    }
    static char target[FAT_PATH_MAX + 1];
    snprintf(target, sizeof(target), "%s", path);
    struct fat_stat st = {0}; /* stays zero for a target that does not exist yet */
    int err = fat_stat(s->vol, target, &st);
    if (!err && st.is_directory) {
        const char *base = strrchr(local_path, '/');
        snprintf(target, sizeof(target), "%s/%s", path, base ? base + 1 : local_path);
        st = (struct fat_stat){0};
        err = fat_stat(s->vol, target, &st);
    }
    int status = 0;
    if (!err && st.is_directory)
        status = fail(target, EISDIR);
    if (status == 0 && local.st_size > 0xffffffffll)
        status = fail(local_path, EFBIG);
    struct fat_statfs fs;
    if (status == 0 && (err = fat_statfs(s->vol, &fs)) != 0)
        status = fail(s->spec, err);
    uint64_t need = ((uint64_t)local.st_size + fs.cluster_size - 1) / fs.cluster_size;
    uint64_t have = fs.free_clusters +
                    (st.is_directory ? 0 : (st.size + fs.cluster_size - 1) / fs.cluster_size);
    if (status == 0 && need > have)
        status = fail(target, ENOSPC);
    struct fat_file *file = NULL;
    if (status == 0 &&
        (err = fat_open(s->vol, target, FAT_O_WRITE | FAT_O_CREATE | FAT_O_TRUNC, &file)) != 0)
        status = fail(target, err);
    if (status == 0 && local.st_size > 0) {
        int fast = copy_in_extents(s, file, fd, (uint64_t)local.st_size, target);
        if (fast < 0)
            status = 1;
        else if (fast == 1)
            lseek(fd, 0, SEEK_END); /* done: the loop below reads nothing */
    }
    char *buffer = status == 0 && local.st_size > 0 ? malloc(PUT_CHUNK) : NULL;
    while (status == 0 && buffer) {
        ssize_t n = read(fd, buffer, PUT_CHUNK);
        if (n < 0) {
            status = fail(local_path, errno);
            break;
        }
        if (n == 0)
            break;
        ssize_t w = fat_write(file, buffer, (size_t)n);
        if (w != n)
            status = fail(target, w < 0 ? (int)w : EIO);
    }
    free(buffer);
    close(fd);
    if (file && (err = fat_close(file)) != 0 && status == 0)
        status = fail(target, err);
    return status;
}

static int cmd_put(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[0], "-r") == 0)
        return put_tree(argv[1], argv[2], argv[3]);
    if (argc != 3)
        return fail("put", EINVAL);
    struct stat local; /* a missing or odd local file fails before the image is opened */
    if (stat(argv[1], &local) != 0)
        return fail(argv[1], errno);
    if (!S_ISREG(local.st_mode))
        return fail(argv[1], EINVAL);
    struct session s;
    if (session_open(&s, argv[0], true))
        return 1;
    return session_close(&s, import_path(&s, argv[1], argv[2]));
}

static int simple_change(int argc, char **argv, int expected, const char *name)
{
    if (argc != expected)
        return fail(name, EINVAL);
    struct session s;
    if (session_open(&s, argv[0], true))
        return 1;
    int err;
    const char *what = argv[1];
    if (strcmp(name, "mkdir") == 0) {
        err = fat_mkdir(s.vol, argv[1]);
    } else if (strcmp(name, "mv") == 0) {
        err = fat_rename(s.vol, argv[1], argv[2]);
        if (err == -EEXIST)
            what = argv[2];
    } else {
        struct fat_stat st;
        err = fat_stat(s.vol, argv[1], &st);
        if (!err)
            err = st.is_directory ? fat_rmdir(s.vol, argv[1]) : fat_unlink(s.vol, argv[1]);
    }
    return session_close(&s, err ? fail(what, err) : 0);
}

static void format_time(const struct fat_time *t, char *out, size_t size)
{
    snprintf(out, size, "%04u-%02u-%02u %02u:%02u:%02u", t->year, t->month, t->day, t->hour,
             t->minute, t->second);
}

static int cmd_stat(int argc, char **argv)
{
    if (argc != 2)
        return fail("stat", EINVAL);
    struct session s;
    if (session_open(&s, argv[0], false))
        return 1;
    struct fat_stat st;
    int err = fat_stat(s.vol, argv[1], &st);
    if (err)
        return session_close(&s, fail(argv[1], err));
    char modified[32], created[32];
    format_time(&st.modified, modified, sizeof(modified));
    format_time(&st.created, created, sizeof(created));
    char attributes[8] = "------";
    const char letters[] = "rhsvda";
    for (int i = 0; i < 6; i++)
        if (st.attributes & (1 << i))
            attributes[i] = letters[i];
    printf("path: %s\ntype: %s\nsize: %llu\nattributes: %s\ncluster: %u\nmodified: %s\n"
           "created: %s\n",
           argv[1], st.is_directory ? "directory" : "file", (unsigned long long)st.size, attributes,
           st.first_cluster, modified, created);
    return session_close(&s, 0);
}

static int cmd_df(int argc, char **argv)
{
    if (argc != 1)
        return fail("df", EINVAL);
    struct session s;
    if (session_open(&s, argv[0], false))
        return 1;
    struct fat_statfs fs;
    int err = fat_statfs(s.vol, &fs);
    if (err)
        return session_close(&s, fail(argv[0], err));
    uint64_t total = (uint64_t)fs.cluster_count * fs.cluster_size;
    uint64_t free_bytes = (uint64_t)fs.free_clusters * fs.cluster_size;
    printf("type: FAT%u\nlabel: %s\nvolume id: %04X-%04X\nsector size: %u\ncluster size: %u\n"
           "clusters: %u\nfree clusters: %u\ntotal bytes: %llu\nused bytes: %llu\n"
           "free bytes: %llu\n",
           fs.fat_type, fs.label[0] ? escaped(fs.label) : "(none)", fs.volume_id >> 16,
           fs.volume_id & 0xffff, fs.sector_size, fs.cluster_size, fs.cluster_count,
           fs.free_clusters, (unsigned long long)total, (unsigned long long)(total - free_bytes),
           (unsigned long long)free_bytes);
    return session_close(&s, 0);
}

/* Like fatlabel: prints the root directory's label entry (nothing when there is none), or sets
 * the label in the root directory and the boot sector; "" removes it. */
static int cmd_label(int argc, char **argv)
{
    if (argc != 1 && argc != 2)
        return fail("label", EINVAL);
    struct session s;
    if (session_open(&s, argv[0], argc == 2))
        return 1;
    if (argc == 2) {
        int err = fat_set_label(s.vol, argv[1]);
        return session_close(&s, err ? fail(argv[1], err) : 0);
    }
    struct fat_statfs fs;
    int err = fat_statfs(s.vol, &fs);
    if (err)
        return session_close(&s, fail(argv[0], err));
    printf("%s\n", escaped(fs.label));
    return session_close(&s, 0);
}

static bool parse_number(const char *text, uint32_t *out)
{
    uint64_t value;
    const char *end = parse_u64(text, &value); /* decimal or 0x hex, as the kernel reads them */
    if (!end || *end || value > 0xffffffffu)
        return false;
    *out = (uint32_t)value;
    return true;
}

static int cmd_mkfs(int argc, char **argv)
{
    if (argc < 1)
        return fail("mkfs", EINVAL);
    struct fat_mkfs_options options = {0};
    for (int i = 1; i < argc; i++) {
        uint32_t value = 0;
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--label") == 0 && has_value) {
            options.label = argv[++i];
        } else if (has_value && parse_number(argv[i + 1], &value) &&
                   (strcmp(argv[i], "--fat") == 0 || strcmp(argv[i], "--sector-size") == 0 ||
                    strcmp(argv[i], "--cluster-size") == 0)) {
            if (argv[i][2] == 'f')
                options.fat_type = value;
            else if (argv[i][2] == 's')
                options.sector_size = value;
            else
                options.cluster_size = value;
            i++;
        } else {
            return fail(argv[i], EINVAL);
        }
    }
    if (options.fat_type && options.fat_type != 12 && options.fat_type != 16 &&
        options.fat_type != 32)
        return fail("--fat", EINVAL);
    struct image image;
    if (image_open(&image, argv[0], true))
        return 1;
    options.volume_id = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
    int err = fat_mkfs(image.io, &options);
    image_close(&image);
    return err ? fail(argv[0], err) : 0;
}

static void print_finding(void *context, const char *message)
{
    (void)context;
    printf("%s\n", escaped(message));
}

static int cmd_recover(int argc, char **argv)
{
    if (argc != 1)
        return fail("recover", EINVAL);
    struct session s;
    if (session_open(&s, argv[0], true)) /* the mount settles an interrupted rename */
        return 1;
    struct fat_statfs st;
    int err = fat_statfs(s.vol, &st);
    if (err)
        return session_close(&s, fail(argv[0], err));
    static const char *const outcomes[] = {
        [FAT_MOVE_NONE] = "nothing to recover",
        [FAT_MOVE_COMPLETED] = "completed an interrupted rename",
        [FAT_MOVE_UNDONE] = "undid an interrupted rename",
        [FAT_MOVE_DISCARDED] = "discarded a damaged rename record (the rename had not begun)",
    };
    printf("%s\n", outcomes[st.rename_recovered]);
    return session_close(&s, 0);
}

static int cmd_check(int argc, char **argv)
{
    bool repair = argc == 2 && strcmp(argv[0], "--repair") == 0;
    if (repair) {
        argv++;
        argc--;
    }
    if (argc != 1)
        return fail("check", EINVAL);
    struct image image;
    if (image_open(&image, argv[0], repair))
        return 1;
    if (repair) {
        unsigned fixes;
        int err = fat_repair(image.io, print_finding, NULL, &fixes);
        if (err) {
            image_close(&image);
            return fail(argv[0], err);
        }
        printf("%u repairs\n", fixes);
    }
    struct fat_check_result result;
    int err = fat_check(image.io, print_finding, NULL, &result);
    image_close(&image);
    if (err)
        return fail(argv[0], err);
    printf("%u files, %u directories, %u clusters used, %u free, %u lost; %u errors, "
           "%u warnings\n",
           result.files, result.directories, result.used_clusters, result.free_clusters,
           result.lost_clusters, result.errors, result.warnings);
    return result.errors ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* --sector-size N before the image (before or after the command) is the disk's logical
     * block size; after the image it is mkfs's own option. */
    char **args = argv + 1;
    int count = argc - 1;
    const char *command = NULL;
    while (count > 0) {
        if (strcmp(args[0], "--wait") == 0) {
            uint32_t seconds;
            if (count < 2 || !parse_number(args[1], &seconds) || seconds > 86400) {
                fprintf(stderr, "rayfs: --wait: seconds, 0 to 86400\n");
                return 2;
            }
            image_set_wait(seconds);
            args += 2;
            count -= 2;
        } else if (strcmp(args[0], "--sector-size") == 0) {
            uint32_t size;
            if (count < 2 || !parse_number(args[1], &size) || (size != 512 && size != 4096)) {
                fprintf(stderr, "rayfs: --sector-size: 512 or 4096\n");
                return 2;
            }
            image_set_block_size(size);
            args += 2;
            count -= 2;
        } else if (!command) {
            command = args[0];
            args++;
            count--;
        } else {
            break;
        }
    }
    if (!command) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(command, "ls") == 0)
        return cmd_ls(count, args);
    if (strcmp(command, "cat") == 0)
        return cmd_cat(count, args);
    if (strcmp(command, "put") == 0)
        return cmd_put(count, args);
    if (strcmp(command, "get") == 0)
        return cmd_get(count, args);
    if (strcmp(command, "mkdir") == 0)
        return simple_change(count, args, 2, "mkdir");
    if (strcmp(command, "rm") == 0)
        return simple_change(count, args, 2, "rm");
    if (strcmp(command, "mv") == 0)
        return simple_change(count, args, 3, "mv");
    if (strcmp(command, "stat") == 0)
        return cmd_stat(count, args);
    if (strcmp(command, "df") == 0)
        return cmd_df(count, args);
    if (strcmp(command, "label") == 0)
        return cmd_label(count, args);
    if (strcmp(command, "mkfs") == 0)
        return cmd_mkfs(count, args);
    if (strcmp(command, "check") == 0)
        return cmd_check(count, args);
    if (strcmp(command, "bootdisk") == 0)
        return cmd_bootdisk(count, args);
    if (strcmp(command, "recover") == 0)
        return cmd_recover(count, args);
    fprintf(stderr, "rayfs: unknown command '%s' (see rayfs --help)\n", command);
    return 2;
}
