/* Host implementations of the kernel services that portable code uses (heap, log, locks, time),
 * so the same sources run in unit tests and host tools (U-Boot's "sandbox" idea). */
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/wait.h>
#include <rayos/work.h>
#include "kernel/lockdep.h"
#include <host_shim.h>
#include <rayos/time.h>
#include <asm/io.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPUs: numbered like the kernel's, the current one chosen by the test. */
struct cpu cpus[CPUS_MAX];
unsigned host_cpu;
unsigned host_online_cpus = 1;

__attribute__((constructor)) static void number_cpus(void)
{
    for (unsigned i = 0; i < CPUS_MAX; i++)
        cpus[i].id = i;
}

unsigned cpu_online_count(void)
{
    return host_online_cpus;
}

bool cpu_is_online(unsigned id)
{
    return id < host_online_cpus;
}

/* No register model unless a test installs one (<asm/io.h>). */
struct host_mmio_model *host_mmio_model;

/* Portable code logs through printk; tests and tools keep it quiet unless asked. */
int host_log_level = LOG_WARNING;
/* Messages logged at any level, shown or not (tests check that something is said once). */
unsigned host_log_messages;

void *kmalloc(size_t size)
{
    return malloc(size ? size : 1);
}
void *kzalloc(size_t size)
{
    return calloc(1, size ? size : 1);
}
void *kcalloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}
void *krealloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}
void kfree(void *ptr)
{
    free(ptr);
}
char *kstrdup(const char *s)
{
    return strdup(s);
}

void vprintk(int level, const char *fmt, va_list args)
{
    host_log_messages++;
    if (level > host_log_level)
        return;
    vfprintf(stderr, fmt, args);
    size_t n = strlen(fmt);
    if (n == 0 || fmt[n - 1] != '\n')
        fputc('\n', stderr);
}

void printk(int level, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vprintk(level, fmt, args);
    va_end(args);
}

void panic(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "panic: ");
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    abort();
}

const char *error_name(int error)
{
    return strerror(error);
}

irqflags_t spin_lock_irqsave(struct spinlock *lock)
{
    if (lock->locked)
        panic("spinlock %s taken twice", lock->name ? lock->name : "?");
    lock->locked = 1;
    return 0;
}
void spin_unlock_irqrestore(struct spinlock *lock, irqflags_t flags)
{
    (void)flags;
    lock->locked = 0;
}
/* One host thread: the kernel's mutex code runs unchanged, owned by "the boot thread" (NULL
 * current thread); contention would be a bug and panics before anything below is reached. */
struct thread *thread_current(void)
{
    return NULL;
}
bool in_interrupt(void)
{
    return false;
}
void lockdep_acquire(const void *lock, const char *class_name, void *where, bool spin)
{
    (void)lock, (void)class_name, (void)where, (void)spin;
}
void lockdep_release(const void *lock, const char *class_name, bool spin)
{
    (void)lock, (void)class_name, (void)spin;
}
void thread_prepare_sleep(void)
{
    panic("host build: no scheduler to sleep in");
}
void thread_finish_sleep(void)
{
    panic("host build: no scheduler to sleep in");
}
void schedule(void)
{
    panic("host build: no scheduler to sleep in");
}
bool thread_wake(struct thread *t)
{
    (void)t;
    panic("host build: no thread to wake");
}
/* No scheduler runs on the host: the wait_event macros and completions (kernel/wait.c) poll
 * their condition, so nothing ever sleeps or needs waking. */
bool scheduler_running(void)
{
    return false;
}
void msleep(uint64_t msec)
{
    struct timespec pause = {(time_t)(msec / 1000), (long)(msec % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}
void wait_sleep_until(uint64_t deadline_ns)
{
    (void)deadline_ns;
    panic("host build: no scheduler to sleep in");
}
/* Timers on the host: the kernel's timing wheel, advanced by host_run_timers() (tests call it;
 * there is no timer interrupt).  Work runs at once: there are no worker threads. */
static struct timer_wheel host_wheel;
static bool host_wheel_ready;
#define HOST_TICK_NS (1000 * 1000ULL)

static void host_wheel_init(void)
{
    if (!host_wheel_ready)
        timer_wheel_init(&host_wheel, time_ns() / HOST_TICK_NS);
    host_wheel_ready = true;
}
void timer_setup(struct timer *t, timer_fn fn, void *data)
{
    *t = (struct timer){.fn = fn, .data = data};
}
void timer_start_at(struct timer *t, uint64_t deadline_ns)
{
    host_wheel_init();
    timer_wheel_add(&host_wheel, t, (deadline_ns + HOST_TICK_NS - 1) / HOST_TICK_NS);
}
void timer_start_in(struct timer *t, uint64_t delay_ns)
{
    timer_start_at(t, time_ns() + delay_ns);
}
bool timer_pending(const struct timer *t)
{
    return t->pending;
}
bool timer_cancel(struct timer *t)
{
    bool was = t->pending;
    host_wheel_init();
    timer_wheel_remove(&host_wheel, t);
    return was;
}
unsigned host_run_timers(void)
{
    host_wheel_init();
    struct timer *due = NULL;
    timer_wheel_advance(&host_wheel, time_ns() / HOST_TICK_NS, &due);
    unsigned n = 0;
    while (due) {
        struct timer *t = due;
        due = t->next;
        t->next = NULL;
        t->fn(t);
        n++;
    }
    return n;
}
struct workqueue *system_wq = (struct workqueue *)&host_wheel; /* any non-NULL handle */
void work_init(struct work *w, work_fn fn)
{
    *w = (struct work)WORK_INIT(fn);
}
bool queue_work(struct workqueue *wq, struct work *w)
{
    (void)wq;
    w->fn(w);
    return true;
}

uint64_t time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}
void udelay(uint64_t usec)
{
    (void)usec;
}
void mdelay(uint64_t msec)
{
    (void)msec;
}
int64_t time_unix(void)
{
    return (int64_t)time(NULL);
}

__attribute__((weak)) uint32_t host_port_read(uint16_t port, int width)
{
    (void)port;
    return width == 1 ? 0xff : width == 2 ? 0xffff : 0xffffffffu;
}
__attribute__((weak)) void host_port_write(uint16_t port, int width, uint32_t value)
{
    (void)port;
    (void)width;
    (void)value;
}
