/* What both GIC generations share (gic.h): the handler table behind irq_claim, the entry loop
 * that acknowledges and ends each interrupt, and the inter-processor SGIs' meanings.  The
 * generation is the device tree's (machine.c); its table does the register work. */
#define pr_fmt(fmt) "gic: " fmt
#include <rayos/arch.h>
#include <rayos/errno.h>
#include <rayos/irq.h>
#include <rayos/io.h>
#include <rayos/irq_action.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/timer.h>
#include "aarch64.h"
#include "gic.h"
#include "machine.h"

static const struct gic_ops *gic;
static unsigned spi_limit; /* one past the highest INTID the distributor implements */
struct spinlock gic_lock = SPINLOCK_INIT("gic");

void gic_set_trigger(volatile uint8_t *dist, unsigned intid, bool edge)
{
    unsigned shift = (intid % 16) * 2;
    uint32_t cfg = mmio_read32(dist + GICD_ICFGR + intid / 16 * 4);
    cfg = (cfg & ~(2u << shift)) | (edge ? 2u << shift : 0);
    mmio_write32(dist + GICD_ICFGR + intid / 16 * 4, cfg);
}

void gic_init(void)
{
    gic = machine.gic_version == 2 ? &gic_v2_ops : &gic_v3_ops;
    spi_limit = gic->init();
}

void gic_init_cpu(void)
{
    gic->init_cpu();
}

void gic_enable_ppi(unsigned intid)
{
    gic->enable_ppi(intid);
}

void gic_send_sgi(unsigned cpu, unsigned sgi)
{
    gic->send_sgi(cpu, sgi);
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
        gic->configure_spi(intid, spec->trigger);
    spin_unlock_irqrestore(&gic_lock, flags);
    return handle;
}

int irq_alloc_msi(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                  unsigned cpu, struct msi_message *message)
{
    return gic->alloc_msi(device_id, handler, context, name, cpu, message);
}

void irq_release(int irq)
{
    if (!irq_action_valid(irq))
        return;
    irqflags_t flags = spin_lock_irqsave(&gic_lock);
    unsigned intid;
    bool last = irq_action_remove(irq, &intid);
    if (last && intid >= 32 && intid < spi_limit)
        gic->disable_spi(intid);
    spin_unlock_irqrestore(&gic_lock, flags);
    irq_action_wait(irq);
    if (last)
        gic->release_msi(intid);
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
        unsigned intid;
        uint32_t acknowledged = gic->acknowledge(&intid);
        if (intid >= GIC_INTID_SPURIOUS && intid <= 1023)
            break;
        switch (intid) {
        case SGI_RESCHEDULE: /* need_resched is already set: the exit path below switches */
            gic->end(acknowledged);
            break;
        case SGI_CALL_FUNCTION:
            gic->end(acknowledged);
            smp_handle_call_function();
            break;
        case SGI_STOP:
            arch_halt();
        default:
            if (intid == machine.timer_intid)
                time_handle_tick();
            else
                irq_action_run(intid);
            gic->end(acknowledged);
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
