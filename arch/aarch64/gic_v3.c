/* GICv3 (Arm GIC architecture specification v3/v4): the distributor routes shared peripheral
 * interrupts (SPIs, INTID 32-1019), each CPU's redistributor its private ones (SGIs 0-15 for
 * inter-processor calls, PPIs 16-31 such as the timer), and the CPU interface is reached
 * through system registers.  Everything is Group 1 (IRQ at EL1), one priority, EOImode 0 (the
 * end-of-interrupt write both drops priority and deactivates).  MSIs go through the ITS. */
#define pr_fmt(fmt) "gic: " fmt
#include <rayos/arch.h>
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include "aarch64.h"
#include "gic.h"
#include "its.h"
#include "machine.h"

#define GICD_IROUTER 0x6000
#define CTLR_RWP     (1u << 31)
#define CTLR_ARE     (1u << 4)
#define CTLR_GRP1    (1u << 1)
#define CTLR_GRP0    (1u << 0)

#define GICR_TYPER    0x0008
#define GICR_WAKER    0x0014
#define GICR_SGI_BASE 0x10000
#define WAKER_SLEEP   (1u << 1)
#define WAKER_ASLEEP  (1u << 2)

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
static volatile uint8_t *redist_of[CPUS_MAX];

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

static void v3_init_cpu(void);

static unsigned v3_init(void)
{
    dist = map_phys(machine.gicd, 0x10000, MAP_UNCACHED);
    redist_size = machine.gicr_size;
    redist_region = map_phys(machine.gicr, redist_size, MAP_UNCACHED);
    if (!dist || !redist_region)
        panic("gic: cannot map the distributor or redistributors");
    unsigned lines = MIN(32 * ((mmio_read32(dist + GICD_TYPER) & 0x1f) + 1), 1020u);
    mmio_write32(dist + GICD_CTLR, 0);
    dist_wait();
    for (unsigned i = 32; i < lines; i += 32) {
        mmio_write32(dist + GICD_ICENABLER + i / 8, 0xffffffff);
        mmio_write32(dist + GICD_ICPENDR + i / 8, 0xffffffff);
        mmio_write32(dist + GICD_IGROUPR + i / 8, 0xffffffff);
    }
    for (unsigned i = 32; i < lines; i += 4)
        mmio_write32(dist + GICD_IPRIORITY + i, GIC_PRIORITY * 0x01010101u);
    dist_wait();
    mmio_write32(dist + GICD_CTLR, CTLR_ARE | CTLR_GRP1 | CTLR_GRP0);
    dist_wait();
    v3_init_cpu();
    its_init();
    pr_info("GICv3: distributor at 0x%llx, %u interrupt lines", (unsigned long long)machine.gicd,
            lines);
    return lines;
}

/* This CPU's redistributor (woken, SGIs and PPIs in group 1) and CPU interface. */
static void v3_init_cpu(void)
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
        mmio_write32(sgi + GICD_IPRIORITY + i, GIC_PRIORITY * 0x01010101u);
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

static uint32_t v3_acknowledge(unsigned *intid)
{
    *intid = (unsigned)ICC_READ(ICC_IAR1_EL1) & 0xffffff;
    return *intid;
}

static void v3_end(uint32_t acknowledged)
{
    ICC_WRITE(ICC_EOIR1_EL1, acknowledged);
}

static void v3_enable_ppi(unsigned intid)
{
    volatile uint8_t *sgi = redist_of[cpu_id()] + GICR_SGI_BASE;
    mmio_write32(sgi + GICD_ISENABLER, 1u << intid);
}

static void v3_send_sgi(unsigned cpu, unsigned sgi)
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

static void v3_configure_spi(unsigned intid, enum irq_trigger trigger)
{
    gic_set_trigger(dist, intid, trigger == IRQ_EDGE_HIGH || trigger == IRQ_EDGE_LOW);
    mmio_write64(dist + GICD_IROUTER + intid * 8, hw_id_to_mpidr(cpus[0].hw_id));
    mmio_write32(dist + GICD_ISENABLER + intid / 32 * 4, 1u << (intid % 32));
}

static void v3_disable_spi(unsigned intid)
{
    mmio_write32(dist + GICD_ICENABLER + intid / 32 * 4, 1u << (intid % 32));
}

const struct gic_ops gic_v3_ops = {
    .init = v3_init,
    .init_cpu = v3_init_cpu,
    .acknowledge = v3_acknowledge,
    .end = v3_end,
    .send_sgi = v3_send_sgi,
    .enable_ppi = v3_enable_ppi,
    .configure_spi = v3_configure_spi,
    .disable_spi = v3_disable_spi,
    .alloc_msi = its_alloc_msi,
    .release_msi = its_release,
};
