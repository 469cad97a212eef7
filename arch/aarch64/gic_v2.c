/* GICv2 (Arm GIC architecture specification v2), QEMU virt's default interrupt controller: the
 * distributor routes SPIs to CPU interfaces by an 8-bit target mask per interrupt, its
 * registers for INTIDs 0-31 (SGIs and PPIs) are banked per CPU, and each CPU acknowledges and
 * ends interrupts through its memory-mapped CPU interface.  No security extensions are used:
 * everything stays in group 0, signalled as IRQ.  MSIs come from a GICv2m frame (Arm's "GICv2m"
 * extension): a device writes an SPI number to MSI_SETSPI_NS and that SPI fires, edge-triggered.
 * At most 8 CPUs, as the target masks allow. */
#define pr_fmt(fmt) "gic: " fmt
#include <rayos/arch.h>
#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/irq_action.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include "aarch64.h"
#include "gic.h"
#include "machine.h"

#define GICD_ITARGETSR 0x0800
#define GICD_SGIR      0x0f00
#define GICC_CTLR      0x0000
#define GICC_PMR       0x0004
#define GICC_BPR       0x0008
#define GICC_IAR       0x000c
#define GICC_EOIR      0x0010
#define CTLR_ENABLE    1u

#define V2M_MSI_TYPER  0x0008
#define V2M_MSI_SETSPI 0x0040
#define V2M_SPIS_MAX   1024

static volatile uint8_t *dist, *cpu_interface;
static unsigned lines;
static uint8_t target_mask[CPUS_MAX]; /* each CPU's bit in the target masks and SGIR */

static struct {
    volatile uint8_t *frame;
    unsigned first, count; /* the SPIs the frame can fire */
    uint64_t used[V2M_SPIS_MAX / 64];
} v2m;

static void v2_init_cpu(void);

static void route_spi(unsigned intid, unsigned cpu)
{
    mmio_write8(dist + GICD_ITARGETSR + intid, target_mask[cpu]);
}

/* The frame's SPIs must lie inside the distributor's; a frame claiming others is ignored. */
static void v2m_init(void)
{
    if (!machine.gic_v2m)
        return;
    volatile uint8_t *frame = map_phys(machine.gic_v2m, 0x1000, MAP_UNCACHED);
    if (!frame)
        return;
    uint32_t typer = mmio_read32(frame + V2M_MSI_TYPER);
    unsigned first = (typer >> 16) & 0x3ff, count = typer & 0x3ff;
    if (first < 32 || count == 0 || first + count > lines) {
        pr_warn("GICv2m frame at 0x%llx offers SPIs %u-%u outside the distributor's 32-%u; "
                "no MSIs",
                (unsigned long long)machine.gic_v2m, first, first + count - 1, lines - 1);
        return;
    }
    v2m.frame = frame;
    v2m.first = first;
    v2m.count = count;
}

static unsigned v2_init(void)
{
    dist = map_phys(machine.gicd, 0x1000, MAP_UNCACHED);
    cpu_interface = map_phys(machine.gicc, 0x2000, MAP_UNCACHED);
    if (!dist || !cpu_interface)
        panic("gic: cannot map the distributor or the CPU interface");
    lines = MIN(32 * ((mmio_read32(dist + GICD_TYPER) & 0x1f) + 1), 1020u);
    mmio_write32(dist + GICD_CTLR, 0);
    for (unsigned i = 32; i < lines; i += 32) {
        mmio_write32(dist + GICD_ICENABLER + i / 8, 0xffffffff);
        mmio_write32(dist + GICD_ICPENDR + i / 8, 0xffffffff);
    }
    for (unsigned i = 32; i < lines; i += 4)
        mmio_write32(dist + GICD_IPRIORITY + i, GIC_PRIORITY * 0x01010101u);
    mmio_write32(dist + GICD_CTLR, CTLR_ENABLE);
    v2_init_cpu();
    v2m_init();
    if (v2m.frame)
        pr_info("GICv2: distributor at 0x%llx, %u interrupt lines, MSIs through the GICv2m frame "
                "at 0x%llx (SPIs %u-%u)",
                (unsigned long long)machine.gicd, lines, (unsigned long long)machine.gic_v2m,
                v2m.first, v2m.first + v2m.count - 1);
    else
        pr_info("GICv2: distributor at 0x%llx, %u interrupt lines, no MSI frame",
                (unsigned long long)machine.gicd, lines);
    return lines;
}

/* The banked target registers of SGIs read back this CPU's own mask; a uniprocessor GIC reads
 * zero there and has only interface 0. */
