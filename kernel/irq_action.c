/* Interrupt handler table (see <rayos/irq_action.h>).  Slots are claimed under the caller's
 * lock; the run path takes no lock: a slot announces a CPU in `running` before checking `used`,
 * and removal clears `used` before waiting for `running` to drop, so a handler either is seen
 * running or sees itself removed. */
#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/irq_action.h>
#include <rayos/lock.h>
#include <rayos/smp.h>
#include <rayos/thread.h>

#define ACTIONS_MAX 96

struct irq_action {
    volatile bool used;
    volatile int running;
    unsigned source;
    irq_handler_t handler;
    void *context;
    const char *name;
    uint64_t count;
};

static struct irq_action actions[ACTIONS_MAX];
/* Claiming and freeing slots: the architecture's callers hold locks of their own (the GIC's
 * for lines, the ITS's for MSIs), which do not exclude each other. */
static struct spinlock table_lock = SPINLOCK_INIT("irq actions");

int irq_action_add(unsigned source, irq_handler_t handler, void *context, const char *name)
{
    irqflags_t flags = spin_lock_irqsave(&table_lock);
    for (unsigned i = 0; i < ACTIONS_MAX; i++) {
        struct irq_action *a = &actions[i];
        if (a->used)
            continue;
        /* `running` is left alone: a CPU may still be leaving the slot's old handler. */
        a->source = source;
        a->handler = handler;
        a->context = context;
        a->name = name;
        a->count = 0;
        __atomic_store_n(&a->used, true, __ATOMIC_SEQ_CST);
        spin_unlock_irqrestore(&table_lock, flags);
        return (int)i;
    }
    spin_unlock_irqrestore(&table_lock, flags);
    return -ENOSPC;
}

unsigned irq_action_run(unsigned source)
{
    unsigned ran = 0;
    for (unsigned i = 0; i < ACTIONS_MAX; i++) {
        struct irq_action *a = &actions[i];
        if (a->source != source)
            continue;
        __atomic_add_fetch(&a->running, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&a->used, __ATOMIC_SEQ_CST) && a->source == source) {
            a->count++;
            a->handler(a->context);
            ran++;
        }
        __atomic_sub_fetch(&a->running, 1, __ATOMIC_SEQ_CST);
    }
    return ran;
}

bool irq_action_valid(int handle)
{
    return handle >= 0 && handle < ACTIONS_MAX && actions[handle].used;
}

bool irq_action_source_used(unsigned source)
{
    for (unsigned i = 0; i < ACTIONS_MAX; i++)
        if (actions[i].used && actions[i].source == source)
            return true;
    return false;
}

bool irq_action_remove(int handle, unsigned *source)
{
    irqflags_t flags = spin_lock_irqsave(&table_lock);
    *source = actions[handle].source;
    __atomic_store_n(&actions[handle].used, false, __ATOMIC_SEQ_CST);
    bool last = !irq_action_source_used(*source);
    spin_unlock_irqrestore(&table_lock, flags);
    return last;
}

/* Like Linux's synchronize_irq: afterwards no CPU is in the handler, so the caller may free
 * what its context points to.  (A handler releasing itself does not wait.) */
void irq_action_wait(int handle)
{
    if (in_interrupt())
        return;
    while (__atomic_load_n(&actions[handle].running, __ATOMIC_SEQ_CST))
        cpu_relax();
}

uint64_t irq_action_count(int handle)
{
    return handle >= 0 && handle < ACTIONS_MAX ? actions[handle].count : 0;
}
