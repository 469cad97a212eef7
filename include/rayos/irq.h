/* Interrupts for drivers: legacy lines (ISA IRQs and PCI INTx GSIs) and MSI/MSI-X vectors. */
#ifndef RAYOS_IRQ_H
#define RAYOS_IRQ_H

#include <rayos/types.h>

typedef void (*irq_handler_t)(void *context);

/* How a line signals: PCI INTx is level-triggered active-low, ISA IRQs edge-triggered
 * active-high, and the MADT's overrides may say anything else. */
enum irq_trigger { IRQ_EDGE_HIGH, IRQ_LEVEL_LOW, IRQ_LEVEL_HIGH, IRQ_EDGE_LOW };

/* Claims global system interrupt gsi (an ISA IRQ number is translated through the MADT's
 * overrides by irq_claim_isa).  Lines may be shared: every handler on a line is called.
 * Returns an irq handle >= 0 or a negative error. */
int irq_claim_isa(unsigned isa_irq, irq_handler_t handler, void *context, const char *name);
int irq_claim_gsi(unsigned gsi, enum irq_trigger trigger, irq_handler_t handler, void *context,
                  const char *name);

/* A line of the system interrupt controller (x86: a GSI; arm: a GIC INTID) and its trigger. */
struct irq_spec {
    uint32_t line;
    enum irq_trigger trigger;
};
int irq_claim(const struct irq_spec *spec, irq_handler_t handler, void *context, const char *name);

/* An MSI message: what the device writes where to raise the vector. */
struct msi_message {
    uint64_t address;
    uint32_t data;
};
/* Allocates a vector for MSI or one MSI-X table entry, delivered to CPU `cpu` (the boot CPU
 * when that one is not online); fills *message for the device. */
int irq_alloc_msi(irq_handler_t handler, void *context, const char *name, unsigned cpu,
                  struct msi_message *message);

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
