/* Interrupt routing and dispatch.  Vectors 0-31 are CPU exceptions, 32-47 the 8259 range (used
 * only in fallback mode), 48-239 are handed out to IOAPIC lines and MSIs, 0xf0 is the local APIC
 * timer and 0xff the spurious vector. */
#define pr_fmt(fmt) "irq: " fmt
#include <rayos/acpi.h>
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
#include "x86.h"

#define VECTOR_PIC_BASE 32
#define VECTOR_FIRST    48
#define VECTOR_LAST     0xef
#define VECTOR_TIMER    0xf0
#define VECTOR_SPURIOUS 0xff
#define GSI_NONE        0xffffffffu

struct vector_state {
    bool allocated;
    uint32_t gsi; /* GSI_NONE for MSI vectors */
};

static struct vector_state vectors[256];
static bool use_ioapic;
static struct spinlock irq_lock = SPINLOCK_INIT("irq");

void interrupt_entry(struct interrupt_frame *frame);

volatile bool x86_cpus_stopping; /* set by a panicking CPU before it sends NMIs */

/* The handlers of a vector (the shared table of <rayos/irq_action.h>, keyed by vector). */
static void run_actions(unsigned vector)
{
    irq_action_run(vector);
    if (use_ioapic || vector >= VECTOR_FIRST)
        lapic_eoi();
    else
        pic_eoi(vector - VECTOR_PIC_BASE);
}

void interrupt_entry(struct interrupt_frame *frame)
{
    unsigned vector = (unsigned)frame->vector;
    if (vector == 2 && x86_cpus_stopping)
        arch_halt(); /* another CPU panicked and parks this one */
    if (vector < 32) {
        exception_dispatch(frame);
        return;
    }
    if (vector == VECTOR_SPURIOUS)
        return;
    struct cpu *c = this_cpu();
    c->irq_depth++;
    c->interrupts++;
    switch (vector) {
    case VECTOR_TIMER:
        timer_tick();
        sched_tick();
        timer_run_due();
        lapic_eoi();
        break;
    case VECTOR_RESCHEDULE: /* need_resched is already set: the exit path below switches */
        lapic_eoi();
        break;
    case VECTOR_CALL_FUNCTION:
        lapic_eoi();
        smp_handle_call_function();
        break;
    default:
        run_actions(vector);
        break;
    }
    c->irq_depth--;
    sched_interrupt_exit(frame->rflags & RFLAGS_IF);
}

void irq_init(void)
{
    const struct acpi_madt_info *madt = acpi_madt();
    pic_disable();
    if (madt)
        lapic_init(madt->lapic_address);
    if (lapic_present() && ioapic_init()) {
        use_ioapic = true;
        pr_info("using LAPIC + IOAPIC (%u CPU%s in MADT)", madt->cpu_count,
                madt->cpu_count == 1 ? "" : "s");
    } else {
        pic_init_legacy();
        pr_warn("no usable MADT/IOAPIC: falling back to the 8259 PIC");
    }
}

static int allocate_vector(void)
{
    for (unsigned v = VECTOR_FIRST; v <= VECTOR_LAST; v++) {
        if (!vectors[v].allocated) {
            vectors[v].allocated = true;
            vectors[v].gsi = GSI_NONE;
            return (int)v;
        }
    }
    return -ENOSPC;
}

/* Without the IOAPIC the 8259 pins are the ISA IRQs: a GSI the MADT moved an ISA IRQ to
 * (ISA 0, the PIT, to GSI 2 on QEMU) goes back to that IRQ's pin. */
static unsigned pic_pin_of_gsi(unsigned gsi)
{
    const struct acpi_madt_info *madt = acpi_madt();
    for (unsigned i = 0; madt && i < madt->override_count; i++)
        if (madt->overrides[i].gsi == gsi)
            return madt->overrides[i].isa_irq;
    return gsi;
}

