/* The scheduler: per-CPU run queues of runnable threads, round robin with a time slice, and an
 * idle CPU taking work from the busiest other queue.
 *
 * Rules (see docs/ARCHITECTURE.md, "Concurrency"):
 * - cpus[n].rq_lock protects cpus[n]'s queue, the on_rq flag and the `cpu` field of every
 *   thread whose `cpu` is n, and cpus[n].current.
 * - A thread switching out keeps on_cpu set until the next thread on that CPU has its stack;
 *   nobody else may switch to it before (its registers are not saved yet).
 * - Sleeping: the thread marks itself SLEEPING, re-checks its condition, then calls schedule(),
 *   which decides under the rq lock (clearing `active`) whether it stays queued.  A waker
 *   changes SLEEPING to RUNNABLE under the same lock and queues the thread only if that decision
 *   was already taken; otherwise the thread sees RUNNABLE when it decides.  No wake-up is lost.
 * - Preemption happens only on the way out of an interrupt that arrived with interrupts on,
 *   so never while a spinlock is held. */
#define pr_fmt(fmt) "sched: " fmt
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include <rayos/wait.h>

#define SLICE_TICKS       3 /* 12 ms at 250 Hz */
#define THREAD_STACK_SIZE (32 * 1024)
#define STACK_CACHE_MAX   16

static struct spinlock threads_lock = SPINLOCK_INIT("thread list");
static LIST_HEAD(all_threads);
static unsigned next_tid;
static bool running;
static struct wait_queue exit_wq = WAIT_QUEUE_INIT("thread exit");
static struct thread boot_thread; /* CPU 0's idle thread: the boot stack */

/* Freed stacks are kept mapped for reuse: map_phys windows are never returned. */
static struct spinlock stack_cache_lock = SPINLOCK_INIT("stack cache");
static void *stack_cache[STACK_CACHE_MAX];
static unsigned stack_cache_count;

bool scheduler_running(void)
{
    return running;
}

/* Per-CPU reads from preemptible code: with interrupts on, the thread could move to another CPU
 * between finding its CPU and reading the field, and read a field of the CPU it left. */
bool in_interrupt(void)
{
    bool enabled = irq_enabled();
    irq_disable();
    bool inside = this_cpu()->irq_depth != 0;
    if (enabled)
        irq_enable();
    return inside;
}

static struct thread *running_thread(void)
{
    bool enabled = irq_enabled();
    irq_disable();
    struct thread *t = this_cpu()->current;
    if (enabled)
        irq_enable();
    return t;
}

struct thread *thread_current(void)
{
    return running ? running_thread() : NULL;
}

static void *stack_alloc(void)
{
    irqflags_t flags = spin_lock_irqsave(&stack_cache_lock);
    void *stack = stack_cache_count ? stack_cache[--stack_cache_count] : NULL;
    spin_unlock_irqrestore(&stack_cache_lock, flags);
    if (stack)
        return stack;
    /* Physical pages anywhere, mapped in a window of their own: map_phys leaves an unmapped
     * page below every window, which is the guard page. */
    phys_addr_t pages = page_alloc(THREAD_STACK_SIZE / PAGE_SIZE, PAGE_SIZE, 0);
    if (!pages)
        return NULL;
    stack = map_phys(pages, THREAD_STACK_SIZE, MAP_CACHED);
    if (!stack)
        page_free(pages, THREAD_STACK_SIZE / PAGE_SIZE);
    return stack;
}

static void stack_free(void *stack)
{
    irqflags_t flags = spin_lock_irqsave(&stack_cache_lock);
    if (stack_cache_count < STACK_CACHE_MAX) {
        stack_cache[stack_cache_count++] = stack;
        stack = NULL;
    }
    spin_unlock_irqrestore(&stack_cache_lock, flags);
    if (stack) {
        phys_addr_t pages = virt_to_phys(stack);
        unmap_phys(stack, THREAD_STACK_SIZE);
        page_free(pages, THREAD_STACK_SIZE / PAGE_SIZE);
    }
}

static void thread_put(struct thread *t)
{
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    irqflags_t flags = spin_lock_irqsave(&threads_lock);
    list_remove(&t->all_node);
    spin_unlock_irqrestore(&threads_lock, flags);
    if (t->stack)
        stack_free(t->stack);
    kfree(t);
}

static void rq_add(struct cpu *c, struct thread *t)
{
    list_add_tail(&c->runqueue, &t->rq_node);
    t->on_rq = true;
    c->rq_length++;
}

static void rq_remove(struct cpu *c, struct thread *t)
{
    list_remove(&t->rq_node);
    t->on_rq = false;
    c->rq_length--;
}

