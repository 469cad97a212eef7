/* Hierarchical timing wheel.  A timer sits at the finest level whose span covers its distance
 * from `now`, in the slot named by its expiry's bits at that level.  When a coarser slot comes
 * round, its timers are placed again (cascaded) relative to the new `now`; a timer therefore
 * reaches level 0 no later than its expiry, and level-0 slots fire exactly on their tick. */
#include <rayos/timer_wheel.h>

#define SLOT_MASK (TIMER_WHEEL_SLOTS - 1)

static uint64_t level_span(unsigned level) /* ticks a whole level covers */
{
    return 1ULL << (TIMER_WHEEL_SLOT_BITS * (level + 1));
}

static void link(struct timer **slot, struct timer *t)
{
    t->slot = slot;
    t->prev = NULL;
    t->next = *slot;
    if (*slot)
        (*slot)->prev = t;
    *slot = t;
}

static void place(struct timer_wheel *w, struct timer *t)
{
    uint64_t expires = t->expires < w->now ? w->now : t->expires;
    uint64_t delta = expires - w->now;
    unsigned level = 0;
    while (level < TIMER_WHEEL_LEVELS - 1 && delta >= level_span(level))
        level++;
    if (delta >= level_span(level)) /* beyond the wheel: park at the farthest slot */
        expires = w->now + level_span(level) - 1;
    unsigned slot = (unsigned)(expires >> (TIMER_WHEEL_SLOT_BITS * level)) & SLOT_MASK;
    link(&w->slots[level][slot], t);
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now)
{
    *w = (struct timer_wheel){.now = now};
}

void timer_wheel_add(struct timer_wheel *w, struct timer *t, uint64_t expires)
{
    if (t->pending)
        timer_wheel_remove(w, t);
    t->expires = expires;
    t->pending = true;
    w->pending++;
    place(w, t);
}

void timer_wheel_remove(struct timer_wheel *w, struct timer *t)
{
    if (!t->pending)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        *t->slot = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    t->slot = NULL;
    t->pending = false;
    w->pending--;
}

static void cascade(struct timer_wheel *w, unsigned level, uint64_t tick)
{
    unsigned slot = (unsigned)(tick >> (TIMER_WHEEL_SLOT_BITS * level)) & SLOT_MASK;
    struct timer *t = w->slots[level][slot];
    w->slots[level][slot] = NULL;
    while (t) {
        struct timer *next = t->next;
        place(w, t);
        t = next;
    }
}

void timer_wheel_advance(struct timer_wheel *w, uint64_t tick, struct timer **due)
{
    struct timer *head = NULL, **tail = &head;
    while (w->now <= tick && w->pending) {
        uint64_t t_now = w->now;
        /* Coarser slots first, so their timers can land in this tick's finer slots. */
        for (unsigned level = TIMER_WHEEL_LEVELS - 1; level > 0; level--)
            if ((t_now & ((1ULL << (TIMER_WHEEL_SLOT_BITS * level)) - 1)) == 0)
                cascade(w, level, t_now);
        struct timer **slot = &w->slots[0][t_now & SLOT_MASK];
        struct timer *t = *slot;
        *slot = NULL;
        while (t) {
            struct timer *next = t->next;
            if (t->expires > t_now) { /* parked beyond the wheel: not due yet */
                place(w, t);
            } else {
                t->pending = false;
                w->pending--;
                t->prev = NULL;
                t->next = NULL;
                *tail = t;
                tail = &t->next;
            }
            t = next;
        }
        w->now = t_now + 1;
    }
    if (w->now <= tick) /* nothing pending: jump */
        w->now = tick + 1;
    *tail = *due;
    *due = head;
}

uint64_t timer_wheel_next(const struct timer_wheel *w)
{
    return w->pending ? w->now : UINT64_MAX;
}