static int claim_pic_pin(unsigned gsi, irq_handler_t handler, void *context, const char *name)
{
    unsigned pin = pic_pin_of_gsi(gsi);
    if (pin >= 16 || pin == 2) /* 2 is the cascade from the second 8259 */
        return -EINVAL;
    int result = irq_action_add(VECTOR_PIC_BASE + pin, handler, context, name);
    if (result >= 0)
        pic_mask(pin, false);
    return result;
}

int irq_claim(const struct irq_spec *spec, irq_handler_t handler, void *context, const char *name)
{
    unsigned gsi = spec->line;
    enum irq_trigger trigger = spec->trigger;
    irqflags_t flags = spin_lock_irqsave(&irq_lock);
    int result;
    if (!use_ioapic) {
        result = claim_pic_pin(gsi, handler, context, name);
        spin_unlock_irqrestore(&irq_lock, flags);
        return result;
    }
    int vector = -1;
    for (unsigned v = VECTOR_FIRST; v <= VECTOR_LAST; v++)
        if (vectors[v].allocated && vectors[v].gsi == gsi)
            vector = (int)v;
    bool fresh = vector < 0;
    if (fresh) {
        vector = allocate_vector();
        if (vector >= 0)
            vectors[vector].gsi = gsi;
    }
    result = vector < 0 ? vector : irq_action_add((unsigned)vector, handler, context, name);
    if (result >= 0 && fresh &&
        !ioapic_route(gsi, (uint8_t)vector, trigger == IRQ_LEVEL_LOW || trigger == IRQ_LEVEL_HIGH,
                      trigger == IRQ_LEVEL_LOW || trigger == IRQ_EDGE_LOW)) {
        unsigned source;
        irq_action_remove(result, &source);
        result = -EINVAL;
    }
    if (result < 0 && fresh && vector >= 0)
        vectors[vector].allocated = false;
    spin_unlock_irqrestore(&irq_lock, flags);
    return result;
}

int irq_alloc_msi(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                  unsigned cpu, struct msi_message *message)
{
    if (!lapic_present())
        return -ENODEV;
    irqflags_t flags = spin_lock_irqsave(&irq_lock);
    int vector = allocate_vector();
    int result = vector < 0 ? vector : irq_action_add((unsigned)vector, handler, context, name);
    if (result < 0 && vector >= 0)
        vectors[vector].allocated = false;
    spin_unlock_irqrestore(&irq_lock, flags);
    if (result >= 0) {
        /* Physical destination mode: the target's local APIC id in address bits 12-19. */
        if (cpu >= CPUS_MAX || !cpu_is_online(cpu))
            cpu = 0;
        message->address = 0xfee00000ULL | (uint64_t)cpus[cpu].hw_id << 12;
        message->data = (uint32_t)vector; /* fixed delivery, edge */
    }
    return result;
}

void irq_release(int irq)
{
    if (!irq_action_valid(irq))
        return;
    irqflags_t flags = spin_lock_irqsave(&irq_lock);
    unsigned vector;
    if (irq_action_remove(irq, &vector)) {
        if (vector >= VECTOR_FIRST) {
            if (vectors[vector].gsi != GSI_NONE)
                ioapic_mask(vectors[vector].gsi, true);
            vectors[vector].allocated = false;
        } else {
            pic_mask(vector - VECTOR_PIC_BASE, true);
        }
    }
    spin_unlock_irqrestore(&irq_lock, flags);
    irq_action_wait(irq); /* no CPU is in the handler once this returns */
}

uint64_t irq_count(int irq)
{
    return irq_action_count(irq);
}

void irq_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}

void irq_enable(void)
{
    __asm__ volatile("sti" ::: "memory");
}

bool irq_enabled(void)
{
    return read_rflags() & RFLAGS_IF;
}

void cpu_wait_for_interrupt(void)
{
    bool was_enabled = irq_enabled();
    __asm__ volatile("sti; hlt" ::: "memory");
    if (!was_enabled)
        __asm__ volatile("cli" ::: "memory");
}
