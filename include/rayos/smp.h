/* CPUs: the per-CPU state every CPU keeps, reached through the architecture's per-CPU base
 * register, and the calls that cross CPUs (inter-processor interrupts). */
#ifndef RAYOS_SMP_H
#define RAYOS_SMP_H

#include <rayos/list.h>
#include <rayos/lock.h>
#include <rayos/thread.h>
#include <rayos/types.h>

#define CPUS_MAX 64 /* compile-time maximum; further CPUs in the firmware tables are ignored */

struct thread;

enum cpu_state {
    CPU_ABSENT,   /* no such CPU */
    CPU_STARTING, /* start-up sent, not checked in yet */
    CPU_ARRIVED,  /* running its start-up code, not online yet */
    CPU_ONLINE,
    CPU_OFFLINE, /* listed but not started: the reason is in cpu.why */
};

struct cpu {
    struct cpu *self; /* first: the per-CPU base register points at this structure */
    unsigned id;      /* dense number, 0 = the boot CPU */
    uint32_t hw_id;   /* the interrupt controller's id: arch_cpu_hw_id_name */
    enum cpu_state state;
    const char *why; /* for CPU_OFFLINE */

    /* Scheduler (kernel/sched.c); rq_lock protects the run queue and its threads' on_rq. */
    struct spinlock rq_lock;
    struct list_node runqueue;
    unsigned rq_length;
    struct thread *current, *idle;
    struct thread *previous; /* the thread switched away from, until the switch completes */
    volatile bool need_resched;
    int slice_ticks;

    /* Context checks: sleeping is a bug while spin_depth or irq_depth is non-zero. */
    unsigned spin_depth;
    unsigned irq_depth;
    const char *spin_names[4]; /* the first spinlocks held, for "sleeping while holding" */
    /* Lock-order checker: spinlocks held on this CPU (they cannot migrate: interrupts are off). */
    unsigned held_spin_count;
    struct thread_held_lock held_spin[THREAD_HELD_LOCKS_MAX];

    /* Statistics for the `cpus` command. */
    uint64_t idle_ns, idle_since_ns;
    uint64_t interrupts;
    uint64_t context_switches;
    uint64_t ticks;
    uint64_t online_ns; /* when it came online */

    /* Cross-CPU function calls (smp_call_on). */
    struct spinlock call_lock;
    struct list_node call_queue;
};

extern struct cpu cpus[CPUS_MAX];

/* The architecture supplies this_cpu() (one instruction on x86: %gs:0). */
#include <asm/percpu.h>

static inline unsigned cpu_id(void)
{
    return this_cpu()->id;
}

/* CPUs that are online now; online CPUs are numbered 0 .. cpu_online_count()-1 only while no
 * CPU failed to start, so walk cpus[] checking state where it matters. */
unsigned cpu_online_count(void);
bool cpu_is_online(unsigned id);

/* Runs fn(arg) on CPU `id` from its interrupt context (fn must not sleep).  With wait, returns
 * after fn has run there.  Running on the calling CPU calls fn directly. */
int smp_call_on(unsigned id, void (*fn)(void *), void *arg, bool wait);
/* Runs fn(arg) on every other online CPU and waits for all of them. */
void smp_call_others(void (*fn)(void *), void *arg);
/* The same on every online CPU, the caller's included (interrupts off while it runs there). */
void smp_call_all(void (*fn)(void *), void *arg);

/* Architecture interface (arch/<arch>/smp.c). */
/* Numbers the CPUs the firmware lists and sends the start-up signals to at most max_cpus - 1
 * of them (the rest are marked offline with limit_why); returns without waiting, after telling
 * smp_note_started how many it started. */
void arch_smp_start(unsigned max_cpus, const char *limit_why);
void smp_note_started(unsigned count);
/* Sleeps until every started CPU is online or timeout_ms passed; reports the silent ones. */
void smp_wait_started(uint64_t timeout_ms);
void arch_send_reschedule(unsigned cpu);
void arch_send_call_function(unsigned cpu);
void arch_cpu_stop_others(void); /* panic: park every other CPU */
/* What cpu.hw_id is, as `cpus` heads its column: "APIC" (x86: the local APIC id), "MPIDR"
 * (aarch64: the affinity fields, Aff3 in bits 24-31). */
extern const char arch_cpu_hw_id_name[];

/* Called by the architecture's boot and interrupt code. */
void smp_init_cpu_struct(unsigned id, uint32_t hw_id);
void smp_handle_call_function(void);

#endif