static bool allowed_on(const struct thread *t, unsigned cpu)
{
    return t->affinity & (1ULL << cpu);
}

static bool cpu_is_idle(const struct cpu *c)
{
    return c->state == CPU_ONLINE && c->current == c->idle && c->rq_length == 0;
}

/* Where a thread that becomes runnable should go: where it last ran if that CPU is idle or no
 * other allowed CPU is, otherwise an idle allowed CPU. */
static unsigned choose_cpu(const struct thread *t)
{
    if (allowed_on(t, t->cpu) && cpu_is_idle(&cpus[t->cpu]))
        return t->cpu;
    unsigned fallback = allowed_on(t, t->cpu) ? t->cpu : CPUS_MAX;
    for (unsigned i = 0; i < CPUS_MAX; i++) {
        if (!allowed_on(t, i) || cpus[i].state != CPU_ONLINE)
            continue;
        if (cpu_is_idle(&cpus[i]))
            return i;
        if (fallback == CPUS_MAX || cpus[i].rq_length < cpus[fallback].rq_length)
            fallback = i;
    }
    return fallback == CPUS_MAX ? 0 : fallback;
}

static void kick(unsigned cpu)
{
    struct cpu *c = &cpus[cpu];
    c->need_resched = true;
    if (cpu != cpu_id())
        arch_send_reschedule(cpu);
}

/* Queues a RUNNABLE thread that is on no run queue and on no CPU's `current`. */
static void enqueue_runnable(struct thread *t)
{
    unsigned target = choose_cpu(t);
    struct cpu *c = &cpus[target];
    irqflags_t flags = spin_lock_irqsave(&c->rq_lock);
    t->cpu = target;
    rq_add(c, t);
    bool preempt_idle = c->current == c->idle;
    spin_unlock_irqrestore(&c->rq_lock, flags);
    if (preempt_idle || target != cpu_id())
        kick(target);
}

bool thread_wake(struct thread *t)
{
    for (;;) {
        unsigned cpu = __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE);
        struct cpu *c = &cpus[cpu];
        irqflags_t flags = spin_lock_irqsave(&c->rq_lock);
        if (t->cpu != cpu) { /* migrated meanwhile: its lock is another */
            spin_unlock_irqrestore(&c->rq_lock, flags);
            continue;
        }
        if (!__atomic_compare_exchange_n(&t->state, &(enum thread_state){THREAD_SLEEPING},
                                         THREAD_RUNNABLE, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST)) {
            spin_unlock_irqrestore(&c->rq_lock, flags);
            return false;
        }
        if (t->active || t->on_rq) { /* still on its way to sleep, or preempted there */
            spin_unlock_irqrestore(&c->rq_lock, flags);
            return true;
        }
        spin_unlock_irqrestore(&c->rq_lock, flags);
        enqueue_runnable(t);
        return true;
    }
}

void thread_prepare_sleep(void)
{
    __atomic_store_n(&running_thread()->state, THREAD_SLEEPING, __ATOMIC_SEQ_CST);
}

void thread_finish_sleep(void)
{
    __atomic_store_n(&running_thread()->state, THREAD_RUNNABLE, __ATOMIC_SEQ_CST);
}

/* Takes one runnable thread from the CPU with the longest queue for CPU `me`. */
static struct thread *steal(struct cpu *me)
{
    struct cpu *victim = NULL;
    for (unsigned i = 0; i < CPUS_MAX; i++) {
        struct cpu *c = &cpus[i];
        if (c != me && c->state == CPU_ONLINE && c->rq_length > 0 &&
            (!victim || c->rq_length > victim->rq_length))
            victim = c;
    }
    if (!victim)
        return NULL;
    struct thread *found = NULL;
    irqflags_t flags = spin_lock_irqsave(&victim->rq_lock);
    struct thread *t;
    list_for_each_entry(t, &victim->runqueue, rq_node)
    {
        if (!t->on_cpu && allowed_on(t, me->id)) {
            rq_remove(victim, t);
            __atomic_store_n(&t->cpu, me->id, __ATOMIC_RELEASE);
            found = t;
            break;
        }
    }
    spin_unlock_irqrestore(&victim->rq_lock, flags);
    return found;
}

void schedule_tail(void);
void schedule_tail(void)
{
    struct cpu *c = this_cpu();
    struct thread *prev = c->previous;
    c->previous = NULL;
    if (!prev)
        return;
    __atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
    if (prev->state == THREAD_DEAD) {
        wake_up(&exit_wq);
        thread_put(prev); /* its own reference: the stack is no longer in use */
    }
}

