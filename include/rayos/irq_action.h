/* The table of interrupt handlers, shared by every architecture's interrupt code: handlers are
 * kept per "source" (an x86 vector, a GIC INTID), several may share one source (level-triggered
 * lines are shared), and releasing one waits until no CPU is still running it. */
#ifndef RAYOS_IRQ_ACTION_H
#define RAYOS_IRQ_ACTION_H

#include <rayos/irq.h>

/* Adds a handler for source; returns the irq handle (>= 0) or -ENOSPC. */
int irq_action_add(unsigned source, irq_handler_t handler, void *context, const char *name);
/* Runs every handler of source (interrupt context); returns how many ran. */
unsigned irq_action_run(unsigned source);
/* Removes handle, returning its source in *source; true if the source has no handler left
 * (the caller then masks it).  Call irq_action_wait(handle) after dropping the caller's locks. */
bool irq_action_remove(int handle, unsigned *source);
bool irq_action_valid(int handle);
bool irq_action_source_used(unsigned source);
/* Waits until no CPU runs handle's handler (not from interrupt context: returns at once). */
void irq_action_wait(int handle);
uint64_t irq_action_count(int handle);

#endif
