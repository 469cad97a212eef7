/* Sleeping waits: wait queues (sleep until a condition becomes true) and completions (one
 * event, possibly signalled from interrupt context).
 *
 *     wait_event(&wq, condition);                      sleeps until condition holds
 *     wait_event_timeout(&wq, condition, ns)           ... or ns pass; true if it holds
 *     wake_up(&wq);                                    after making a condition true
 *
 * The condition is checked after the caller is marked asleep, so a wake-up between the check
 * and the sleep cannot be lost.  Before the scheduler runs (early boot) the macros poll; in
 * interrupt context or under a spinlock, sleeping is a bug and panics. */
#ifndef RAYOS_WAIT_H
#define RAYOS_WAIT_H

#include <rayos/lock.h>
#include <rayos/thread.h>
#include <rayos/time.h>

struct wait_entry {
    struct thread *thread;
    struct wait_entry *next, *prev;
    bool queued;
};

struct wait_queue {
    struct spinlock lock;
    struct wait_entry *first, *last;
};

#define WAIT_QUEUE_INIT(n)                                                                         \
    {                                                                                              \
        SPINLOCK_INIT(n), NULL, NULL                                                               \
    }

void wait_queue_init(struct wait_queue *wq, const char *name);
void wait_prepare(struct wait_queue *wq, struct wait_entry *entry); /* queue + mark asleep */
void wait_finish(struct wait_queue *wq, struct wait_entry *entry);  /* runnable + dequeue */
/* Sleeps until woken or deadline (time_ns(); 0 = none) passes. */
void wait_sleep_until(uint64_t deadline_ns);
void wake_up(struct wait_queue *wq);
void wait_poll_relax(void); /* the no-scheduler fallback: one interrupt's worth of waiting */

#define wait_event_deadline(wq, condition, deadline_ns)                                            \
    ({                                                                                             \
        bool wait_ok_ = (condition);                                                               \
        uint64_t wait_deadline_ = (deadline_ns);                                                   \
        while (!wait_ok_) {                                                                        \
            if (wait_deadline_ && time_ns() >= wait_deadline_)                                     \
                break;                                                                             \
            if (!scheduler_running()) {                                                            \
                wait_poll_relax();                                                                 \
                wait_ok_ = (condition);                                                            \
                continue;                                                                          \
            }                                                                                      \
            struct wait_entry wait_entry_;                                                         \
            wait_prepare((wq), &wait_entry_);                                                      \
            wait_ok_ = (condition);                                                                \
            if (!wait_ok_)                                                                         \
                wait_sleep_until(wait_deadline_);                                                  \
            wait_finish((wq), &wait_entry_);                                                       \
            wait_ok_ = wait_ok_ || (condition);                                                    \
        }                                                                                          \
        wait_ok_;                                                                                  \
    })

#define wait_event(wq, condition) ((void)wait_event_deadline(wq, condition, 0))
#define wait_event_timeout(wq, condition, timeout_ns)                                              \
    wait_event_deadline(wq, condition, time_ns() + (timeout_ns))

/* Completions. */
struct completion {
    struct wait_queue wq;
    volatile unsigned done;
};
#define COMPLETION_INIT(n)                                                                         \
    {                                                                                              \
        WAIT_QUEUE_INIT(n), 0                                                                      \
    }
void completion_init(struct completion *c, const char *name);
void complete(struct completion *c);     /* wakes one waiter's worth (counts) */
void complete_all(struct completion *c); /* done for good: every waiter, now and later */
void wait_for_completion(struct completion *c);
bool wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns);

#endif
