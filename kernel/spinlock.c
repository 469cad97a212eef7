/* Spinlocks (see <rayos/lock.h>): interrupts off on this CPU, an atomic exchange against the
 * others, and a report when one spins for seconds. */
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include "lockdep.h"

#define SPIN_REPORT_NS (5 * NSEC_PER_SEC)

static void spin_wait(struct spinlock *lock)
{
    uint64_t start = 0;
    unsigned rounds = 0;
    while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED)) {
        cpu_relax();
        if (++rounds % 65536)
            continue;
        /* Held for seconds by another CPU: a deadlock or a lost unlock.  Say so once. */
        uint64_t now = time_ns();
        if (!start) {
            start = now;
        } else if (start != UINT64_MAX && now - start > SPIN_REPORT_NS) {
            printk(LOG_ERR, "lock: CPU %u spinning on '%s' held by CPU %d for over 5 s", cpu_id(),
                   lock->name ? lock->name : "?", lock->owner_cpu);
            start = UINT64_MAX;
        }
    }
}

irqflags_t spin_lock_irqsave(struct spinlock *lock)
{
    irqflags_t flags = irq_enabled();
    irq_disable();
    struct cpu *c = this_cpu();
    if (lock->locked && lock->owner_cpu == (int)c->id)
        panic("deadlock: spinlock '%s' taken twice on CPU %u", lock->name ? lock->name : "?",
              c->id);
    lockdep_acquire(lock, lock->name, __builtin_return_address(0), true);
    while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE))
        spin_wait(lock);
    lock->owner_cpu = (int)c->id;
    if (c->spin_depth < ARRAY_SIZE(c->spin_names))
        c->spin_names[c->spin_depth] = lock->name;
    c->spin_depth++;
    return flags;
}

void spin_unlock_irqrestore(struct spinlock *lock, irqflags_t flags)
{
    struct cpu *c = this_cpu();
    lockdep_release(lock, lock->name, true);
    lock->owner_cpu = -1;
    c->spin_depth--;
    __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
    if (flags)
        irq_enable();
}

bool spin_is_locked(const struct spinlock *lock)
{
    return lock->locked;
}
