/* Per-CPU state and cross-CPU function calls.  A call request is queued on the target CPU and
 * an inter-processor interrupt makes it run there; a waiting caller keeps serving its own queue
 * so two CPUs calling each other cannot deadlock. */
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/smp.h>

struct cpu cpus[CPUS_MAX];

struct call_request {
    struct list_node node;
    void (*fn)(void *);
    void *arg;
    volatile bool done;
    bool free_after;
};

unsigned cpu_online_count(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < CPUS_MAX; i++)
        n += cpus[i].state == CPU_ONLINE;
    return n;
}

bool cpu_is_online(unsigned id)
{
    return id < CPUS_MAX && cpus[id].state == CPU_ONLINE;
}

void smp_handle_call_function(void)
{
    /* From a waiting caller, interrupts may be on: stay on this CPU while serving its queue. */
    bool enabled = irq_enabled();
    irq_disable();
    struct cpu *c = this_cpu();
    for (;;) {
        irqflags_t flags = spin_lock_irqsave(&c->call_lock);
        struct call_request *r = list_first(&c->call_queue, struct call_request, node);
        if (r)
            list_remove(&r->node);
        spin_unlock_irqrestore(&c->call_lock, flags);
        if (!r)
            break;
        r->fn(r->arg);
        if (r->free_after)
            kfree(r);
        else
            __atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
    }
    if (enabled)
        irq_enable();
}

static void post(unsigned id, struct call_request *r)
{
    struct cpu *target = &cpus[id];
    irqflags_t flags = spin_lock_irqsave(&target->call_lock);
    list_add_tail(&target->call_queue, &r->node);
    spin_unlock_irqrestore(&target->call_lock, flags);
    arch_send_call_function(id);
}

static void wait_done(struct call_request *r)
{
    while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
        smp_handle_call_function();
        cpu_relax();
    }
}

int smp_call_on(unsigned id, void (*fn)(void *), void *arg, bool wait)
{
    if (!cpu_is_online(id))
        return -ENODEV;
    if (id == cpu_id()) {
        bool enabled = irq_enabled();
        irq_disable();
        fn(arg);
        if (enabled)
            irq_enable();
        return 0;
    }
    if (wait) {
        struct call_request r = {.fn = fn, .arg = arg};
        post(id, &r);
        wait_done(&r);
        return 0;
    }
    struct call_request *r = kzalloc(sizeof(*r));
    if (!r)
        return -ENOMEM;
    *r = (struct call_request){.fn = fn, .arg = arg, .free_after = true};
    post(id, r);
    return 0;
}

void smp_call_others(void (*fn)(void *), void *arg)
{
    struct call_request requests[CPUS_MAX];
    uint64_t posted = 0; /* CPUs may come online meanwhile: wait only for those asked */
    /* Stay on one CPU, so "the others" stays one set; waiting serves our own queue. */
    bool enabled = irq_enabled();
    irq_disable();
    unsigned self = cpu_id();
    for (unsigned i = 0; i < CPUS_MAX; i++) {
        if (i == self || !cpu_is_online(i))
            continue;
        requests[i] = (struct call_request){.fn = fn, .arg = arg};
        post(i, &requests[i]);
        posted |= 1ULL << i;
    }
    for (unsigned i = 0; i < CPUS_MAX; i++)
        if (posted & (1ULL << i))
            wait_done(&requests[i]);
    if (enabled)
        irq_enable();
}

void smp_call_all(void (*fn)(void *), void *arg)
{
    bool enabled = irq_enabled();
    irq_disable();
    fn(arg);
    smp_call_others(fn, arg);
    if (enabled)
        irq_enable();
}

/* Fills in the per-CPU structures before any CPU uses them. */
void smp_init_cpu_struct(unsigned id, uint32_t hw_id)
{
    struct cpu *c = &cpus[id];
    c->self = c;
    c->id = id;
    c->hw_id = hw_id;
    c->rq_lock = (struct spinlock)SPINLOCK_INIT("run queue");
    list_init(&c->runqueue);
    c->call_lock = (struct spinlock)SPINLOCK_INIT("cpu call queue");
    list_init(&c->call_queue);
}
