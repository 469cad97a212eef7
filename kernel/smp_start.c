/* Collecting the CPUs the architecture started: arch_smp_start() sends the start-up signals and
 * returns at once; the boot CPU goes on with its own work and waits here (sleeping) before the
 * bus level of the init calls, reporting any CPU that never checked in. */
#define pr_fmt(fmt) "smp: " fmt
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/time.h>

static uint64_t start_sent_ns;
static unsigned cpus_started;

void smp_note_started(unsigned count)
{
    start_sent_ns = time_ns();
    cpus_started = count;
}

void smp_wait_started(uint64_t timeout_ms)
{
    if (!cpus_started)
        return;
    for (;;) {
        bool pending = false;
        for (unsigned i = 1; i < CPUS_MAX; i++) {
            enum cpu_state s = __atomic_load_n(&cpus[i].state, __ATOMIC_ACQUIRE);
            pending |= s == CPU_STARTING || s == CPU_ARRIVED;
        }
        if (!pending || time_ns() - start_sent_ns > timeout_ms * NSEC_PER_MSEC)
            break;
        msleep(1);
    }
    for (unsigned i = 1; i < CPUS_MAX; i++) {
        enum cpu_state expected = CPU_STARTING;
        if (__atomic_compare_exchange_n(&cpus[i].state, &expected, CPU_OFFLINE, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            cpus[i].why = "did not answer the start-up signal";
            pr_warn("CPU %u (hardware id 0x%x) did not answer the start-up signal", i,
                    cpus[i].hw_id);
        }
    }
}
