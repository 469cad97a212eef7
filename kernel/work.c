/* Work queues: a list of pending items and worker threads that sleep until there is one.  The
 * system queue also carries the PERIODIC_WORK items, each re-armed by a timer after it runs. */
#define pr_fmt(fmt) "work: " fmt
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/wait.h>
#include <rayos/work.h>

#define WORKERS_MAX 8

struct workqueue;
struct worker_slot {
    struct workqueue *wq;
    uint64_t running; /* sequence of the item this worker runs, 0 when idle */
};

struct workqueue {
    const char *name;
    struct spinlock lock;
    struct list_node pending;
    struct wait_queue more;    /* workers sleep here */
    struct wait_queue drained; /* flushers sleep here */
    uint64_t queued_total, done_total;
    unsigned threads;
    struct worker_slot workers[WORKERS_MAX];
};

struct workqueue *system_wq;

extern struct periodic_work _periodic_work_start[], _periodic_work_end[];

void work_init(struct work *w, work_fn fn)
{
    *w = (struct work)WORK_INIT(fn);
    list_init(&w->node);
}

static void delayed_fire(struct timer *timer)
{
    struct delayed_work *dw = timer->data;
    queue_work(dw->wq, &dw->work);
}

void delayed_work_init(struct delayed_work *dw, work_fn fn)
{
    work_init(&dw->work, fn);
    timer_setup(&dw->timer, delayed_fire, dw);
}

bool queue_work(struct workqueue *wq, struct work *w)
{
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    bool fresh = !w->queued;
    if (fresh) {
        w->queued = true;
        w->sequence = ++wq->queued_total;
        list_add_tail(&wq->pending, &w->node);
    }
    spin_unlock_irqrestore(&wq->lock, flags);
    if (fresh)
        wake_up(&wq->more);
    return fresh;
}

bool queue_delayed_work(struct workqueue *wq, struct delayed_work *dw, uint64_t delay_ns)
{
    dw->wq = wq;
    if (dw->work.queued || timer_pending(&dw->timer))
        return false;
    if (!delay_ns)
        return queue_work(wq, &dw->work);
    timer_start_in(&dw->timer, delay_ns);
    return true;
}

bool cancel_delayed_work(struct delayed_work *dw)
{
    bool cancelled = timer_cancel(&dw->timer);
    struct workqueue *wq = dw->wq;
    if (!wq)
        return cancelled;
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    if (dw->work.queued) {
        list_remove(&dw->work.node);
        dw->work.queued = false;
        wq->done_total++; /* it counts as done */
        cancelled = true;
    }
    spin_unlock_irqrestore(&wq->lock, flags);
    if (cancelled)
        wake_up(&wq->drained); /* a flusher may have been waiting for it */
    return cancelled;
}

/* The next item, now counted as running on this worker (its sequence: the item itself may be
 * freed or queued again by its function). */
static struct work *take(struct worker_slot *slot)
{
    struct workqueue *wq = slot->wq;
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    struct work *w = list_first(&wq->pending, struct work, node);
    if (w) {
        list_remove(&w->node);
        w->queued = false;
        slot->running = w->sequence;
    }
    spin_unlock_irqrestore(&wq->lock, flags);
    return w;
}

static int worker(void *arg)
{
    struct worker_slot *slot = arg;
    struct workqueue *wq = slot->wq;
    for (;;) {
        wait_event(&wq->more, !list_empty(&wq->pending));
        struct work *w = take(slot);
        if (!w)
            continue;
        w->fn(w);
        irqflags_t flags = spin_lock_irqsave(&wq->lock);
        slot->running = 0;
        wq->done_total++;
        spin_unlock_irqrestore(&wq->lock, flags);
        wake_up(&wq->drained);
    }
    return 0;
}

/* Whether everything queued up to sequence target has finished: none of it still pending, no
 * worker still running it.  Items finish out of order with several workers, so a count of
 * completions cannot tell. */
static bool flushed(struct workqueue *wq, uint64_t target)
{
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    bool done = true;
    struct list_node *pos;
    list_for_each(pos, &wq->pending)
    {
        if (list_entry(pos, struct work, node)->sequence <= target)
            done = false;
    }
    for (unsigned i = 0; i < wq->threads; i++)
        if (wq->workers[i].running && wq->workers[i].running <= target)
            done = false;
    spin_unlock_irqrestore(&wq->lock, flags);
    return done;
}

void flush_workqueue(struct workqueue *wq)
{
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    uint64_t target = wq->queued_total;
    spin_unlock_irqrestore(&wq->lock, flags);
    wait_event(&wq->drained, flushed(wq, target));
}

struct workqueue *workqueue_create(const char *name, unsigned threads)
{
    struct workqueue *wq = kzalloc(sizeof(*wq));
    if (!wq)
        return NULL;
    wq->name = name;
    wq->lock = (struct spinlock)SPINLOCK_INIT("workqueue");
    list_init(&wq->pending);
    wait_queue_init(&wq->more, "workqueue more");
    wait_queue_init(&wq->drained, "workqueue drained");
    for (unsigned i = 0; i < MIN(threads, WORKERS_MAX); i++) {
        char thread_name[THREAD_NAME_MAX];
        snprintf(thread_name, sizeof(thread_name), "%s/%u", name, i);
        wq->workers[i].wq = wq;
        struct thread *t = thread_create(thread_name, worker, &wq->workers[i], 0);
        if (!t)
            break;
        thread_detach(t);
        wq->threads++;
    }
    if (!wq->threads) {
        kfree(wq);
        return NULL;
    }
    return wq;
}

static void periodic_run(struct work *w)
{
    struct delayed_work *dw = container_of(w, struct delayed_work, work);
    struct periodic_work *p = container_of(dw, struct periodic_work, dw);
    p->run();
    queue_delayed_work(system_wq, dw, p->period_ns);
}

static int work_init_system(void)
{
    system_wq = workqueue_create("events", 2);
    if (!system_wq)
        panic("no memory for the system work queue");
    for (struct periodic_work *p = _periodic_work_start; p < _periodic_work_end; p++) {
        delayed_work_init(&p->dw, periodic_run);
        queue_delayed_work(system_wq, &p->dw, p->period_ns);
    }
    return 0;
}
INITCALL(work_init_system, INIT_CORE);
