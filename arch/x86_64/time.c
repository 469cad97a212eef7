/* Timekeeping.  The monotonic clock is the TSC, calibrated at boot against the HPET (whose
 * period the hardware states exactly) or, without one, against PIT channel 2.  The local APIC
 * timer then ticks periodically for timeouts and deferred work. */
#define pr_fmt(fmt) "time: " fmt
#include <rayos/acpi.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include "x86.h"

/* time_ns() = base_ns + (rdtsc() - base_tsc) * ns_per_tsc_q32 / 2^32.  Boot calibrates quickly
 * (a few hundred microseconds against the HPET); a second later the rate is refined over that
 * whole second and the clock switches to it without a jump: the new base is the old clock's
 * reading at the switch.  Readers retry while the sequence count is odd or changed. */
struct clock_params {
    uint64_t base_tsc, base_ns, ns_per_tsc_q32; /* nanoseconds per TSC tick, 32.32 fixed point */
};
static struct clock_params clock;
static unsigned clock_seq;
static uint64_t boot_tsc;
static uint64_t tsc_hz;
static volatile uint64_t ticks;

void time_record_boot(void);
void time_record_boot(void)
{
    boot_tsc = rdtsc();
}

static uint64_t clock_read(const struct clock_params *p, uint64_t tsc)
{
    if (tsc < p->base_tsc) /* another CPU's counter a hair behind the one that switched */
        return p->base_ns;
    return p->base_ns +
           (uint64_t)(((unsigned __int128)(tsc - p->base_tsc) * p->ns_per_tsc_q32) >> 32);
}

static struct clock_params clock_snapshot(void)
{
    for (;;) {
        unsigned seq = __atomic_load_n(&clock_seq, __ATOMIC_ACQUIRE);
        if (seq & 1) {
            cpu_relax();
            continue;
        }
        struct clock_params p = {__atomic_load_n(&clock.base_tsc, __ATOMIC_RELAXED),
                                 __atomic_load_n(&clock.base_ns, __ATOMIC_RELAXED),
                                 __atomic_load_n(&clock.ns_per_tsc_q32, __ATOMIC_RELAXED)};
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&clock_seq, __ATOMIC_RELAXED) == seq)
            return p;
    }
}

/* Only the boot CPU's calibration and the one refinement write (interrupts off). */
static void clock_set_rate(uint64_t hz, uint64_t now_tsc)
{
    struct clock_params old = clock_snapshot();
    uint64_t now_ns = old.ns_per_tsc_q32 ? clock_read(&old, now_tsc) : 0;
    __atomic_store_n(&clock_seq, clock_seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&clock.base_tsc, old.ns_per_tsc_q32 ? now_tsc : boot_tsc, __ATOMIC_RELAXED);
    __atomic_store_n(&clock.base_ns, now_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&clock.ns_per_tsc_q32, (NSEC_PER_SEC << 32) / hz, __ATOMIC_RELAXED);
    __atomic_store_n(&clock_seq, clock_seq + 1, __ATOMIC_RELEASE);
    tsc_hz = hz;
}

uint64_t time_ns(void)
{
    struct clock_params p = clock_snapshot();
    return p.ns_per_tsc_q32 ? clock_read(&p, rdtsc()) : 0;
}

