/* Timekeeping.  The monotonic clock is the TSC, calibrated at boot against the HPET (whose
 * period the hardware states exactly) or, without one, against PIT channel 2.  The local APIC
 * timer then ticks periodically for timeouts and deferred work. */
#define pr_fmt(fmt) "time: " fmt
#include <rayos/acpi.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include "x86.h"

static uint64_t boot_tsc;
static uint64_t tsc_hz;
static uint64_t ns_per_tsc_q32; /* nanoseconds per TSC tick, 32.32 fixed point */
static volatile uint64_t ticks;

void time_record_boot(void);
void time_record_boot(void)
{
    boot_tsc = rdtsc();
}

uint64_t time_ns(void)
{
    if (!ns_per_tsc_q32)
        return 0;
    uint64_t delta = rdtsc() - boot_tsc;
    return (uint64_t)(((unsigned __int128)delta * ns_per_tsc_q32) >> 32);
}

void udelay(uint64_t usec)
{
    if (!ns_per_tsc_q32) { /* before calibration: port 0x80 writes take about 1 us each */
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

/* TSC ticks per second against the HPET: the median of three 1 ms rounds, each bracketed by
 * tight (TSC, HPET) pairs, so one interruption of the emulator cannot skew the clock.  0 if
 * there is no HPET. */
static uint64_t calibrate_with_hpet(void)
{
    const struct acpi_hpet_table *table = (const void *)acpi_find_table("HPET", 0);
    if (!table || table->header.length < sizeof(*table) || table->address_space_id != 0)
        return 0;
    volatile uint8_t *hpet = map_phys(table->address, 1024, MAP_UNCACHED);
    if (!hpet)
        return 0;
    uint64_t period_fs = mmio_read64(hpet) >> 32;
    if (period_fs == 0 || period_fs > 100000000) /* the spec caps the period at 100 ns */
        return 0;
    mmio_write64(hpet + 0x10, mmio_read64(hpet + 0x10) | 1); /* counter enable */
    uint64_t wanted = 1000000000000ULL / period_fs;          /* 1 ms worth of HPET ticks */
    uint64_t rates[3];
    unsigned count = 0;
    for (unsigned attempt = 0; attempt < 6 && count < ARRAY_SIZE(rates); attempt++) {
        uint64_t h0, t0, h1, t1;
        if (!paired_read(hpet, &h0, &t0))
            continue;
        unsigned long spins = 0;
        bool paired;
        do {
            paired = paired_read(hpet, &h1, &t1);
            if (++spins > 10000000UL)
                return 0; /* the counter does not move */
        } while (h1 - h0 < wanted);
        uint64_t elapsed_ns = (h1 - h0) * period_fs / 1000000;
        if (paired && elapsed_ns)
            rates[count++] = (t1 - t0) * NSEC_PER_SEC / elapsed_ns;
    }
    if (count == 0)
        return 0;
    for (unsigned i = 1; i < count; i++) /* insertion sort: three values */
        for (unsigned j = i; j > 0 && rates[j - 1] > rates[j]; j--) {
            uint64_t swap = rates[j];
            rates[j] = rates[j - 1];
            rates[j - 1] = swap;
        }
    return rates[count / 2];
}

/* The same against PIT channel 2 counting down from 11932 (10 ms at 1.193182 MHz). */
static uint64_t calibrate_with_pit(void)
{
    io_write8(0x61, (io_read8(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
    io_write8(0x43, 0xb0);                            /* channel 2, lobyte/hibyte, mode 0 */
    io_write8(0x42, 11932 & 0xff);
    io_write8(0x42, 11932 >> 8);
    uint64_t start = rdtsc();
    for (unsigned long spins = 0; !(io_read8(0x61) & 0x20); spins++)
        if (spins > 100000000UL)
            return 0;
    return (rdtsc() - start) * 100;
}

void time_init(void)
{
    const char *source = "HPET";
    tsc_hz = calibrate_with_hpet();
    if (!tsc_hz) {
        source = "PIT";
        tsc_hz = calibrate_with_pit();
    }
    if (!tsc_hz) {
        source = "a guess";
        tsc_hz = 1000000000ULL;
    }
    ns_per_tsc_q32 = (NSEC_PER_SEC << 32) / tsc_hz;
    pr_info("TSC %llu.%03llu MHz (calibrated against %s)", (unsigned long long)(tsc_hz / 1000000),
            (unsigned long long)(tsc_hz / 1000 % 1000), source);
    if (lapic_present()) {
        lapic_timer_calibrate();
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
