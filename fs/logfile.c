/* The kernel log on disk: new log text is appended to /LOG/KERNEL.LOG every few seconds and at
 * shutdown; past its size cap the file rotates (KERNEL.LOG -> KERNEL.1 -> KERNEL.2 ...).  A full,
 * read-only or failing disk pauses disk logging with one message; the kernel carries on, and
 * disk logging tries again later (5 s, then twice as long each time, at most 5 min), catching
 * up with what the in-memory log still holds, and says when it resumes. */
#define pr_fmt(fmt) "logfile: " fmt
#include <rayos/cmdline.h>
#include <rayos/config.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/lock.h>
#include <rayos/log.h>
#include <rayos/power.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include <rayos/vfs.h>
#include <rayos/work.h>

#define FLUSH_PERIOD_MS 2000
#define CHUNK           4096
#define RETRY_FIRST_NS  (5 * NSEC_PER_SEC)
#define RETRY_MAX_NS    (300 * NSEC_PER_SEC)

static struct {
    bool enabled, paused;
    uint64_t retry_at, retry_ns; /* while paused: when to try again, and the next delay */
    char directory[64];
    char path[96];
    uint64_t max_size;
    unsigned files;
    uint64_t flush_ns, last_flush;
    uint64_t position; /* in the log ring: what has been written already */
} state;

/* "/LOG/KERNEL.LOG" -> "/LOG/KERNEL.<n>" */
static void rotated_name(unsigned n, char *out, size_t size)
{
    const char *dot = strrchr(state.path, '.');
    size_t stem =
        dot && dot > strrchr(state.path, '/') ? (size_t)(dot - state.path) : strlen(state.path);
    snprintf(out, size, "%.*s.%u", (int)stem, state.path, n);
}

static int rotate(void)
{
    char older[112], newer[112];
    rotated_name(state.files, older, sizeof(older));
    vfs_unlink(older);
    for (unsigned n = state.files; n > 1; n--) {
        rotated_name(n - 1, newer, sizeof(newer));
        rotated_name(n, older, sizeof(older));
        int error = vfs_rename(newer, older);
        if (error && error != -ENOENT)
            return error;
    }
    if (state.files == 0)
        return vfs_unlink(state.path);
    rotated_name(1, older, sizeof(older));
    return vfs_rename(state.path, older);
}

static void pause_logging(const char *what, int error)
{
    if (!state.paused) { /* said once; retries that fail again stay quiet */
        state.retry_ns = RETRY_FIRST_NS;
        pr_warn("%s %s failed (%s); logging to disk paused, the in-memory log goes on "
                "(trying again in %llu s)",
                what, state.path, error_name(-error),
                (unsigned long long)(state.retry_ns / NSEC_PER_SEC));
    } else if (state.retry_ns < RETRY_MAX_NS) {
        state.retry_ns = MIN(state.retry_ns * 2, (uint64_t)RETRY_MAX_NS);
    }
    state.paused = true;
    state.retry_at = time_ns() + state.retry_ns;
}

/* The periodic worker, the first flush and the shutdown hook may meet: one at a time. */
static struct mutex flush_lock = MUTEX_INIT("logfile flush");

static void flush_locked(bool last_chance)
{
    if (!state.enabled || state.position == log_end())
        return;
    if (state.paused && !last_chance && time_ns() < state.retry_at)
        return;
    bool was_paused = state.paused;
    struct vfs_stat st;
    int error = vfs_stat(state.path, &st);
    if (error == 0 && st.size >= state.max_size) {
        error = rotate();
        if (error) {
            pause_logging("rotating", error);
            return;
        }
    }
    struct vfs_file *file;
    error = vfs_open(state.path, VFS_O_WRITE | VFS_O_CREATE | VFS_O_APPEND, &file);
    if (error) {
        pause_logging("opening", error);
        return;
    }
    char *buffer = kmalloc(CHUNK);
    uint64_t position = state.position, lost = 0;
    size_t n;
    while (buffer && !error && (n = log_read(&position, buffer, CHUNK, &lost)) > 0) {
        ssize_t written = vfs_write(file, buffer, n);
        if (written < 0)
            error = (int)written;
        else
            state.position = position;
    }
    kfree(buffer);
    if (!error)
        error = vfs_file_sync(file);
    int closed = vfs_close(file);
    if (error || closed) {
        pause_logging("writing", error ? error : closed);
    } else if (was_paused) {
        state.paused = false;
        if (lost)
            pr_warn("writing %s again; %llu bytes of log were overwritten in memory meanwhile",
                    state.path, (unsigned long long)lost);
        else
            pr_info("writing %s again, nothing lost", state.path);
    }
    state.last_flush = time_ns();
}

static void flush(bool last_chance)
{
    mutex_lock(&flush_lock);
    flush_locked(last_chance);
    mutex_unlock(&flush_lock);
}

static void periodic_flush(void)
{
    if (time_ns() - state.last_flush >= state.flush_ns)
        flush(false);
}
PERIODIC_WORK(periodic_flush, FLUSH_PERIOD_MS);

/* The first write (the whole boot log, with a device flush) runs on a worker thread right
 * after init, not on the way to the prompt. */
static void first_flush(struct work *work)
{
    (void)work;
    flush(false);
}
static struct work first_flush_work = WORK_INIT(first_flush);

static void shutdown_flush(void)
{
    flush(true); /* paused or not: the last chance */
    mutex_lock(&flush_lock);
    state.enabled = false; /* the periodic worker must not write while filesystems unmount */
    mutex_unlock(&flush_lock);
}
SHUTDOWN_HOOK(shutdown_flush, 50); /* before filesystems are unmounted (100) */

static int logfile_init(void)
{
    char level[8];
    if (!cmdline_get("loglevel", level, sizeof(level)) && !cmdline_has("quiet"))
        log_set_console_level((int)config_get_integer("log", "level", log_console_level()));
    if (!config_get_bool("log", "file", true)) {
        pr_info("disabled by [log] file in %s", CONFIG_PATH);
        return 0;
    }
    struct vfs_statfs fs;
    if (vfs_statfs("/", &fs) != 0 || strcmp(fs.type, "ramfs") == 0) {
        pr_info("no disk root: the log stays in memory only");
        return 0;
    }
    strlcpy(state.path, "/LOG/KERNEL.LOG", sizeof(state.path));
    state.max_size = (uint64_t)config_get_integer("log", "max_size", 256 * 1024);
    state.files = (unsigned)config_get_integer("log", "files", 3);
    state.flush_ns = (uint64_t)config_get_integer("log", "flush_seconds", 2) * NSEC_PER_SEC;
    if (state.max_size < 4096)
        state.max_size = 4096;
    if (state.files > 9)
        state.files = 9;
    int error = vfs_mkdir("/LOG");
    if (error && error != -EEXIST) {
        pr_warn("cannot create /LOG (%s); the log stays in memory only", error_name(-error));
        return 0;
    }
    state.enabled = true;
    pr_info("appending the kernel log to %s (rotates at %llu KiB, keeps %u old files)", state.path,
            (unsigned long long)(state.max_size / 1024), state.files);
    queue_work(system_wq, &first_flush_work);
    return 0;
}
INITCALL(logfile_init, INIT_LATE);
