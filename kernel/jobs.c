/* Shell jobs: `COMMAND &` runs a command line in a thread of its own.  Its output lines carry
 * the prefix "[N] " (assembled per line, so jobs never interleave inside a line); `jobs` lists
 * them, `wait [N]` collects their exit statuses, `kill N` asks one to stop the way Ctrl-C asks
 * the foreground command. */
#include <rayos/console.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/shell.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/wait.h>
#include "shell_internal.h"

#define JOBS_MAX        16
#define JOB_COMMAND_MAX 128
#define JOB_LINE_MAX    256

struct job {
    int number; /* 0: slot free */
    char command[JOB_COMMAND_MAX];
    char *line; /* the line the thread executes (tokenized in place) */
    struct thread *thread;
    struct completion go; /* "[N] started" is out: the job may print */
    volatile bool done;
    int status;
    char pending[JOB_LINE_MAX]; /* output not yet ended by a newline */
    size_t pending_length;
};

static struct job jobs[JOBS_MAX];
static struct mutex jobs_lock = MUTEX_INIT("shell jobs");
static struct wait_queue job_done = WAIT_QUEUE_INIT("shell job done");

static struct job *job_of_current(void)
{
    struct thread *t = thread_current();
    if (!t || !t->job)
        return NULL;
    for (unsigned i = 0; i < JOBS_MAX; i++)
        if (jobs[i].number == t->job)
            return &jobs[i];
    return NULL;
}

static void emit_line(struct job *j, const char *text, size_t length)
{
    char line[JOB_LINE_MAX + 16];
    int prefix = snprintf(line, sizeof(line), "[%d] ", j->number);
    size_t n = MIN(length, sizeof(line) - (size_t)prefix);
    memcpy(line + prefix, text, n);
    console_write(line, (size_t)prefix + n);
}

static void flush_pending(struct job *j, bool newline)
{
    if (!j->pending_length && !newline)
        return;
    if (newline && j->pending_length < JOB_LINE_MAX)
        j->pending[j->pending_length++] = '\n';
    emit_line(j, j->pending, j->pending_length);
    j->pending_length = 0;
}

bool job_write(const char *text, size_t length)
{
    struct job *j = job_of_current();
    if (!j)
        return false;
    for (size_t i = 0; i < length; i++) {
        if (j->pending_length == JOB_LINE_MAX - 1) /* a very long line: cut it into pieces */
            flush_pending(j, true);
        j->pending[j->pending_length++] = text[i];
        if (text[i] == '\n')
            flush_pending(j, false);
    }
    return true;
}

static int job_thread(void *arg)
{
    struct job *j = arg;
    thread_current()->job = j->number;
    wait_for_completion(&j->go);
    int status = shell_execute(j->line);
    flush_pending(j, j->pending_length != 0);
    j->status = status;
    __atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
    wake_up(&job_done);
    return status;
}

int job_start(const char *line)
{
    mutex_lock(&jobs_lock);
    struct job *j = NULL;
    int number = 1;
    /* The smallest number not in use, as shells do. */
    for (bool taken = true; taken; number++) {
        taken = false;
        for (unsigned i = 0; i < JOBS_MAX; i++)
            taken |= jobs[i].number == number;
        if (!taken)
            break;
    }
    for (unsigned i = 0; i < JOBS_MAX && !j; i++)
        if (!jobs[i].number)
            j = &jobs[i];
    if (!j) {
        mutex_unlock(&jobs_lock);
        shell_printf("too many jobs (at most %d); 'wait' for some first\n", JOBS_MAX);
        return -EAGAIN;
    }
    *j = (struct job){.number = number};
    completion_init(&j->go, "shell job start");
    strlcpy(j->command, line, sizeof(j->command));
    j->line = kstrdup(line);
    char name[THREAD_NAME_MAX];
    snprintf(name, sizeof(name), "job %d", number);
    j->thread = j->line ? thread_create(name, job_thread, j, 0) : NULL;
    if (!j->thread) {
        kfree(j->line);
        j->number = 0;
        mutex_unlock(&jobs_lock);
        shell_printf("cannot start a job: out of memory\n");
        return -ENOMEM;
    }
    mutex_unlock(&jobs_lock);
    shell_printf("[%d] started\n", number);
    complete(&j->go);
    return 0;
}

