/* Kernel timers: a callback at a point in time.  Callbacks run from the timer interrupt of
 * whichever CPU finds them due, so they must not sleep: to do real work they queue it
 * (<rayos/work.h>) or wake a thread.  The resolution is one timer tick (TIMER_TICK_NS); a timer
 * never fires early. */
#ifndef RAYOS_TIMER_H
#define RAYOS_TIMER_H

#include <rayos/timer_wheel.h>
#include <rayos/time.h>

#define TIMER_HZ      250
#define TIMER_TICK_NS (NSEC_PER_SEC / TIMER_HZ)

void timer_setup(struct timer *t, timer_fn fn, void *data);
void timer_start_at(struct timer *t, uint64_t deadline_ns); /* time_ns() clock; restarts */
void timer_start_in(struct timer *t, uint64_t delay_ns);
/* Stops a pending timer; true if it was pending.  If its callback is running on another CPU,
 * waits for it to return (so the caller may free the timer afterwards). */
bool timer_cancel(struct timer *t);
bool timer_pending(const struct timer *t);

/* The timer interrupt calls this on every CPU; one of them runs what is due. */
void timer_run_due(void);

#endif
