/* Self-tests of threads, scheduling, sleeping waits, timers, work queues, cross-CPU calls and the
 * lock-order checker, run by `selftest` on however many CPUs the machine has. */
#include <rayos/lock.h>
#include <rayos/selftest.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include <rayos/wait.h>
#include <rayos/work.h>
#include "lockdep.h"

#define WORKERS 8
#define ROUNDS  2000

struct counter_test {
    struct mutex lock;
    volatile uint64_t value;
    uint64_t cpus_seen; /* bit per CPU any worker ran on */
};

static int count_up(void *arg)
{
    struct counter_test *t = arg;
    for (unsigned i = 0; i < ROUNDS; i++) {
        mutex_lock(&t->lock);
        uint64_t v = t->value;
        if (i % 64 == 0)
            thread_yield(); /* hold the mutex across a switch: others must sleep on it */
        t->value = v + 1;
        __atomic_or_fetch(&t->cpus_seen, 1ULL << cpu_id(), __ATOMIC_RELAXED);
        mutex_unlock(&t->lock);
    }
    return 7;
}

SELFTEST(threads_share_a_mutex)
{
    static struct counter_test t = {MUTEX_INIT("selftest counter"), 0, 0};
    struct thread *workers[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++) {
        workers[i] = thread_create("selftest counter", count_up, &t, 0);
        ST_ASSERT(workers[i] != NULL);
    }
    for (unsigned i = 0; i < WORKERS; i++)
        ST_ASSERT_EQ(thread_join(workers[i]), 7);
    ST_ASSERT_EQ(t.value, (uint64_t)WORKERS * ROUNDS);
    if (cpu_online_count() > 1) /* preemption and balancing spread them */
        ST_ASSERT((t.cpus_seen & (t.cpus_seen - 1)) != 0); /* more than one bit */
}

struct completion_test {
    struct completion done;
    uint64_t woke_at;
};

static int await_completion(void *arg)
{
    struct completion_test *t = arg;
    wait_for_completion(&t->done);
    t->woke_at = time_ns();
    return 0;
}

SELFTEST(completion_and_msleep)
{
    static struct completion_test t;
    completion_init(&t.done, "selftest completion");
    t.woke_at = 0;
    struct thread *waiter = thread_create("selftest waiter", await_completion, &t, 0);
    ST_ASSERT(waiter != NULL);
    uint64_t start = time_ns();
    msleep(20);
    uint64_t slept = time_ns() - start;
    ST_ASSERT(t.woke_at == 0); /* still waiting */
    complete(&t.done);
    thread_join(waiter);
    ST_ASSERT(slept >= 20 * NSEC_PER_MSEC);
    ST_ASSERT(t.woke_at >= start + 20 * NSEC_PER_MSEC);
}

SELFTEST(wait_event_timeout_expires)
{
    static struct wait_queue wq = WAIT_QUEUE_INIT("selftest wait");
    uint64_t start = time_ns();
    bool ok = wait_event_timeout(&wq, false, 15 * NSEC_PER_MSEC);
    uint64_t waited = time_ns() - start;
    ST_ASSERT(!ok);
    ST_ASSERT(waited >= 15 * NSEC_PER_MSEC);
    ST_ASSERT(waited < 2 * NSEC_PER_SEC);
}

struct timer_test {
    struct timer timer;
    volatile uint64_t fired_at;
    volatile bool in_irq;
};

static void timer_fired(struct timer *timer)
{
    struct timer_test *t = timer->data;
    t->in_irq = in_interrupt();
    t->fired_at = time_ns();
}

SELFTEST(timer_fires_on_time_in_interrupt_context)
{
    static struct timer_test t;
    static struct timer_test cancelled;
    timer_setup(&t.timer, timer_fired, &t);
    timer_setup(&cancelled.timer, timer_fired, &cancelled);
    t.fired_at = cancelled.fired_at = 0;
    uint64_t deadline = time_ns() + 10 * NSEC_PER_MSEC;
    timer_start_at(&t.timer, deadline);
    timer_start_at(&cancelled.timer, deadline);
    ST_ASSERT(timer_cancel(&cancelled.timer));
    msleep(40);
    ST_ASSERT(t.fired_at >= deadline);
    ST_ASSERT(t.in_irq);
    ST_ASSERT_EQ(cancelled.fired_at, 0);
    ST_ASSERT(!timer_cancel(&t.timer)); /* already fired */
}

struct work_test {
    struct work work;
    struct delayed_work later;
    volatile unsigned runs;
    volatile uint64_t later_at;
    struct thread *ran_on;
};

static void work_ran(struct work *w)
{
    struct work_test *t = container_of(w, struct work_test, work);
    t->ran_on = thread_current();
    msleep(1); /* work may sleep */
    t->runs++;
}

static void later_ran(struct work *w)
{
    struct work_test *t = container_of(w, struct work_test, later.work);
    t->later_at = time_ns();
}

SELFTEST(work_queue_runs_items_in_a_worker)
{
    static struct work_test t;
    work_init(&t.work, work_ran);
    delayed_work_init(&t.later, later_ran);
    t.runs = 0;
    t.later_at = 0;
    uint64_t start = time_ns();
    ST_ASSERT(queue_delayed_work(system_wq, &t.later, 20 * NSEC_PER_MSEC));
    ST_ASSERT(queue_work(system_wq, &t.work));
    flush_workqueue(system_wq);
    ST_ASSERT_EQ(t.runs, 1);
    ST_ASSERT(t.ran_on != thread_current());
    msleep(60);
    ST_ASSERT(t.later_at >= start + 20 * NSEC_PER_MSEC);
}

static int report_cpu(void *arg)
{
    return (int)cpu_id() + 100 * (arg != NULL);
}

SELFTEST(affinity_pins_a_thread)
{
    for (unsigned i = 0; i < CPUS_MAX; i++) {
        if (!cpu_is_online(i))
            continue;
        struct thread *t = thread_create("selftest pinned", report_cpu, NULL, 1ULL << i);
        ST_ASSERT(t != NULL);
        ST_ASSERT_EQ(thread_join(t), (int)i);
    }
}

static void note_cpu(void *arg)
{
    *(volatile unsigned *)arg = cpu_id() + 1;
}

SELFTEST(call_function_on_each_cpu)
{
    for (unsigned i = 0; i < CPUS_MAX; i++) {
        if (!cpu_is_online(i))
            continue;
        volatile unsigned where = 0;
        ST_ASSERT_EQ(smp_call_on(i, note_cpu, (void *)&where, true), 0);
        ST_ASSERT_EQ(where, i + 1);
    }
}

SELFTEST(lock_order_inversion_reported_once)
{
    static struct mutex a = MUTEX_INIT("selftest order A");
    static struct mutex b = MUTEX_INIT("selftest order B");
    unsigned before = lockdep_reports();
    mutex_lock(&a);
    mutex_lock(&b);
    mutex_unlock(&b);
    mutex_unlock(&a);
    ST_ASSERT_EQ(lockdep_reports(), before);
    for (int round = 0; round < 2; round++) {
        mutex_lock(&b);
        mutex_lock(&a); /* the other order: a deadlock waiting to happen */
        mutex_unlock(&a);
        mutex_unlock(&b);
    }
    ST_ASSERT_EQ(lockdep_reports(), before + 1);
}