static void describe_status(int status, char *out, size_t size)
{
    if (status < 0 && status != -1)
        snprintf(out, size, "exit status %d (%s)", status, error_name(-status));
    else
        snprintf(out, size, "exit status %d", status);
}

/* Joins a finished job, prints its status and frees its slot (jobs_lock held). */
static void reap(struct job *j)
{
    thread_join(j->thread);
    char status[64];
    describe_status(j->status, status, sizeof(status));
    shell_printf("[%d] done, %s: %s\n", j->number, status, j->command);
    kfree(j->line);
    j->number = 0;
}

static int cmd_jobs(int argc, char **argv)
{
    mutex_lock(&jobs_lock);
    for (unsigned i = 0; i < JOBS_MAX; i++) {
        struct job *j = &jobs[i];
        if (!j->number)
            continue;
        if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
            reap(j);
        else
            shell_printf("[%d] running on CPU %u: %s\n", j->number, j->thread->cpu, j->command);
    }
    mutex_unlock(&jobs_lock);
    return 0;
}
SHELL_COMMAND("jobs", "list background jobs (COMMAND & starts one)", cmd_jobs);

static struct job *find_job(const char *arg)
{
    char *end;
    long n = strtol(arg[0] == '%' ? arg + 1 : arg, &end, 10);
    if (*end || n <= 0)
        return NULL;
    for (unsigned i = 0; i < JOBS_MAX; i++)
        if (jobs[i].number == n)
            return &jobs[i];
    return NULL;
}

static bool all_done(int only)
{
    for (unsigned i = 0; i < JOBS_MAX; i++)
        if (jobs[i].number && (!only || jobs[i].number == only) &&
            !__atomic_load_n(&jobs[i].done, __ATOMIC_ACQUIRE))
            return false;
    return true;
}

static int cmd_wait(int argc, char **argv)
{
    if (argc > 2) {
        shell_printf("usage: wait [N]\n");
        return -EINVAL;
    }
    mutex_lock(&jobs_lock);
    int only = 0;
    if (argc == 2) {
        struct job *j = find_job(argv[1]);
        if (!j) {
            mutex_unlock(&jobs_lock);
            shell_printf("wait: %s: no such job\n", argv[1]);
            return -ENOENT;
        }
        only = j->number;
    }
    /* Sleep with the table unlocked (jobs finishing do not need it); Ctrl-C stops waiting. */
    mutex_unlock(&jobs_lock);
    while (!wait_event_timeout(&job_done, all_done(only), 100 * NSEC_PER_MSEC)) {
        if (thread_should_stop()) {
            shell_printf("wait: interrupted\n");
            return -EINTR;
        }
    }
    mutex_lock(&jobs_lock);
    int status = 0;
    for (unsigned i = 0; i < JOBS_MAX; i++) {
        struct job *j = &jobs[i];
        if (j->number && (!only || j->number == only) && j->done) {
            if (only)
                status = j->status;
            reap(j);
        }
    }
    mutex_unlock(&jobs_lock);
    return status;
}
SHELL_COMMAND("wait", "[N]  wait for background job N (or all) and print exit statuses", cmd_wait);

static int cmd_kill(int argc, char **argv)
{
    if (argc != 2) {
        shell_printf("usage: kill N\n");
        return -EINVAL;
    }
    mutex_lock(&jobs_lock);
    struct job *j = find_job(argv[1]);
    if (j && !j->done)
        j->thread->interrupt_requested = true;
    mutex_unlock(&jobs_lock);
    if (!j) {
        shell_printf("kill: %s: no such job\n", argv[1]);
        return -ENOENT;
    }
    return 0;
}
SHELL_COMMAND("kill", "N  ask background job N to stop (as Ctrl-C does in the foreground)",
              cmd_kill);
