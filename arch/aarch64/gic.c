/* GICv3 (Arm GIC architecture specification v3/v4): the distributor routes shared peripheral
 * interrupts (SPIs, INTID 32-1019), each CPU's redistributor its private ones (SGIs 0-15 for
 * inter-processor calls, PPIs 16-31 such as the timer), and the CPU interface is reached
 * through system registers.  Everything is Group 1 (IRQ at EL1), one priority, EOImode 0 (the
 * end-of-interrupt write both drops priority and deactivates). */
#define pr_fmt(fmt) "gic: " fmt
#include <rayos/arch.h>
#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/irq_action.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/timer.h>
#include "aarch64.h"
#include "its.h"
#include "machine.h"

#define GICD_CTLR      0x0000
#define GICD_TYPER     0x0004
#define GICD_IGROUPR   0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ICPENDR   0x0280
#define GICD_IPRIORITY 0x0400
#define GICD_ICFGR     0x0c00
#define GICD_IROUTER   0x6000
#define CTLR_RWP       (1u << 31)
#define CTLR_ARE       (1u << 4)
#define CTLR_GRP1      (1u << 1)
#define CTLR_GRP0      (1u << 0)

#define GICR_TYPER    0x0008
#define GICR_WAKER    0x0014
#define GICR_SGI_BASE 0x10000
#define WAKER_SLEEP   (1u << 1)
#define WAKER_ASLEEP  (1u << 2)

#define PRIORITY       0xa0
#define INTID_SPURIOUS 1020

/* CPU interface registers by encoding (older assemblers lack the names). */
#define ICC_IAR1_EL1    "s3_0_c12_c12_0"
#define ICC_EOIR1_EL1   "s3_0_c12_c12_1"
#define ICC_SGI1R_EL1   "s3_0_c12_c11_5"
#define ICC_PMR_EL1     "s3_0_c4_c6_0"
#define ICC_BPR1_EL1    "s3_0_c12_c12_3"
#define ICC_CTLR_EL1    "s3_0_c12_c12_4"
#define ICC_SRE_EL1     "s3_0_c12_c12_5"
#define ICC_IGRPEN1_EL1 "s3_0_c12_c12_7"
#define ICC_READ(reg)                                                                              \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("mrs %0, " reg : "=r"(v_));                                               \
        v_;                                                                                        \
    })
#define ICC_WRITE(reg, v) __asm__ volatile("msr " reg ", %0" : : "r"((uint64_t)(v)) : "memory")

static volatile uint8_t *dist;
static volatile uint8_t *redist_region;
static uint64_t redist_size;
static unsigned spi_limit; /* one past the highest INTID the distributor implements */
static volatile uint8_t *redist_of[CPUS_MAX];
static struct spinlock gic_lock = SPINLOCK_INIT("gic");

static void dist_wait(void)
{
    for (unsigned i = 0; i < 1000000 && (mmio_read32(dist + GICD_CTLR) & CTLR_RWP); i++)
        cpu_relax();
}

