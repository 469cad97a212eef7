/* Timekeeping with the Arm generic timer: the virtual counter (CNTVCT_EL0) is the monotonic
 * clock at the frequency CNTFRQ_EL0 states (no calibration needed), and each CPU's EL1 virtual
 * timer interrupts TIMER_HZ times a second for timeouts and scheduling. */
#define pr_fmt(fmt) "time: " fmt
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include "aarch64.h"
#include "machine.h"

static uint64_t boot_count;
static uint64_t counter_hz;
static uint64_t ns_per_count_q32; /* nanoseconds per counter tick, 32.32 fixed point */
static uint64_t tick_period;      /* counter ticks per timer interrupt */
static volatile uint64_t ticks;

static uint64_t counter(void)
{
    isb(); /* no earlier read of the counter is reordered after later code */
    return read_sysreg(cntvct_el0);
}

void time_record_boot(void);
void time_record_boot(void)
{
    boot_count = read_sysreg(cntvct_el0);
}

uint64_t time_ns(void)
{
    if (!ns_per_count_q32)
        return 0;
    return (uint64_t)(((unsigned __int128)(counter() - boot_count) * ns_per_count_q32) >> 32);
}

void udelay(uint64_t usec)
{
    uint64_t end = time_ns() + usec * NSEC_PER_USEC;
    while (time_ns() < end)
        cpu_relax();
}

void mdelay(uint64_t msec)
{
    udelay(msec * 1000);
}

uint64_t timer_ticks(void)
{
    return ticks;
}

void time_init(void)
{
    counter_hz = read_sysreg(cntfrq_el0);
    if (!counter_hz) {
        /* Firmware is meant to program it; QEMU always does. */
        pr_warn("CNTFRQ_EL0 is 0: assuming a 62.5 MHz counter");
        counter_hz = 62500000;
    }
    ns_per_count_q32 = (NSEC_PER_SEC << 32) / counter_hz;
    tick_period = counter_hz / TIMER_HZ;
    pr_info("generic timer: %llu.%03llu MHz counter, tick on INTID %u at %u Hz",
            (unsigned long long)(counter_hz / 1000000),
            (unsigned long long)(counter_hz / 1000 % 1000), machine.timer_intid, TIMER_HZ);
}

/* Starts this CPU's periodic tick (each CPU calls it for itself). */
void time_start_tick(void)
{
    write_sysreg(cntv_cval_el0, read_sysreg(cntvct_el0) + tick_period);
    write_sysreg(cntv_ctl_el0, 1); /* enabled, not masked */
    isb();
    gic_enable_ppi(machine.timer_intid);
}

void time_handle_tick(void)
{
    /* The next deadline counts from the previous one, so ticks do not drift; after a long
     * stall (the host descheduled the vCPU) it restarts from now instead of firing in a row. */
    uint64_t next = read_sysreg(cntv_cval_el0) + tick_period, now = read_sysreg(cntvct_el0);
    write_sysreg(cntv_cval_el0, next > now ? next : now + tick_period);
    if (this_cpu()->id == 0)
        ticks++;
    sched_tick();
    timer_run_due();
}