static void switch_to(struct cpu *c, struct thread *prev, struct thread *next)
{
    uint64_t now = time_ns();
    prev->runtime_ns += now - prev->switched_in_ns;
    next->switched_in_ns = now;
    next->switches++;
    c->context_switches++;
    c->previous = prev;
    arch_thread_switch(&prev->saved_sp, next->saved_sp);
    schedule_tail();
}

static void do_schedule(bool preempt)
{
    bool enabled = irq_enabled();
    irq_disable();
    struct cpu *c = this_cpu();
    struct thread *prev = c->current;
    irqflags_t flags = spin_lock_irqsave(&c->rq_lock);
    /* The decision: from here a waker queues prev itself if prev goes to sleep. */
    bool migrate = false;
    if (prev != c->idle) {
        prev->active = false;
        bool runnable = prev->state == THREAD_RUNNABLE;
        if (!prev->on_rq && (runnable || (preempt && prev->state == THREAD_SLEEPING))) {
            /* A thread whose affinity no longer includes this CPU goes to one it may run on
             * (a preempted sleeper stays: its waker or a stealing CPU moves it). */
            migrate = runnable && !allowed_on(prev, c->id);
            if (!migrate)
                rq_add(c, prev);
        }
    }
    struct thread *next = NULL, *t;
    list_for_each_entry(t, &c->runqueue, rq_node)
    {
        if (allowed_on(t, c->id)) {
            next = t;
            break;
        }
    }
    if (next) {
        rq_remove(c, next);
        next->active = true;
    }
    c->need_resched = false;
    c->slice_ticks = SLICE_TICKS;
    spin_unlock_irqrestore(&c->rq_lock, flags);

    if (!next) {
        next = steal(c);
        if (next)
            next->active = true; /* RUNNABLE and on no queue: no waker touches it */
    }
    if (!next)
        next = c->idle;
    if (next != prev) {
        /* Taken from another CPU's queue, it may still be switching out there. */
        while (__atomic_load_n(&next->on_cpu, __ATOMIC_ACQUIRE))
            cpu_relax();
        flags = spin_lock_irqsave(&c->rq_lock);
        c->current = next;
        next->on_cpu = true;
        next->cpu = c->id;
        spin_unlock_irqrestore(&c->rq_lock, flags);
        if (migrate)
            enqueue_runnable(prev); /* its new CPU waits for on_cpu to clear */
        switch_to(c, prev, next);
    }
    if (enabled)
        irq_enable();
}

void schedule(void)
{
    /* Interrupts off before looking at this CPU: a preempted caller could otherwise read the
     * state of the CPU it left, which another thread is using. */
    bool enabled = irq_enabled();
    irq_disable();
    struct cpu *c = this_cpu();
    if (c->irq_depth)
        panic("sleeping in interrupt context (thread %s)", c->current ? c->current->name : "?");
    if (c->spin_depth)
        panic("sleeping while holding spinlock '%s'%s", c->spin_names[0] ? c->spin_names[0] : "?",
              c->spin_depth > 1 ? " (and others)" : "");
    do_schedule(false);
    if (enabled)
        irq_enable();
}

void sched_interrupt_exit(bool interrupted_with_irqs_on)
{
    struct cpu *c = this_cpu();
    if (!running || !c->need_resched || !interrupted_with_irqs_on || c->spin_depth)
        return;
    do_schedule(true);
}

void sched_tick(void)
{
    struct cpu *c = this_cpu();
    c->ticks++;
    if (!running)
        return;
    if (c->current == c->idle) {
        if (c->rq_length)
            c->need_resched = true;
    } else if (--c->slice_ticks <= 0) {
        c->need_resched = true;
    }
}

void thread_yield(void)
{
    schedule(); /* do_schedule queues a runnable caller behind the others */
}

static struct thread *thread_alloc(const char *name)
{
    struct thread *t = kzalloc(sizeof(*t));
    if (!t)
        return NULL;
    strlcpy(t->name, name, sizeof(t->name));
    list_init(&t->rq_node);
    irqflags_t flags = spin_lock_irqsave(&threads_lock);
    t->tid = next_tid++;
    list_add_tail(&all_threads, &t->all_node);
    spin_unlock_irqrestore(&threads_lock, flags);
    return t;
}

void thread_entry(struct thread *t)
{
    schedule_tail();
    irq_enable();
    thread_exit(t->fn(t->arg));
}

static uint64_t online_mask(void)
{
    uint64_t mask = 0;
    for (unsigned i = 0; i < CPUS_MAX; i++)
        if (cpus[i].state == CPU_ONLINE)
            mask |= 1ULL << i;
    return mask;
}

