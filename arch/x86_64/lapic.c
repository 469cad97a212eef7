/* The local APIC: end-of-interrupt, and the periodic timer that drives timekeeping work. */
#include <rayos/io.h>
#include <rayos/time.h>
#include "x86.h"

enum {
    LAPIC_ID = 0x20,
    LAPIC_TASK_PRIORITY = 0x80,
    LAPIC_EOI = 0xb0,
    LAPIC_SPURIOUS = 0xf0,
    LAPIC_ICR_LOW = 0x300,
    LAPIC_ICR_HIGH = 0x310,
    LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_LINT0 = 0x350,
    LAPIC_LVT_LINT1 = 0x360,
    LAPIC_TIMER_INITIAL = 0x380,
    LAPIC_TIMER_CURRENT = 0x390,
    LAPIC_TIMER_DIVIDE = 0x3e0,
};
#define LVT_MASKED      (1u << 16)
#define LVT_PERIODIC    (1u << 17)
#define ICR_PENDING     (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define TIMER_VECTOR    0xf0
#define SPURIOUS_VECTOR 0xff

static volatile uint8_t *lapic;
static uint64_t timer_ticks_per_second;

static uint32_t lapic_read(unsigned reg)
{
    return mmio_read32(lapic + reg);
}
static void lapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(lapic + reg, v);
}

bool lapic_present(void)
{
    return lapic != NULL;
}

void lapic_init(phys_addr_t base)
{
    lapic = map_phys(base, 4096, MAP_UNCACHED);
    if (!lapic)
        return;
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11)); /* global enable */
    lapic_write(LAPIC_TASK_PRIORITY, 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_SPURIOUS, 0x100 | SPURIOUS_VECTOR); /* software enable */
}

/* The same setup on an application processor (the mapping is shared: every CPU sees its own
 * local APIC at the same physical address). */
void lapic_init_ap(void)
{
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
    lapic_write(LAPIC_TASK_PRIORITY, 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_SPURIOUS, 0x100 | SPURIOUS_VECTOR);
}

/* Sends an inter-processor interrupt; `command` is the ICR's low word (vector, delivery mode,
 * shorthand).  Interrupts stay off between the two register writes, since a handler sending an
 * IPI of its own in between would change the destination. */
void lapic_send_ipi(uint32_t apic_id, uint32_t command)
{
    if (!lapic)
        return;
    uint64_t flags = read_rflags();
    __asm__ volatile("cli" ::: "memory");
    while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
        cpu_relax();
    lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, command | ICR_ASSERT);
    while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
        cpu_relax();
    if (flags & RFLAGS_IF)
        __asm__ volatile("sti" ::: "memory");
}

uint32_t lapic_id(void)
{
    return lapic ? lapic_read(LAPIC_ID) >> 24 : 0;
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

/* The timer's rate is measured over the TSC calibration itself: the count starts before it and
 * is read after it, with the elapsed time from the freshly calibrated clock, so the timer
 * costs no wait of its own. */
void lapic_timer_count_start(void)
{
    lapic_write(LAPIC_TIMER_DIVIDE, 0x3); /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_INITIAL, 0xffffffff);
}

void lapic_timer_count_finish(uint64_t elapsed_ns)
{
    uint32_t elapsed_ticks = 0xffffffff - lapic_read(LAPIC_TIMER_CURRENT);
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    timer_ticks_per_second = elapsed_ns ? elapsed_ticks * NSEC_PER_SEC / elapsed_ns : 0;
}

void lapic_timer_start(uint32_t hz)
{
    uint64_t count = timer_ticks_per_second / hz;
    if (count == 0)
        count = 1000000;
    lapic_write(LAPIC_TIMER_DIVIDE, 0x3);
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_PERIODIC);
    lapic_write(LAPIC_TIMER_INITIAL, (uint32_t)MIN(count, 0xffffffffULL));
}
