/* The GICv3 ITS (its.c), for gic.c. */
#ifndef ARCH_AARCH64_ITS_H
#define ARCH_AARCH64_ITS_H

#include <rayos/irq.h>
#include <rayos/types.h>

void its_init(void);
void its_init_cpu(void);
void its_release(unsigned lpi);
/* irq_alloc_msi through the ITS (-ENODEV without one). */
int its_alloc_msi(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                  unsigned cpu, struct msi_message *message);

/* gic.c: a CPU's redistributor, mapped and physical. */
volatile uint8_t *gic_redistributor(unsigned cpu);
phys_addr_t gic_redistributor_phys(unsigned cpu);

#endif
