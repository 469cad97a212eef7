/* Deferred work: work items run by a work queue's worker threads, where they may sleep, take
 * mutexes and do I/O.  Interrupt handlers and timer callbacks hand slow work over this way.
 *
 *     static struct work w = WORK_INIT(fn);   queue_work(system_wq, &w);
 *     queue_delayed_work(system_wq, &dw, 50 * NSEC_PER_MSEC);
 *
 * A queued item is queued once however often it is queued again before it runs.
 * PERIODIC_WORK(fn, period_ms) runs fn every period_ms on the system work queue. */
#ifndef RAYOS_WORK_H
#define RAYOS_WORK_H

#include <rayos/list.h>
#include <rayos/timer.h>
#include <rayos/types.h>

struct work;
typedef void (*work_fn)(struct work *work);

struct work {
    struct list_node node;
    work_fn fn;
    volatile bool queued;
    uint64_t sequence; /* when it was last queued (its queue's count), for flushers */
};
#define WORK_INIT(f)                                                                               \
    {                                                                                              \
        {NULL, NULL}, f, false, 0                                                                  \
    }

struct delayed_work {
    struct work work;
    struct timer timer;
    struct workqueue *wq;
};

struct workqueue;
extern struct workqueue *system_wq;

/* A queue served by `threads` worker threads named "NAME/N". */
struct workqueue *workqueue_create(const char *name, unsigned threads);
void work_init(struct work *w, work_fn fn);
void delayed_work_init(struct delayed_work *dw, work_fn fn);
bool queue_work(struct workqueue *wq, struct work *w); /* false: it was already queued */
bool queue_delayed_work(struct workqueue *wq, struct delayed_work *dw, uint64_t delay_ns);
/* Stops a pending delayed item (timer or queue); a running one finishes first. */
bool cancel_delayed_work(struct delayed_work *dw);
/* Waits until every item queued before the call has run. */
void flush_workqueue(struct workqueue *wq);

struct periodic_work {
    const char *name;
    void (*run)(void);
    uint64_t period_ns;
    struct delayed_work dw;
};

#define PERIODIC_WORK(fn, period_ms)                                                               \
    static struct periodic_work __periodic_work_##fn                                               \
        __attribute__((used, section(".periodic_work"), aligned(8))) = {                           \
            .name = #fn, .run = fn, .period_ns = (period_ms)*1000000ULL}

#endif
