/* Wait queues and completions on top of the scheduler's sleep/wake primitives.  Portable: host
 * builds link it against the shim, where no scheduler runs and the wait macros poll. */
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
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

static void wake_all_locked(struct wait_queue *wq)
{
    for (struct wait_entry *e = wq->first; e; e = e->next)
        thread_wake(e->thread);
}

void wake_up(struct wait_queue *wq)
{
    irqflags_t flags = spin_lock_irqsave(&wq->lock);
    wake_all_locked(wq);
    spin_unlock_irqrestore(&wq->lock, flags);
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

/* The count changes and the waiters are woken under one hold of the lock, which every waiter
 * takes to consume the count: once a waiter has seen it, the signalling side is done with the
 * completion, so a completion on the waiter's stack may go away as soon as the wait returns. */
void complete(struct completion *c)
{
    irqflags_t flags = spin_lock_irqsave(&c->wq.lock);
    if (c->done != COMPLETE_ALL)
        c->done++;
    wake_all_locked(&c->wq);
    spin_unlock_irqrestore(&c->wq.lock, flags);
}

void complete_all(struct completion *c)
{
    irqflags_t flags = spin_lock_irqsave(&c->wq.lock);
    c->done = COMPLETE_ALL;
    wake_all_locked(&c->wq);
    spin_unlock_irqrestore(&c->wq.lock, flags);
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
