/* `stress fs`: file-system torture on every CPU, for the concurrency tests.  Each thread works in
 * a directory of its own under DIR: create a file of a random size and pattern, write it, read
 * it back and compare, rename it, stat it, and delete most of them — until the time is up.  Any
 * mismatch or unexpected error is reported with the path; the command's status says whether
 * the run was clean.  Leaves DIR empty and removed on success. */
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/shell.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/vfs.h>

#define STRESS_THREADS_MAX 16
#define STRESS_FILE_MAX    (48 * 1024)
#define STRESS_KEEP        8 /* files a thread keeps around at once */

struct stress {
    const char *dir;
    uint64_t deadline;
    volatile int errors;
    volatile uint64_t operations;
};

struct stress_thread {
    struct stress *run;
    unsigned index;
    uint64_t random;
};

static uint64_t next_random(struct stress_thread *t)
{
    t->random ^= t->random << 13;
    t->random ^= t->random >> 7;
    t->random ^= t->random << 17;
    return t->random;
}

static void fill(uint8_t *buffer, size_t length, uint32_t seed)
{
    for (size_t i = 0; i < length; i++)
        buffer[i] = (uint8_t)(seed + i * 131 + (i >> 9));
}

static bool fail(struct stress_thread *t, const char *what, const char *path, int error)
{
    shell_printf("stress: thread %u: %s %s: %s\n", t->index, what, path, error_name(-error));
    __atomic_add_fetch(&t->run->errors, 1, __ATOMIC_RELAXED);
    return false;
}

static bool write_file(struct stress_thread *t, const char *path, const uint8_t *data, size_t n)
{
    struct vfs_file *file;
    int error = vfs_open(path, VFS_O_WRITE | VFS_O_CREATE | VFS_O_EXCL, &file);
    if (error)
        return fail(t, "create", path, error);
    ssize_t written = vfs_write(file, data, n);
    int closed = vfs_close(file);
    if (written != (ssize_t)n)
        return fail(t, "write", path, written < 0 ? (int)written : -EIO);
    return closed ? fail(t, "close", path, closed) : true;
}

static bool check_file(struct stress_thread *t, const char *path, const uint8_t *expect, size_t n,
                       uint8_t *scratch)
{
    struct vfs_file *file;
    int error = vfs_open(path, VFS_O_READ, &file);
    if (error)
        return fail(t, "open", path, error);
    ssize_t got = vfs_read(file, scratch, n + 1);
    vfs_close(file);
    if (got != (ssize_t)n || memcmp(scratch, expect, n) != 0)
        return fail(t, "read back", path, got < 0 ? (int)got : -EUCLEAN);
    return true;
}

static int stress_thread(void *arg)
{
    struct stress_thread *t = arg;
    uint8_t *data = kmalloc(STRESS_FILE_MAX), *scratch = kmalloc(STRESS_FILE_MAX + 1);
    char dir[VFS_PATH_MAX], path[VFS_PATH_MAX], renamed[VFS_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/T%u", t->run->dir, t->index);
    int error = data && scratch ? vfs_mkdir(dir) : -ENOMEM;
    if (error)
        fail(t, "mkdir", dir, error);
    unsigned serial = 0;
    while (!error && time_ns() < t->run->deadline && !t->run->errors && !thread_should_stop()) {
        size_t n = next_random(t) % STRESS_FILE_MAX;
        uint32_t seed = (uint32_t)next_random(t);
        unsigned id = serial++;
        snprintf(path, sizeof(path), "%s/new file %u.dat", dir, id);
        snprintf(renamed, sizeof(renamed), "%s/kept %u.bin", dir, id);
        fill(data, n, seed);
        if (!write_file(t, path, data, n) || !check_file(t, path, data, n, scratch))
            break;
        if ((error = vfs_rename(path, renamed)) != 0) {
            fail(t, "rename", path, error);
            break;
        }
        struct vfs_stat st;
        if ((error = vfs_stat(renamed, &st)) != 0 || st.size != n) {
            fail(t, "stat", renamed, error ? error : -EUCLEAN);
            break;
        }
        if (!check_file(t, renamed, data, n, scratch))
            break;
        if (id >= STRESS_KEEP) { /* delete an older one, keeping a few around */
            snprintf(path, sizeof(path), "%s/kept %u.bin", dir, id - STRESS_KEEP);
            if ((error = vfs_unlink(path)) != 0) {
                fail(t, "unlink", path, error);
                break;
            }
        }
        __atomic_add_fetch(&t->run->operations, 1, __ATOMIC_RELAXED);
    }
    /* Clean up what is left. */
    for (unsigned id = serial > STRESS_KEEP ? serial - STRESS_KEEP : 0; id < serial; id++) {
        snprintf(path, sizeof(path), "%s/kept %u.bin", dir, id);
        vfs_unlink(path);
    }
    if (!t->run->errors)
        vfs_rmdir(dir);
    kfree(data);
    kfree(scratch);
    return 0;
}

static int stress_fs(const char *dir, uint64_t seconds, unsigned threads)
{
    struct stress run = {.dir = dir, .deadline = time_ns() + seconds * NSEC_PER_SEC};
    struct stress_thread workers[STRESS_THREADS_MAX];
    struct thread *handles[STRESS_THREADS_MAX];
    int error = vfs_mkdir(dir);
    if (error) {
        shell_printf("stress: %s: %s\n", dir, error_name(-error));
        return error;
    }
    unsigned started = 0;
    for (unsigned i = 0; i < threads; i++) {
        workers[i] = (struct stress_thread){&run, i, 0x9e3779b97f4a7c15ULL * (i + 1) ^ time_ns()};
        handles[i] = thread_create("stress fs", stress_thread, &workers[i], 0);
        started += handles[i] != NULL;
        if (!handles[i])
            break;
    }
    uint64_t start = time_ns();
    for (unsigned i = 0; i < started; i++) {
        /* Pass Ctrl-C on to the workers. */
        while (handles[i]->state != THREAD_DEAD) {
            if (thread_should_stop())
                for (unsigned k = 0; k < started; k++)
                    handles[k]->interrupt_requested = true;
            msleep(50);
        }
        thread_join(handles[i]);
    }
    uint64_t ms = (time_ns() - start) / NSEC_PER_MSEC;
    if (!run.errors)
        vfs_rmdir(dir);
    shell_printf("stress: %u threads on %u CPUs, %llu file rounds in %llu ms, %d errors\n", started,
                 cpu_online_count(), (unsigned long long)run.operations, (unsigned long long)ms,
                 run.errors);
    return run.errors || started < threads ? -EIO : 0;
}

static int cmd_stress(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "fs") != 0) {
        shell_printf("usage: stress fs DIR [SECONDS] [THREADS]\n");
        return -EINVAL;
    }
    uint64_t seconds = argc > 3 ? strtoul(argv[3], NULL, 10) : 10;
    unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 2 * cpu_online_count();
    if (seconds == 0 || seconds > 3600 || threads == 0 || threads > STRESS_THREADS_MAX) {
        shell_printf("stress: 1-3600 seconds and 1-%d threads\n", STRESS_THREADS_MAX);
        return -EINVAL;
    }
    return stress_fs(argv[2], seconds, threads);
}
SHELL_COMMAND("stress", "fs DIR [SECONDS] [THREADS]  file-system torture on every CPU", cmd_stress);
