/* Locks.
 *
 * spinlock: disables interrupts on this CPU and spins against the others.  Held briefly, never
 * across a sleep; the only lock an interrupt handler may take.
 * mutex: a sleeping lock for long operations (filesystem calls, configuration writes); its
 * owner is tracked and contention puts the caller to sleep.  Never taken in interrupt context.
 *
 * Both carry a name, which is also their class for the lock-order checker (kernel/lockdep.c):
 * every lock initialised from the same SPINLOCK_INIT/MUTEX_INIT site shares one class. */
#ifndef RAYOS_LOCK_H
#define RAYOS_LOCK_H

#include <rayos/types.h>

struct spinlock {
    volatile int locked;
    const char *name;
    int owner_cpu; /* valid while locked: for recursion reports */
};

#define SPINLOCK_INIT(n)                                                                           \
    {                                                                                              \
        0, n, -1                                                                                   \
    }

typedef unsigned long irqflags_t;

irqflags_t spin_lock_irqsave(struct spinlock *lock);
void spin_unlock_irqrestore(struct spinlock *lock, irqflags_t flags);
bool spin_is_locked(const struct spinlock *lock);

struct thread;
struct mutex_waiter;

struct mutex {
    struct spinlock wait_lock;
    struct thread *volatile owner;
    struct mutex_waiter *first, *last; /* FIFO of sleeping waiters */
    const char *name;
};
#define MUTEX_INIT(n)                                                                              \
    {                                                                                              \
        SPINLOCK_INIT(n), NULL, NULL, NULL, n                                                      \
    }
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
bool mutex_trylock(struct mutex *m);
bool mutex_held_by_me(const struct mutex *m);

#endif
