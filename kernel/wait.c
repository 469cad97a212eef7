/* Wait queues and completions on top of the scheduler's sleep/wake primitives. */
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/timer.h>
#include <rayos/wait.h>

void wait_queue_init(struct wait_queue *wq, const char *name)
{
    *wq = (struct wait_queue)WAIT_QUEUE_INIT(name);
}

void wait_prepare(struct wait_queue *wq, struct wait_entry *entry)
{
    entry->thread = thread_current();
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    entry->next = NULL;
    entry->prev = wq->last;
    if (wq->last)
        wq->last->next = entry;
    else
        wq->first = entry;
    wq->last = entry;
    entry->queued = true;
    thread_prepare_sleep();
    spin_unlock_irqrestore(&wq->lock, flags);
}

void wait_finish(struct wait_queue *wq, struct wait_entry *entry)
{
    thread_finish_sleep();
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    if (entry->queued) {
        if (entry->prev)
            entry->prev->next = entry->next;
        else
            wq->first = entry->next;
        if (entry->next)
            entry->next->prev = entry->prev;
        else
            wq->last = entry->prev;
        entry->queued = false;
    }
    spin_unlock_irqrestore(&wq->lock, flags);
}

void wake_up(struct wait_queue *wq)
{
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    for (struct wait_entry *e = wq->first; e; e = e->next)
        thread_wake(e->thread);
    spin_unlock_irqrestore(&wq->lock, flags);
}

static void wake_sleeper(struct timer *timer)
{
    thread_wake(timer->data);
}

void wait_sleep_until(uint64_t deadline_ns)
{
    if (!deadline_ns) {
        schedule();
        return;
    }
    struct timer timer;
    timer_setup(&timer, wake_sleeper, thread_current());
    timer_start_at(&timer, deadline_ns);
    schedule();
    timer_cancel(&timer);
}

void wait_poll_relax(void)
{
    cpu_relax();
}

void completion_init(struct completion *c, const char *name)
{
    *c = (struct completion)COMPLETION_INIT(name);
}

#define COMPLETE_ALL 0x80000000u

void complete(struct completion *c)
{
    irqflags_t flags = spin_lock_irqsave(&c->wq.lock);
    if (c->done != COMPLETE_ALL)
        c->done++;
    spin_unlock_irqrestore(&c->wq.lock, flags);
    wake_up(&c->wq);
}

void complete_all(struct completion *c)
{
    __atomic_store_n(&c->done, COMPLETE_ALL, __ATOMIC_SEQ_CST);
    wake_up(&c->wq);
}

static bool consume(struct completion *c)
{
    irqflags_t flags = spin_lock_irqsave(&c->wq.lock);
    bool ok = c->done != 0;
    if (ok && c->done != COMPLETE_ALL)
        c->done--;
    spin_unlock_irqrestore(&c->wq.lock, flags);
    return ok;
}

void wait_for_completion(struct completion *c)
{
    wait_event(&c->wq, consume(c));
}

bool wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns)
{
    return wait_event_timeout(&c->wq, consume(c), timeout_ns);
}
