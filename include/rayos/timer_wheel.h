/* A hierarchical timing wheel (portable data structure, no locking): timers expire at a tick
 * number; adding and removing are O(1) and advancing costs one slot per tick plus the
 * occasional cascade of a coarser slot.  Four levels of 64 slots cover 64^4 ticks (18 hours at
 * 250 Hz); later timers wait in the last level and are placed again as time approaches. */
#ifndef RAYOS_TIMER_WHEEL_H
#define RAYOS_TIMER_WHEEL_H

#include <rayos/types.h>

#define TIMER_WHEEL_LEVELS    4
#define TIMER_WHEEL_SLOT_BITS 6
#define TIMER_WHEEL_SLOTS     (1u << TIMER_WHEEL_SLOT_BITS)

struct timer;
typedef void (*timer_fn)(struct timer *timer);

struct timer {
    uint64_t expires; /* tick number */
    timer_fn fn;
    void *data;
    struct timer *next, *prev; /* slot list while pending */
    struct timer **slot;       /* the slot head it hangs from */
    bool pending;
};

struct timer_wheel {
    uint64_t now; /* the next tick to process: every timer due before it has been taken */
    struct timer *slots[TIMER_WHEEL_LEVELS][TIMER_WHEEL_SLOTS];
    unsigned pending;
};

void timer_wheel_init(struct timer_wheel *w, uint64_t now);
void timer_wheel_add(struct timer_wheel *w, struct timer *t, uint64_t expires);
void timer_wheel_remove(struct timer_wheel *w, struct timer *t);
/* Processes ticks up to and including `tick`: every timer due is unlinked and pushed onto *due
 * (linked through next), in expiry order within each tick. */
void timer_wheel_advance(struct timer_wheel *w, uint64_t tick, struct timer **due);
/* The earliest tick at which something may be due (a lower bound); UINT64_MAX when empty. */
uint64_t timer_wheel_next(const struct timer_wheel *w);

#endif