struct thread *thread_create(const char *name, thread_fn fn, void *arg, uint64_t affinity)
{
    struct thread *t = thread_alloc(name);
    if (!t)
        return NULL;
    t->stack = stack_alloc();
    if (!t->stack) {
        t->refs = 1;
        thread_put(t);
        return NULL;
    }
    t->stack_size = THREAD_STACK_SIZE;
    t->fn = fn;
    t->arg = arg;
    t->affinity = affinity ? affinity : ~0ULL;
    if (!(t->affinity & online_mask()))
        t->affinity = ~0ULL; /* pinned to CPUs that are not there: run anywhere rather than never */
    t->refs = 2;
    t->state = THREAD_RUNNABLE;
    struct thread *self = thread_current();
    t->cpu = self ? self->cpu : 0;
    t->saved_sp = arch_thread_initial_sp((char *)t->stack + t->stack_size, t);
    enqueue_runnable(t);
    return t;
}

void thread_exit(int status)
{
    struct thread *t = thread_current();
    irq_disable();
    t->exit_status = status;
    __atomic_store_n(&t->state, THREAD_DEAD, __ATOMIC_SEQ_CST);
    do_schedule(false);
    panic("dead thread %s scheduled again", t->name);
}

int thread_join(struct thread *t)
{
    wait_event(&exit_wq, t->state == THREAD_DEAD && !t->on_cpu);
    int status = t->exit_status;
    thread_put(t);
    return status;
}

void thread_detach(struct thread *t)
{
    thread_put(t);
}

void thread_set_affinity(struct thread *t, uint64_t affinity)
{
    if (!affinity || !(affinity & online_mask()))
        return;
    t->affinity = affinity;
    if (t == thread_current() && !allowed_on(t, cpu_id()))
        thread_yield(); /* do_schedule leaves it queued here; choose_cpu moves it below */
}

static void wake_sleeper(struct timer *timer)
{
    thread_wake(timer->data);
}

void wait_sleep_until(uint64_t deadline_ns)
{
    if (!deadline_ns) {
        schedule();
        return;
    }
    struct timer timer;
    timer_setup(&timer, wake_sleeper, thread_current());
    timer_start_at(&timer, deadline_ns);
    schedule();
    timer_cancel(&timer);
}

void msleep(uint64_t msec)
{
    usleep(msec * 1000);
}

void usleep(uint64_t usec)
{
    uint64_t deadline = time_ns() + usec * NSEC_PER_USEC;
    if (!running) {
        udelay(usec);
        return;
    }
    while (time_ns() < deadline) {
        thread_prepare_sleep();
        wait_sleep_until(deadline);
        thread_finish_sleep();
    }
}

void thread_for_each(void (*fn)(const struct thread *t, void *context), void *context)
{
    irqflags_t flags = spin_lock_irqsave(&threads_lock);
    struct thread *t;
    list_for_each_entry(t, &all_threads, all_node) fn(t, context);
    spin_unlock_irqrestore(&threads_lock, flags);
}

static void init_idle(struct cpu *c, struct thread *idle)
{
    c->idle = idle;
    c->current = idle;
    idle->on_cpu = true;
    idle->cpu = c->id;
    idle->affinity = 1ULL << c->id;
    idle->state = THREAD_RUNNABLE;
    idle->refs = 1;
    idle->switched_in_ns = time_ns();
    c->slice_ticks = SLICE_TICKS;
}

void sched_init(void)
{
    struct cpu *c = this_cpu();
    struct thread *idle = &boot_thread;
    strlcpy(idle->name, "idle/0", sizeof(idle->name));
    list_init(&idle->rq_node);
    idle->tid = next_tid++;
    list_add_tail(&all_threads, &idle->all_node);
    init_idle(c, idle);
    running = true;
}

void sched_init_cpu(void)
{
    struct cpu *c = this_cpu();
    char name[THREAD_NAME_MAX];
    snprintf(name, sizeof(name), "idle/%u", c->id);
    struct thread *idle = thread_alloc(name);
    if (!idle)
        panic("no memory for CPU %u's idle thread", c->id);
    init_idle(c, idle);
}

void sched_idle_loop(void)
{
    struct cpu *c = this_cpu();
    for (;;) {
        irq_disable();
        if (!c->rq_length && !c->need_resched) {
            struct thread *stolen = steal(c);
            if (stolen) {
                irqflags_t flags = spin_lock_irqsave(&c->rq_lock);
                rq_add(c, stolen);
                spin_unlock_irqrestore(&c->rq_lock, flags);
            } else {
                c->idle_since_ns = time_ns();
                cpu_wait_for_interrupt(); /* enables interrupts and halts, atomically */
                c->idle_ns += time_ns() - c->idle_since_ns;
                c->idle_since_ns = 0;
            }
        }
        irq_enable();
        do_schedule(false);
    }
}
