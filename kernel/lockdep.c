/* Lock-order checking in the spirit of Linux's lockdep, reduced to what RayOS needs.
 *
 * A class is a lock's name (every lock initialised at one site shares it).  Each thread keeps
 * the locks it holds, in order.  Acquiring class B while holding class A adds the edge A -> B to
 * a graph of up to CLASSES_MAX classes; when a new edge makes B reach A, two threads taking the
 * locks in the two orders could deadlock, and the checker prints both orders with the call
 * chains where each was first seen — once per pair.  Acquisitions in interrupt context are not
 * tracked (they can only take spinlocks, and nothing sleeps there). */
#include <rayos/arch.h>
#include <rayos/cmdline.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/printk.h>
#include <rayos/shell.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include "lockdep.h"

#define CLASSES_MAX 256
#define EDGES_MAX   1024
#define TRACE_DEPTH 6

struct edge {
    uint8_t from, to;
    uint64_t trace[TRACE_DEPTH]; /* where `to` was taken while `from` was held */
};

static const char *classes[CLASSES_MAX];
static unsigned class_count;
static uint64_t reach[CLASSES_MAX][CLASSES_MAX / 64]; /* direct edges as bits */
static struct edge edges[EDGES_MAX];
static unsigned edge_count;
static volatile int graph_lock; /* a raw lock: the checker must not check itself */
static unsigned reports;
static int checker_state = -1; /* -1: not decided yet (command line not read) */
static bool full_warned;

static bool checker_on(void)
{
    if (checker_state < 0)
        checker_state = !cmdline_has("nolockdep");
    return checker_state;
}

/* Interrupts stay off while the graph is held: a holder preempted by the tick would leave
 * every other CPU spinning here with its own interrupts off. */
static bool graph_acquire(void)
{
    bool irqs_were_on = irq_enabled();
    irq_disable();
    while (__atomic_exchange_n(&graph_lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&graph_lock, __ATOMIC_RELAXED))
            cpu_relax();
    return irqs_were_on;
}

static void graph_release(bool irqs_were_on)
{
    __atomic_store_n(&graph_lock, 0, __ATOMIC_RELEASE);
    if (irqs_were_on)
        irq_enable();
}

static int class_of(const char *name)
{
    for (unsigned i = 0; i < class_count; i++)
        if (classes[i] == name)
            return (int)i;
    if (class_count == CLASSES_MAX)
        return -1;
    classes[class_count] = name;
    return (int)class_count++;
}

static bool has_edge(unsigned from, unsigned to)
{
    return reach[from][to / 64] & (1ULL << (to % 64));
}

/* Is `to` reachable from `from`?  Iterative search over the (small) graph. */
static bool reaches(unsigned from, unsigned to)
{
    uint64_t seen[CLASSES_MAX / 64] = {0};
    uint8_t stack[CLASSES_MAX];
    unsigned depth = 0;
    stack[depth++] = (uint8_t)from;
    seen[from / 64] |= 1ULL << (from % 64);
    while (depth) {
        unsigned c = stack[--depth];
        if (c == to)
            return true;
        for (unsigned n = 0; n < class_count; n++) {
            if (has_edge(c, n) && !(seen[n / 64] & (1ULL << (n % 64)))) {
                seen[n / 64] |= 1ULL << (n % 64);
                stack[depth++] = (uint8_t)n;
            }
        }
    }
    return false;
}

static void print_trace(const uint64_t *trace)
{
    for (unsigned i = 0; i < TRACE_DEPTH && trace[i]; i++) {
        uint64_t offset;
        const char *name = ksym_lookup(trace[i], &offset);
        printk(LOG_WARNING, "    %s+0x%llx", name ? name : "?", (unsigned long long)offset);
    }
}

static void report(const struct thread *t, unsigned held, unsigned taken, const uint64_t *trace)
{
    printk(LOG_WARNING,
           "lockdep: possible deadlock: thread %s on CPU %u takes '%s' while "
           "holding '%s'",
           t->name, cpu_id(), classes[taken], classes[held]);
    print_trace(trace);
    /* The other order: the first edge on a path from `taken` back to `held`. */
    for (unsigned i = 0; i < edge_count; i++) {
        if (edges[i].from == taken && (edges[i].to == held || reaches(edges[i].to, held))) {
            printk(LOG_WARNING,
                   "lockdep: earlier, '%s' was taken while holding '%s' at:", classes[edges[i].to],
                   classes[taken]);
            print_trace(edges[i].trace);
            break;
        }
    }
}

/* The lock list an acquisition goes on: spinlocks stay with the CPU, mutexes with the thread. */
static void held_lists(struct thread *t, struct cpu *c, struct thread_held_lock **spin,
                       unsigned **spin_count, struct thread_held_lock **sleep,
                       unsigned **sleep_count)
{
    *spin = c->held_spin;
    *spin_count = &c->held_spin_count;
    *sleep = t->held;
    *sleep_count = &t->held_count;
}

static bool track(const char *class_name)
{
    return class_name && thread_current() && !in_interrupt() && checker_on();
}

struct pending_report {
    const struct thread *thread;
    unsigned held, taken;
    const struct edge *edge;
};