static uint8_t own_target_mask(void)
{
    for (unsigned i = 0; i < 32; i += 4) {
        uint32_t targets = mmio_read32(dist + GICD_ITARGETSR + i);
        targets |= targets >> 16;
        targets |= targets >> 8;
        if (targets & 0xff)
            return (uint8_t)targets;
    }
    return 1;
}

static void v2_init_cpu(void)
{
    struct cpu *c = this_cpu();
    target_mask[c->id] = own_target_mask();
    mmio_write32(dist + GICD_ICENABLER, 0xffffffff); /* this CPU's SGIs and PPIs */
    for (unsigned i = 0; i < 32; i += 4)
        mmio_write32(dist + GICD_IPRIORITY + i, GIC_PRIORITY * 0x01010101u);
    mmio_write32(dist + GICD_ISENABLER, 0xffff); /* SGIs */
    mmio_write32(cpu_interface + GICC_PMR, 0xff);
    mmio_write32(cpu_interface + GICC_BPR, 0);
    mmio_write32(cpu_interface + GICC_CTLR, CTLR_ENABLE);
}

static uint32_t v2_acknowledge(unsigned *intid)
{
    uint32_t iar = mmio_read32(cpu_interface + GICC_IAR);
    *intid = iar & 0x3ff;
    return iar; /* an SGI's end needs the source CPU bits too */
}

static void v2_end(uint32_t acknowledged)
{
    mmio_write32(cpu_interface + GICC_EOIR, acknowledged);
}

static void v2_send_sgi(unsigned cpu, unsigned sgi)
{
    __asm__ volatile("dsb ishst" ::: "memory"); /* the call queue is visible before the SGI */
    mmio_write32(dist + GICD_SGIR, (uint32_t)target_mask[cpu] << 16 | sgi);
}

static void v2_enable_ppi(unsigned intid)
{
    mmio_write32(dist + GICD_ISENABLER, 1u << intid); /* banked: the calling CPU's */
}

static void v2_configure_spi(unsigned intid, enum irq_trigger trigger)
{
    gic_set_trigger(dist, intid, trigger == IRQ_EDGE_HIGH || trigger == IRQ_EDGE_LOW);
    route_spi(intid, 0);
    mmio_write32(dist + GICD_ISENABLER + intid / 32 * 4, 1u << (intid % 32));
}

static void v2_disable_spi(unsigned intid)
{
    mmio_write32(dist + GICD_ICENABLER + intid / 32 * 4, 1u << (intid % 32));
}

/* One of the frame's SPIs, edge-triggered and routed to the CPU asked for; the message makes
 * the device write that SPI's number to the frame. */
static int v2m_alloc_msi(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                         unsigned cpu, struct msi_message *message)
{
    if (!v2m.frame)
        return -ENODEV;
    if (cpu >= CPUS_MAX || !cpu_is_online(cpu))
        cpu = 0;
    irqflags_t flags = spin_lock_irqsave(&gic_lock);
    int handle = -ENOSPC;
    for (unsigned i = 0; i < v2m.count; i++) {
        if (v2m.used[i / 64] & (1ULL << (i % 64)))
            continue;
        unsigned intid = v2m.first + i;
        handle = irq_action_add(intid, handler, context, name);
        if (handle < 0)
            break;
        v2m.used[i / 64] |= 1ULL << (i % 64);
        gic_set_trigger(dist, intid, true);
        route_spi(intid, cpu);
        mmio_write32(dist + GICD_ISENABLER + intid / 32 * 4, 1u << (intid % 32));
        message->address = machine.gic_v2m + V2M_MSI_SETSPI;
        message->data = intid;
        break;
    }
    spin_unlock_irqrestore(&gic_lock, flags);
    if (handle == -ENOSPC)
        pr_warn("no MSI for device %#x: all %u GICv2m SPIs in use", device_id, v2m.count);
    return handle;
}

static void v2m_release_msi(unsigned intid)
{
    if (!v2m.frame || intid < v2m.first || intid >= v2m.first + v2m.count)
        return;
    irqflags_t flags = spin_lock_irqsave(&gic_lock);
    unsigned i = intid - v2m.first;
    v2m.used[i / 64] &= ~(1ULL << (i % 64));
    spin_unlock_irqrestore(&gic_lock, flags);
}

const struct gic_ops gic_v2_ops = {
    .init = v2_init,
    .init_cpu = v2_init_cpu,
    .acknowledge = v2_acknowledge,
    .end = v2_end,
    .send_sgi = v2_send_sgi,
    .enable_ppi = v2_enable_ppi,
    .configure_spi = v2_configure_spi,
    .disable_spi = v2_disable_spi,
    .alloc_msi = v2m_alloc_msi,
    .release_msi = v2m_release_msi,
};