void udelay(uint64_t usec)
{
    if (!tsc_hz) { /* before calibration: port 0x80 writes take about 1 us each */
        for (uint64_t i = 0; i < usec; i++)
            io_write8(0x80, 0);
        return;
    }
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

void timer_tick(void)
{
    if (this_cpu()->id == 0)
        ticks++;
}

struct acpi_hpet_table {
    struct acpi_table_header header;
    uint32_t event_timer_block_id;
    uint8_t address_space_id, register_width, register_offset, reserved;
    uint64_t address;
    uint8_t hpet_number;
    uint16_t minimum_tick;
    uint8_t page_protection;
} __packed;

/* Reads the HPET counter with the TSC just before and after; false if the pair was stretched
 * (the emulator or hypervisor was descheduled between them), which would skew calibration. */
static bool paired_read(volatile uint8_t *hpet, uint64_t *counter, uint64_t *tsc)
{
    uint64_t before = rdtsc();
    *counter = mmio_read64(hpet + 0xf0);
    uint64_t after = rdtsc();
    *tsc = before + (after - before) / 2;
    return after - before < 200000; /* well under 100 us at any plausible TSC rate */
}

/* The HPET used for calibration, kept for the refinement a second later. */
static struct {
    volatile uint8_t *regs;
    uint64_t period_fs;
    uint64_t counter, tsc; /* the last pair of the boot calibration */
    struct timer refine;
} hpet;

#define CALIBRATION_ROUND_US 250
#define REFINE_AFTER_NS      NSEC_PER_SEC

/* The middle of count calibration rounds' rates (sorted in place: a handful of values), so
 * that rounds the emulator's descheduling skewed cannot move it. */
static uint64_t median_rate(uint64_t *rates, unsigned count)
{
    for (unsigned i = 1; i < count; i++)
        for (unsigned j = i; j > 0 && rates[j - 1] > rates[j]; j--) {
            uint64_t swap = rates[j];
            rates[j] = rates[j - 1];
            rates[j - 1] = swap;
        }
    return rates[count / 2];
}

/* TSC ticks per second against the HPET: the median of three 250 us rounds, each bracketed by
 * tight (TSC, HPET) pairs, so one interruption of the emulator cannot skew the clock; the
 * refinement later removes the rest of the error.  0 if there is no HPET. */
static uint64_t calibrate_with_hpet(void)
{
    const struct acpi_hpet_table *table = (const void *)acpi_find_table("HPET", 0);
    if (!table || table->header.length < sizeof(*table) || table->address_space_id != 0)
        return 0;
    volatile uint8_t *regs = map_phys(table->address, 1024, MAP_UNCACHED);
    if (!regs)
        return 0;
    uint64_t period_fs = mmio_read64(regs) >> 32;
    if (period_fs == 0 || period_fs > 100000000) /* the spec caps the period at 100 ns */
        return 0;
    mmio_write64(regs + 0x10, mmio_read64(regs + 0x10) | 1);            /* counter enable */
    uint64_t wanted = CALIBRATION_ROUND_US * 1000000000ULL / period_fs; /* HPET ticks a round */
    uint64_t rates[3];
    unsigned count = 0;
    for (unsigned attempt = 0; attempt < 6 && count < ARRAY_SIZE(rates); attempt++) {
        uint64_t h0, t0, h1, t1;
        if (!paired_read(regs, &h0, &t0))
            continue;
        unsigned long spins = 0;
        bool paired;
        do {
            paired = paired_read(regs, &h1, &t1);
            if (++spins > 10000000UL)
                return 0; /* the counter does not move */
        } while (h1 - h0 < wanted);
        uint64_t elapsed_ns = (h1 - h0) * period_fs / 1000000;
        if (paired && elapsed_ns) {
            rates[count++] = (t1 - t0) * NSEC_PER_SEC / elapsed_ns;
            hpet.counter = h1;
            hpet.tsc = t1;
        }
    }
    if (count == 0)
        return 0;
    hpet.regs = regs;
    hpet.period_fs = period_fs;
    return median_rate(rates, count);
}

/* A second after boot: the rate over that whole second (an error of a few microseconds in the
 * pairs is then parts per million), unless the pair was stretched or the rate moved by more than
 * 2 %, which would mean the counters are not what they seem (kept, with a warning). */
static void refine_tsc_rate(struct timer *timer)
{
    (void)timer;
    uint64_t counter, tsc;
    if (!paired_read(hpet.regs, &counter, &tsc)) {
        timer_start_in(&hpet.refine, REFINE_AFTER_NS / 10); /* try again shortly */
        return;
    }
    uint64_t counted = counter - hpet.counter;
    if (counted == 0 || counted > UINT64_MAX / hpet.period_fs)
        return;
    uint64_t elapsed_ns = counted * hpet.period_fs / 1000000;
    uint64_t ticked = tsc - hpet.tsc; /* split so that neither product overflows 64 bits */
    uint64_t refined =
        ticked / elapsed_ns * NSEC_PER_SEC + ticked % elapsed_ns * NSEC_PER_SEC / elapsed_ns;
    uint64_t boot = tsc_hz;
    uint64_t diff = refined > boot ? refined - boot : boot - refined;
    if (diff > boot / 50) {
        pr_warn("TSC rate over %llu ms (%llu kHz) is far from the boot calibration; kept",
                (unsigned long long)(elapsed_ns / NSEC_PER_MSEC),
                (unsigned long long)(refined / 1000));
        return;
    }
    clock_set_rate(refined, tsc);
    pr_debug("TSC %llu.%03llu MHz, refined over %llu ms (boot estimate off by %llu ppm)",
             (unsigned long long)(refined / 1000000), (unsigned long long)(refined / 1000 % 1000),
             (unsigned long long)(elapsed_ns / NSEC_PER_MSEC),
             (unsigned long long)(diff * 1000000 / boot));
}

static int time_refine_init(void)
{
    if (!hpet.regs)
        return 0;
    timer_setup(&hpet.refine, refine_tsc_rate, NULL);
    timer_start_in(&hpet.refine, REFINE_AFTER_NS);
    return 0;
}
INITCALL(time_refine_init, INIT_CORE);

#define PIT_HZ              1193182
#define PIT_CALIBRATE_TICKS 11932 /* 10 ms */

/* The same against PIT channel 2 counting down from 11932 (10 ms), its output read through
 * port 0x61 as on every PC. */
static uint64_t calibrate_with_pit_gate(void)
{
    io_write8(0x61, (io_read8(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
    io_write8(0x43, 0xb0);                            /* channel 2, lobyte/hibyte, mode 0 */
    io_write8(0x42, PIT_CALIBRATE_TICKS & 0xff);
    io_write8(0x42, PIT_CALIBRATE_TICKS >> 8);
    uint64_t start = rdtsc();
    for (unsigned long spins = 0; !(io_read8(0x61) & 0x20); spins++)
        if (spins > 100000000UL)
            return 0;
    return (rdtsc() - start) * 100;
}

static uint16_t pit_channel0_count(void)
{
    io_write8(0x43, 0x00); /* latch channel 0 */
    uint8_t low = io_read8(0x40);
    return (uint16_t)(low | io_read8(0x40) << 8);
}

/* Machines without port 0x61 (QEMU's microvm) have no way to read channel 2's output: channel 0
 * free-running from 65536 is latched and read back instead, its ticks counted across
 * wrap-arounds.  A wrap takes 55 ms, and a loaded host can deschedule the emulator for longer
 * than that between two reads: the wraps missed then make the TSC look several times faster
 * than it is (the clock ran at a quarter of the host's).  So the 10 ms are counted in five
 * rounds of 2 ms and the median rate kept, which two such rounds cannot move.  0 if the
 * counter does not move (no PIT). */
#define PIT_READBACK_ROUNDS 5

static uint64_t pit_readback_round(uint32_t round_ticks)
{
    uint16_t previous = pit_channel0_count();
    uint64_t start = rdtsc();
    uint32_t elapsed = 0;
    for (unsigned long spins = 0; elapsed < round_ticks; spins++) {
        if (spins > 10000000UL)
            return 0;
        uint16_t now = pit_channel0_count();
        elapsed += (uint16_t)(previous - now); /* counts down; wraps at 65536 */
        previous = now;
    }
    return (rdtsc() - start) * PIT_HZ / elapsed;
}

static uint64_t calibrate_with_pit_readback(void)
{
    io_write8(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
    io_write8(0x40, 0);
    io_write8(0x40, 0);
    uint64_t rates[PIT_READBACK_ROUNDS];
    for (unsigned i = 0; i < PIT_READBACK_ROUNDS; i++)
        if (!(rates[i] = pit_readback_round(PIT_CALIBRATE_TICKS / PIT_READBACK_ROUNDS)))
            return 0;
    return median_rate(rates, PIT_READBACK_ROUNDS);
}

static uint64_t calibrate_with_pit(void)
{
    /* A floating port reads all ones; a PC's port 0x61 never shows every bit set. */
    return io_read8(0x61) != 0xff ? calibrate_with_pit_gate() : calibrate_with_pit_readback();
}

void time_init(void)
{
    const char *source = "HPET";
    bool lapic = lapic_present();
    if (lapic)
        lapic_timer_count_start();
    uint64_t start = rdtsc();
    uint64_t hz = calibrate_with_hpet();
    if (!hz) {
        source = "PIT";
        hz = calibrate_with_pit();
    }
    if (!hz) {
        source = "a guess";
        hz = 1000000000ULL;
    }
    clock_set_rate(hz, rdtsc());
    if (lapic) {
        struct clock_params p = clock_snapshot();
        lapic_timer_count_finish(clock_read(&p, rdtsc()) - clock_read(&p, start));
    }
    pr_info("TSC %llu.%03llu MHz (calibrated against %s)", (unsigned long long)(tsc_hz / 1000000),
            (unsigned long long)(tsc_hz / 1000 % 1000), source);
    if (lapic) {
        lapic_timer_start(TIMER_HZ);
        pr_info("periodic timer: local APIC at %u Hz", TIMER_HZ);
    } else {
        /* PIT channel 0 in rate-generator mode on IRQ 0. */
        uint16_t divisor = (uint16_t)(1193182 / TIMER_HZ);
        io_write8(0x43, 0x34);
        io_write8(0x40, divisor & 0xff);
        io_write8(0x40, divisor >> 8);
        pr_info("periodic timer: PIT at %u Hz", TIMER_HZ);
    }
}

static void pit_tick(void *context)
{
    (void)context;
    timer_tick();
    sched_tick();
    timer_run_due();
}

void time_start_pit_irq(void);
void time_start_pit_irq(void)
{
    struct irq_spec pit;
    if (!lapic_present() && acpi_isa_irq_spec(0, &pit) == 0)
        irq_claim(&pit, pit_tick, NULL, "timer");
}