/* The redistributor whose GICR_TYPER affinity matches this CPU's MPIDR. */
static volatile uint8_t *find_redistributor(uint64_t mpidr)
{
    uint64_t want = ((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xffffff);
    for (uint64_t off = 0; off + 2 * 0x10000 <= redist_size;) {
        volatile uint8_t *r = redist_region + off;
        uint64_t typer = mmio_read64(r + GICR_TYPER);
        if ((typer >> 32) == want)
            return r;
        if (typer & (1u << 4)) /* Last */
            break;
        off += (typer & (1u << 1)) ? 4 * 0x10000 : 2 * 0x10000; /* VLPIS: two more frames */
    }
    return NULL;
}

void gic_init(void)
{
    dist = map_phys(machine.gicd, 0x10000, MAP_UNCACHED);
    redist_size = machine.gicr_size;
    redist_region = map_phys(machine.gicr, redist_size, MAP_UNCACHED);
    if (!dist || !redist_region)
        panic("gic: cannot map the distributor or redistributors");
    spi_limit = MIN(32 * ((mmio_read32(dist + GICD_TYPER) & 0x1f) + 1), 1020u);
    mmio_write32(dist + GICD_CTLR, 0);
    dist_wait();
    for (unsigned i = 32; i < spi_limit; i += 32) {
        mmio_write32(dist + GICD_ICENABLER + i / 8, 0xffffffff);
        mmio_write32(dist + GICD_ICPENDR + i / 8, 0xffffffff);
        mmio_write32(dist + GICD_IGROUPR + i / 8, 0xffffffff);
    }
    for (unsigned i = 32; i < spi_limit; i += 4)
        mmio_write32(dist + GICD_IPRIORITY + i, PRIORITY * 0x01010101u);
    dist_wait();
    mmio_write32(dist + GICD_CTLR, CTLR_ARE | CTLR_GRP1 | CTLR_GRP0);
    dist_wait();
    gic_init_cpu();
    its_init();
    pr_info("GICv3: distributor at 0x%llx, %u interrupt lines", (unsigned long long)machine.gicd,
            spi_limit);
}

/* This CPU's redistributor (woken, SGIs and PPIs in group 1) and CPU interface. */
void gic_init_cpu(void)
{
    struct cpu *c = this_cpu();
    volatile uint8_t *r = find_redistributor(read_sysreg(mpidr_el1));
    if (!r)
        panic("gic: no redistributor for CPU %u (MPIDR 0x%llx)", c->id,
              (unsigned long long)read_sysreg(mpidr_el1));
    redist_of[c->id] = r;
    mmio_write32(r + GICR_WAKER, mmio_read32(r + GICR_WAKER) & ~WAKER_SLEEP);
    for (unsigned i = 0; i < 1000000 && (mmio_read32(r + GICR_WAKER) & WAKER_ASLEEP); i++)
        cpu_relax();
    volatile uint8_t *sgi = r + GICR_SGI_BASE;
    mmio_write32(sgi + GICD_ICENABLER, 0xffffffff);
    mmio_write32(sgi + GICD_IGROUPR, 0xffffffff);
    for (unsigned i = 0; i < 32; i += 4)
        mmio_write32(sgi + GICD_IPRIORITY + i, PRIORITY * 0x01010101u);
    mmio_write32(sgi + GICD_ISENABLER, 0xffff); /* SGIs */
    ICC_WRITE(ICC_SRE_EL1, ICC_READ(ICC_SRE_EL1) | 7);
    isb();
    ICC_WRITE(ICC_PMR_EL1, 0xff);
    ICC_WRITE(ICC_BPR1_EL1, 0);
    ICC_WRITE(ICC_CTLR_EL1, 0);
    ICC_WRITE(ICC_IGRPEN1_EL1, 1);
    isb();
    if (c->id != 0)
        its_init_cpu(); /* the boot CPU's comes with its_init */
}

volatile uint8_t *gic_redistributor(unsigned cpu)
{
    return redist_of[cpu];
}

phys_addr_t gic_redistributor_phys(unsigned cpu)
{
    return machine.gicr + (uint64_t)(redist_of[cpu] - redist_region);
}

void gic_enable_ppi(unsigned intid)
{
    volatile uint8_t *sgi = redist_of[cpu_id()] + GICR_SGI_BASE;
    mmio_write32(sgi + GICD_ISENABLER, 1u << intid);
}

void gic_send_sgi(unsigned cpu, unsigned sgi)
{
    uint64_t mpidr = hw_id_to_mpidr(cpus[cpu].hw_id);
    uint64_t aff0 = mpidr & 0xff;
    uint64_t value = ((mpidr >> 32) & 0xff) << 48 | ((mpidr >> 16) & 0xff) << 32 |
                     (uint64_t)sgi << 24 | ((mpidr >> 8) & 0xff) << 16 | (aff0 >> 4) << 44 |
                     (1u << (aff0 & 15));
    __asm__ volatile("dsb ishst" ::: "memory"); /* the call queue is visible before the SGI */
    ICC_WRITE(ICC_SGI1R_EL1, value);
    isb();
}

static void configure_spi(unsigned intid, enum irq_trigger trigger)
{
    unsigned shift = (intid % 16) * 2;
    uint32_t cfg = mmio_read32(dist + GICD_ICFGR + intid / 16 * 4);
    bool edge = trigger == IRQ_EDGE_HIGH || trigger == IRQ_EDGE_LOW;
    cfg = (cfg & ~(2u << shift)) | (edge ? 2u << shift : 0);
    mmio_write32(dist + GICD_ICFGR + intid / 16 * 4, cfg);
    mmio_write64(dist + GICD_IROUTER + intid * 8, hw_id_to_mpidr(cpus[0].hw_id));
    mmio_write32(dist + GICD_ISENABLER + intid / 32 * 4, 1u << (intid % 32));
}

int irq_claim(const struct irq_spec *spec, irq_handler_t handler, void *context, const char *name)
{
    unsigned intid = spec->line;
    if (intid < 32 || intid >= spi_limit)
        return -EINVAL; /* private interrupts belong to the architecture code */
    irqflags_t flags = spin_lock_irqsave(&gic_lock);
    bool fresh = !irq_action_source_used(intid);
    int handle = irq_action_add(intid, handler, context, name);
    if (handle >= 0 && fresh)
        configure_spi(intid, spec->trigger);
    spin_unlock_irqrestore(&gic_lock, flags);
    return handle;
}

void irq_release(int irq)
{
    if (!irq_action_valid(irq))
        return;
    irqflags_t flags = spin_lock_irqsave(&gic_lock);
    unsigned intid;
    bool last = irq_action_remove(irq, &intid);
    if (last && intid >= 32 && intid < spi_limit)
        mmio_write32(dist + GICD_ICENABLER + intid / 32 * 4, 1u << (intid % 32));
    spin_unlock_irqrestore(&gic_lock, flags);
    irq_action_wait(irq);
    if (last)
        its_release(intid);
}

uint64_t irq_count(int irq)
{
    return irq_action_count(irq);
}

void gic_handle_irq(struct exception_frame *frame)
{
    struct cpu *c = this_cpu();
    c->irq_depth++;
    c->interrupts++;
    for (;;) {
        unsigned intid = (unsigned)ICC_READ(ICC_IAR1_EL1) & 0xffffff;
        if (intid >= INTID_SPURIOUS && intid <= 1023)
            break;
        switch (intid) {
        case SGI_RESCHEDULE: /* need_resched is already set: the exit path below switches */
            ICC_WRITE(ICC_EOIR1_EL1, intid);
            break;
        case SGI_CALL_FUNCTION:
            ICC_WRITE(ICC_EOIR1_EL1, intid);
            smp_handle_call_function();
            break;
        case SGI_STOP:
            arch_halt();
        default:
            if (intid == machine.timer_intid)
                time_handle_tick();
            else
                irq_action_run(intid);
            ICC_WRITE(ICC_EOIR1_EL1, intid);
            break;
        }
    }
    c->irq_depth--;
    sched_interrupt_exit(!(frame->spsr & DAIF_IRQ));
}

void irq_disable(void)
{
    __asm__ volatile("msr daifset, #2" ::: "memory");
}

void irq_enable(void)
{
    __asm__ volatile("msr daifclr, #2" ::: "memory");
}

bool irq_enabled(void)
{
    return !(read_sysreg(daif) & DAIF_IRQ);
}

/* WFI wakes on a pending interrupt even while IRQs are masked, so checking a condition with
 * interrupts off and then waiting here cannot miss the wake-up; the interrupt is then taken
 * in the short unmasked window. */
void cpu_wait_for_interrupt(void)
{
    bool was_enabled = irq_enabled();
    __asm__ volatile("dsb sy; wfi; msr daifclr, #2; isb" ::: "memory");
    if (!was_enabled)
        __asm__ volatile("msr daifset, #2" ::: "memory");
}
