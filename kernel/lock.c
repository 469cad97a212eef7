/* Mutexes for long operations.  Without a scheduler nobody can wait, so contention means a
 * re-entrant call (an interrupt handler using a subsystem that its caller was inside): a bug. */
#include <rayos/lock.h>
#include <rayos/printk.h>

void mutex_lock(struct mutex *m)
{
    if (m->locked)
        panic("deadlock: mutex '%s' taken twice", m->name ? m->name : "?");
    m->locked = 1;
}

bool mutex_trylock(struct mutex *m)
{
    if (m->locked)
        return false;
    m->locked = 1;
    return true;
}

void mutex_unlock(struct mutex *m)
{
    m->locked = 0;
}
