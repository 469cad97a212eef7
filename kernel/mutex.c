/* Sleeping mutexes (see <rayos/lock.h>).  Portable: host builds link it against the shim,
 * where there is one thread and contention is a bug. */
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/thread.h>
#include "lockdep.h"

/* Mutexes.  Unlock hands ownership straight to the first waiter, so a waiter never races a
 * newcomer and wakes up owning the lock. */
struct mutex_waiter {
    struct thread *thread;
    struct mutex_waiter *next;
};

/* Before the scheduler starts there is one flow of control; it owns mutexes under this name. */
static struct thread *const early_owner = (struct thread *)1;

static struct thread *me(void)
{
    struct thread *t = thread_current();
    return t ? t : early_owner;
}

void mutex_lock(struct mutex *m)
{
    if (in_interrupt())
        panic("mutex '%s' taken in interrupt context", m->name ? m->name : "?");
    struct thread *self = me();
    lockdep_acquire(m, m->name, __builtin_return_address(0), false);
    irqflags_t flags = spin_lock_irqsave(&m->wait_lock);
    if (!m->owner) {
        m->owner = self;
        spin_unlock_irqrestore(&m->wait_lock, flags);
        return;
    }
    if (m->owner == self)
        panic("deadlock: mutex '%s' taken twice by %s", m->name ? m->name : "?",
              self == early_owner ? "the boot thread" : self->name);
    if (self == early_owner)
        panic("mutex '%s' contended before the scheduler runs", m->name ? m->name : "?");
    struct mutex_waiter waiter = {self, NULL};
    if (m->last)
        m->last->next = &waiter;
    else
        m->first = &waiter;
    m->last = &waiter;
    while (m->owner != self) {
        thread_prepare_sleep();
        spin_unlock_irqrestore(&m->wait_lock, flags);
        schedule();
        flags = spin_lock_irqsave(&m->wait_lock);
    }
    thread_finish_sleep();
    spin_unlock_irqrestore(&m->wait_lock, flags);
}

bool mutex_trylock(struct mutex *m)
{
    irqflags_t flags = spin_lock_irqsave(&m->wait_lock);
    bool taken = !m->owner;
    if (taken)
        m->owner = me();
    spin_unlock_irqrestore(&m->wait_lock, flags);
    if (taken)
        lockdep_acquire(m, m->name, __builtin_return_address(0), false);
    return taken;
}

void mutex_unlock(struct mutex *m)
{
    lockdep_release(m, m->name, false);
    irqflags_t flags = spin_lock_irqsave(&m->wait_lock);
    struct mutex_waiter *next = m->first;
    if (next) {
        m->first = next->next;
        if (!m->first)
            m->last = NULL;
        m->owner = next->thread;
        thread_wake(next->thread);
    } else {
        m->owner = NULL;
    }
    spin_unlock_irqrestore(&m->wait_lock, flags);
}

bool mutex_held_by_me(const struct mutex *m)
{
    return m->owner == me();
}
