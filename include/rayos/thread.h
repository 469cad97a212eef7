/* Kernel threads and the scheduler.
 *
 * Every thread has its own stack with an unmapped guard page below it, so an overflow faults
 * and is reported as such.  Scheduling is preemptive (the timer tick ends a time slice) with
 * one run queue per CPU; an idle CPU takes work from the busiest one.  A thread may be pinned
 * to a set of CPUs (affinity). */
#ifndef RAYOS_THREAD_H
#define RAYOS_THREAD_H

#include <rayos/list.h>
#include <rayos/types.h>

#define THREAD_NAME_MAX 24

enum thread_state {
    THREAD_RUNNABLE, /* running, or waiting on a run queue */
    THREAD_SLEEPING, /* waiting for a wake-up */
    THREAD_DEAD,     /* returned or called thread_exit; waits to be joined */
};

typedef int (*thread_fn)(void *arg);

struct thread_held_lock {
    const void *lock;
    const char *class_name;
    uint64_t where; /* return address of the acquisition */
};
#define THREAD_HELD_LOCKS_MAX 16

struct thread {
    uint64_t saved_sp; /* the architecture's switch frame lives at this stack address */
    unsigned tid;
    char name[THREAD_NAME_MAX];
    volatile enum thread_state state;
    volatile bool on_cpu; /* its registers are live on some CPU (switch not finished) */
    bool on_rq;           /* queued on cpus[cpu]'s run queue; under that rq_lock */
    bool active;       /* current on its CPU and has not yet decided to sleep; under that rq_lock */
    unsigned cpu;      /* the CPU it runs on or last ran on */
    uint64_t affinity; /* bit n: may run on CPU n */
    struct list_node rq_node;
    struct list_node all_node;

    thread_fn fn;
    void *arg;
    int exit_status;
    int refs; /* the thread itself while alive, plus the joiner until joined */

    void *stack;       /* lowest mapped byte */
    size_t stack_size; /* the guard page lies just below `stack` */

    uint64_t runtime_ns, switched_in_ns;
    uint64_t switches;
    volatile bool interrupt_requested; /* Ctrl-C for a shell job: checked by long commands */
    int job;                           /* shell job number, 0 when not a job */

    unsigned held_count; /* lock-order checker: locks held now, in order */
    struct thread_held_lock held[THREAD_HELD_LOCKS_MAX];
};

/* Starts fn(arg) in a new thread on any CPU allowed by affinity (0 = every CPU).  The name is
 * copied.  Returns NULL when out of memory.  The caller must thread_join or thread_detach it. */
struct thread *thread_create(const char *name, thread_fn fn, void *arg, uint64_t affinity);
/* Waits for the thread to end, returns its exit status and frees it. */
int thread_join(struct thread *t);
/* The thread is freed when it ends; nobody joins it. */
void thread_detach(struct thread *t);
void thread_exit(int status) __noreturn;

struct thread *thread_current(void);
void thread_set_affinity(struct thread *t, uint64_t affinity);
void thread_yield(void);

/* Sleeps at least this long (rounded up to the timer's resolution). */
void msleep(uint64_t msec);
void usleep(uint64_t usec);

/* Ctrl-C for the current thread: true once someone asked it to stop (shell jobs). */
static inline bool thread_should_stop(void)
{
    struct thread *t = thread_current();
    return t && t->interrupt_requested;
}

/* Lists every thread for the `threads` command: calls fn for each, under the thread-list lock
 * (fn must not sleep). */
void thread_for_each(void (*fn)(const struct thread *t, void *context), void *context);

/* Scheduler interface used by wait queues and mutexes (kernel/sched.c). */
void schedule(void);                /* gives up the CPU; a SLEEPING caller waits for wake-up */
bool thread_wake(struct thread *t); /* SLEEPING -> RUNNABLE; false if it was not sleeping */
void thread_prepare_sleep(void);    /* current -> SLEEPING (before re-checking a condition) */
void thread_finish_sleep(void);     /* current -> RUNNABLE again (condition came true) */
bool scheduler_running(void);       /* false during early boot: waits must spin */
bool in_interrupt(void);

/* Boot and architecture hooks. */
void sched_init(void);     /* the boot context becomes CPU 0's idle thread */
void sched_init_cpu(void); /* an application processor's start-up context becomes its idle */
void sched_idle_loop(void) __noreturn;
void sched_tick(void); /* timer interrupt, every CPU */
void sched_interrupt_exit(bool interrupted_with_irqs_on);

/* Architecture: context switch and new-thread stacks. */
void arch_thread_switch(uint64_t *save_sp, uint64_t new_sp);
uint64_t arch_thread_initial_sp(void *stack_top, struct thread *t);
void arch_thread_start(void); /* first code a new thread runs; calls thread_entry(t) */
void thread_entry(struct thread *t) __noreturn;

#endif
