/* Starting the secondary CPUs with PSCI CPU_ON: every CPU the device tree lists gets its own
 * stack and is started at secondary_entry (boot.S) with its index as the context argument, all
 * at once; each checks in from secondary_main().  The boot CPU does not wait here
 * (smp_wait_started() collects the result later). */
#define pr_fmt(fmt) "smp: " fmt
#include <rayos/arch.h>
#include <rayos/irq.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include "aarch64.h"
#include "machine.h"

#define SECONDARY_STACK_SIZE (16 * 1024)

STATIC_ASSERT(MACHINE_CPUS_MAX == CPUS_MAX, "one CPU table size");

extern char secondary_entry[];
uint64_t secondary_stack_tops[CPUS_MAX];
uint64_t secondary_ttbr1;

const char arch_cpu_hw_id_name[] = "MPIDR";

void secondary_main(uint64_t id);

static void set_offline(struct cpu *c, const char *why)
{
    c->state = CPU_OFFLINE;
    c->why = why;
}

static bool listed_before(unsigned next, uint32_t hw_id)
{
    for (unsigned j = 0; j < next; j++)
        if (cpus[j].state != CPU_ABSENT && cpus[j].hw_id == hw_id)
            return true;
    return false;
}

void arch_smp_start(unsigned max_cpus, const char *limit_why)
{
    uint32_t boot_id = mpidr_to_hw_id(read_sysreg(mpidr_el1));
    cpus[0].hw_id = boot_id;
    cpus[0].state = CPU_ONLINE;
    if (machine.cpus_dropped)
        pr_warn("the device tree lists more CPUs than the %u this kernel supports; the rest are "
                "ignored",
                CPUS_MAX);
    unsigned next = 1, started = 0;
    for (unsigned i = 0; i < machine.cpu_count && next < CPUS_MAX; i++) {
        uint32_t hw_id = mpidr_to_hw_id(machine.cpu_mpidr[i]);
        if (hw_id == boot_id)
            continue;
        if (listed_before(next, hw_id)) {
            pr_warn("the device tree lists CPU 0x%x twice; the second entry is ignored", hw_id);
            continue;
        }
        struct cpu *c = &cpus[next];
        smp_init_cpu_struct(next++, hw_id);
        phys_addr_t stack = page_alloc(SECONDARY_STACK_SIZE / PAGE_SIZE, PAGE_SIZE, 0);
        if (machine.psci == PSCI_NONE) {
            set_offline(c, "no PSCI to start it");
        } else if (started + 1 >= max_cpus) {
            set_offline(c, limit_why);
        } else if (!stack) {
            set_offline(c, "out of memory");
        } else {
            secondary_stack_tops[c->id] = (uint64_t)phys_to_virt(stack) + SECONDARY_STACK_SIZE;
            c->state = CPU_STARTING;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            int status = psci_cpu_on(machine.cpu_mpidr[i], virt_to_phys(secondary_entry), c->id);
            if (status == 0) {
                started++;
                continue;
            }
            pr_warn("PSCI CPU_ON for CPU 0x%x failed (%d)", hw_id, status);
            set_offline(c, "PSCI CPU_ON failed");
        }
        if (stack)
            page_free(stack, SECONDARY_STACK_SIZE / PAGE_SIZE);
    }
    smp_note_started(started);
}

void secondary_main(uint64_t id)
{
    paging_disable_identity();
    struct cpu *c = id < CPUS_MAX ? &cpus[id] : NULL;
    enum cpu_state expected = CPU_STARTING;
    if (!c || !__atomic_compare_exchange_n(&c->state, &expected, CPU_ARRIVED, false,
                                           __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        arch_halt(); /* not ours to run, or given up on: stay parked */
    write_sysreg(tpidr_el1, c);
    gic_init_cpu();
    sched_init_cpu();
    c->idle_since_ns = 0;
    c->online_ns = time_ns();
    __atomic_store_n(&c->state, CPU_ONLINE, __ATOMIC_RELEASE);
    time_start_tick();
    irq_enable();
    sched_idle_loop();
}

void arch_send_reschedule(unsigned cpu)
{
    gic_send_sgi(cpu, SGI_RESCHEDULE);
}

void arch_send_call_function(unsigned cpu)
{
    gic_send_sgi(cpu, SGI_CALL_FUNCTION);
}

/* Panic: every other online CPU takes the stop SGI and parks with interrupts off. */
void arch_cpu_stop_others(void)
{
    if (cpu_online_count() < 2)
        return;
    for (unsigned i = 0; i < CPUS_MAX; i++)
        if (i != cpu_id() && cpu_is_online(i))
            gic_send_sgi(i, SGI_STOP);
}
