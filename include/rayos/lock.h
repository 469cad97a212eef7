/* Locks.  RayOS runs on one CPU with interrupts as the only concurrency, so a spinlock is an
 * interrupt-disabling critical section plus a flag that catches recursion; the same API keeps
 * callers correct when SMP arrives.  Host builds get no-op versions from the shim. */
#ifndef RAYOS_LOCK_H
#define RAYOS_LOCK_H

#include <rayos/types.h>

struct spinlock {
    volatile int locked;
    const char *name;
};

#define SPINLOCK_INIT(n)                                                                           \
    {                                                                                              \
        0, n                                                                                       \
    }

typedef unsigned long irqflags_t;

irqflags_t spin_lock_irqsave(struct spinlock *lock);
void spin_unlock_irqrestore(struct spinlock *lock, irqflags_t flags);

/* A sleeping-style lock for long operations (filesystem calls, config writes).  Without a
 * scheduler, contention means a caller re-entered from an interrupt, which is a bug: it panics. */
struct mutex {
    volatile int locked;
    const char *name;
};
#define MUTEX_INIT(n)                                                                              \
    {                                                                                              \
        0, n                                                                                       \
    }
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
bool mutex_trylock(struct mutex *m);

#endif