/* Adds held -> taken; returns true when that closes a cycle. */
static bool add_edge(int held, int taken, void *where, struct pending_report *out)
{
    if (held < 0 || taken < 0 || held == taken || has_edge((unsigned)held, (unsigned)taken))
        return false;
    if (edge_count == EDGES_MAX)
        return false;
    struct edge *e = &edges[edge_count++];
    e->from = (uint8_t)held;
    e->to = (uint8_t)taken;
    memset(e->trace, 0, sizeof(e->trace));
    /* The acquiring call, then its callers: skip the checker's and the lock's own frames. */
    uint64_t chain[TRACE_DEPTH + 4];
    arch_stack_trace(chain, ARRAY_SIZE(chain));
    unsigned from = 0;
    while (from < ARRAY_SIZE(chain) && chain[from] && chain[from] != (uint64_t)where)
        from++;
    if (from == ARRAY_SIZE(chain) || !chain[from])
        from = 0;
    e->trace[0] = (uint64_t)where;
    for (unsigned i = 1; i < TRACE_DEPTH && from + i < ARRAY_SIZE(chain); i++)
        e->trace[i] = chain[from + i];
    bool cycle = reaches((unsigned)taken, (unsigned)held);
    reach[held][taken / 64] |= 1ULL << (taken % 64);
    if (cycle) {
        out->held = (unsigned)held;
        out->taken = (unsigned)taken;
        out->edge = e;
    }
    return cycle;
}

void lockdep_acquire(const void *lock, const char *class_name, void *where, bool spin)
{
    if (!track(class_name))
        return;
    /* Interrupts off first: a mutex acquirer could otherwise migrate between reading this
     * CPU's spinlock list and using it. */
    bool irqs = graph_acquire();
    struct thread *t = thread_current();
    struct thread_held_lock *spins, *sleeps;
    unsigned *spin_count, *sleep_count;
    held_lists(t, this_cpu(), &spins, &spin_count, &sleeps, &sleep_count);
    struct pending_report pending = {t, 0, 0, NULL};
    bool cycle = false;
    int taken = class_of(class_name);
    /* Mutexes are always taken first (none may be taken under a spinlock), so the order held is
     * the thread's mutexes, then this CPU's spinlocks. */
    for (unsigned i = 0; !cycle && i < MIN(*sleep_count, THREAD_HELD_LOCKS_MAX); i++)
        cycle = add_edge(class_of(sleeps[i].class_name), taken, where, &pending);
    for (unsigned i = 0; !cycle && i < MIN(*spin_count, THREAD_HELD_LOCKS_MAX); i++)
        cycle = add_edge(class_of(spins[i].class_name), taken, where, &pending);
    if (edge_count == EDGES_MAX && !full_warned) {
        full_warned = true;
        graph_release(irqs);
        printk(LOG_WARNING, "lockdep: graph full (%u edges); no new orders are learnt", EDGES_MAX);
        irqs = graph_acquire();
    }
    struct thread_held_lock *list = spin ? spins : sleeps;
    unsigned *count = spin ? spin_count : sleep_count;
    if (*count < THREAD_HELD_LOCKS_MAX)
        list[*count] = (struct thread_held_lock){lock, class_name, (uint64_t)where};
    (*count)++;
    if (cycle)
        reports++;
    graph_release(irqs);
    if (cycle)
        report(pending.thread, pending.held, pending.taken, pending.edge->trace);
}

static void drop(struct thread_held_lock *list, unsigned *count, const void *lock)
{
    unsigned n = MIN(*count, THREAD_HELD_LOCKS_MAX);
    for (unsigned i = n; i-- > 0;) {
        if (list[i].lock == lock) {
            memmove(&list[i], &list[i + 1], (n - i - 1) * sizeof(list[0]));
            (*count)--;
            return;
        }
    }
    if (*count > THREAD_HELD_LOCKS_MAX)
        (*count)--; /* it was one of those beyond what is recorded */
}

void lockdep_release(const void *lock, const char *class_name, bool spin)
{
    if (!track(class_name))
        return;
    struct thread *t = thread_current();
    if (spin) /* interrupts are off: this CPU is the one that took it */
        drop(this_cpu()->held_spin, &this_cpu()->held_spin_count, lock);
    else
        drop(t->held, &t->held_count, lock);
}

unsigned lockdep_reports(void)
{
    return reports;
}

/* `lockdep`: the orders learnt so far, one "held -> taken" pair a line. */
static int cmd_lockdep(int argc, char **argv)
{
    if (!checker_on()) {
        shell_printf("lockdep: off (nolockdep)\n");
        return 0;
    }
    unsigned n = __atomic_load_n(&edge_count, __ATOMIC_ACQUIRE);
    shell_printf("lockdep: %u classes, %u orders, %u possible deadlocks reported\n", class_count, n,
                 reports);
    for (unsigned i = 0; i < n; i++)
        shell_printf("%s -> %s\n", classes[edges[i].from], classes[edges[i].to]);
    return 0;
}
SHELL_COMMAND("lockdep", "list the lock orders the checker has seen", cmd_lockdep);
