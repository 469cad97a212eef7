/* Interrupts for drivers: wired lines named by an interrupt specifier (a platform device's IRQ
 * resource, a PCI function's INTx) and MSI/MSI-X vectors. */
#ifndef RAYOS_IRQ_H
#define RAYOS_IRQ_H

#include <rayos/types.h>

typedef void (*irq_handler_t)(void *context);

/* How a line signals: PCI INTx is level-triggered active-low, ISA IRQs edge-triggered
 * active-high, and firmware (the MADT's overrides, a device tree's interrupt cells) may say
 * anything else. */
enum irq_trigger { IRQ_EDGE_HIGH, IRQ_LEVEL_LOW, IRQ_LEVEL_HIGH, IRQ_EDGE_LOW };

/* A generic interrupt specifier: an input line of the system interrupt controller and how it
 * signals.  The line is the controller's own number: on x86 a global system interrupt (GSI,
 * the IOAPIC inputs; ISA IRQs are translated to GSIs where they are known, see
 * acpi_isa_irq_spec()), on arm the GIC interrupt ID (INTID; SPI n is 32 + n).  Device
 * resources carry specifiers (device_irq_spec() in <rayos/device.h>). */
struct irq_spec {
    uint32_t line;
    enum irq_trigger trigger;
};

/* Claims the line a specifier names.  Lines may be shared: every handler on a line is called
 * (the first claim sets the trigger).  Returns an irq handle >= 0 or a negative error: -EINVAL
 * for a line the controller does not have, -ENOSPC when out of vectors. */
int irq_claim(const struct irq_spec *spec, irq_handler_t handler, void *context, const char *name);

/* An MSI message: what the device writes where to raise the vector. */
struct msi_message {
    uint64_t address;
    uint32_t data;
};
/* Allocates a vector for MSI or one MSI-X table entry, delivered to CPU `cpu` (the boot CPU
 * when that one is not online); fills *message for the device.  device_id names the writer as
 * the interrupt controller sees it (PCI: the requester ID, bus << 8 | slot << 3 | function):
 * a GICv3 ITS translates (device, event) pairs; the x86 local APIC ignores it. */
int irq_alloc_msi(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                  unsigned cpu, struct msi_message *message);

void irq_release(int irq);

/* Counts, for the shell and tests. */
uint64_t irq_count(int irq);

/* Interrupt enable state of the current CPU. */
void irq_disable(void);
void irq_enable(void);
bool irq_enabled(void);

/* Sleeps until the next interrupt.  Called with interrupts disabled after checking a condition,
 * it enables them and halts atomically, so a wake-up cannot be missed:
 *     irq_disable(); while (!done) cpu_wait_for_interrupt(); irq_enable();
 * It returns with the interrupt state it was called with. */
void cpu_wait_for_interrupt(void);

/* Ticks of the periodic timer since boot. */
uint64_t timer_ticks(void);

#endif
