/* One timing wheel for the machine, processed from the timer interrupt by whichever CPU gets
 * there first (the others skip).  Callbacks run without the wheel's lock, one at a time, so
 * timer_cancel can wait for a running callback by watching `running`. */
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/thread.h>
#include <rayos/lock.h>
#include <rayos/smp.h>
#include <rayos/timer.h>

static struct timer_wheel wheel;
static struct spinlock wheel_lock = SPINLOCK_INIT("timer wheel");
static struct timer *due_list; /* taken off the wheel, not yet run; under wheel_lock */
static struct timer *volatile running;
static volatile int processing; /* one CPU processes at a time */

static uint64_t tick_of(uint64_t ns)
{
    return ns / TIMER_TICK_NS;
}

void timer_setup(struct timer *t, timer_fn fn, void *data)
{
    *t = (struct timer){.fn = fn, .data = data};
}

void timer_start_at(struct timer *t, uint64_t deadline_ns)
{
    /* Round up: the tick whose start is at or after the deadline, so it never fires early. */
    uint64_t tick = tick_of(deadline_ns + TIMER_TICK_NS - 1);
    irqflags_t flags = spin_lock_irqsave(&wheel_lock);
    timer_wheel_add(&wheel, t, tick);
    spin_unlock_irqrestore(&wheel_lock, flags);
}

void timer_start_in(struct timer *t, uint64_t delay_ns)
{
    timer_start_at(t, time_ns() + delay_ns);
}

bool timer_pending(const struct timer *t)
{
    return t->pending;
}

bool timer_cancel(struct timer *t)
{
    irqflags_t flags = spin_lock_irqsave(&wheel_lock);
    bool was_pending = t->pending;
    timer_wheel_remove(&wheel, t);
    for (struct timer **p = &due_list; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            t->next = NULL;
            was_pending = true;
            break;
        }
    }
    spin_unlock_irqrestore(&wheel_lock, flags);
    /* A callback that cancels its own timer must not wait for itself. */
    if (!in_interrupt())
        while (running == t)
            cpu_relax();
    return was_pending;
}

void timer_run_due(void)
{
    uint64_t now_tick = tick_of(time_ns());
    if (__atomic_load_n(&wheel.pending, __ATOMIC_RELAXED) == 0 || wheel.now > now_tick)
        return;
    if (__atomic_exchange_n(&processing, 1, __ATOMIC_ACQUIRE))
        return;
    irqflags_t flags = spin_lock_irqsave(&wheel_lock);
    timer_wheel_advance(&wheel, now_tick, &due_list);
    /* One at a time, each taken off the due list under the lock, so timer_cancel either finds
     * it still listed or sees it running. */
    while (due_list) {
        struct timer *t = due_list;
        due_list = t->next;
        t->next = NULL;
        running = t;
        spin_unlock_irqrestore(&wheel_lock, flags);
        t->fn(t);
        flags = spin_lock_irqsave(&wheel_lock);
        running = NULL;
    }
    spin_unlock_irqrestore(&wheel_lock, flags);
    __atomic_store_n(&processing, 0, __ATOMIC_RELEASE);
}

void timer_init_clock(void);
void timer_init_clock(void)
{
    timer_wheel_init(&wheel, tick_of(time_ns()));
}
