/* The interrupt controller's two generations behind one table (gic.c holds what they share:
 * the handler table, claiming, the interrupt entry loop).  gic_v3.c drives a GICv3 (system-
 * register CPU interface, redistributors, MSIs through the ITS), gic_v2.c a GICv2 (memory-mapped
 * CPU interface, banked private interrupts, MSIs through a GICv2m frame), which is what QEMU's
 * virt machine has unless told gic-version=3. */
#ifndef ARCH_AARCH64_GIC_H
#define ARCH_AARCH64_GIC_H

#include <rayos/irq.h>
#include <rayos/types.h>

/* Distributor registers both generations share. */
#define GICD_CTLR      0x0000
#define GICD_TYPER     0x0004
#define GICD_IGROUPR   0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ICPENDR   0x0280
#define GICD_IPRIORITY 0x0400
#define GICD_ICFGR     0x0c00

#define GIC_PRIORITY       0xa0
#define GIC_INTID_SPURIOUS 1020

struct gic_ops {
    /* The distributor, the boot CPU's interface and the MSI provider; returns the number of
     * interrupt IDs the distributor implements (SPIs end there). */
    unsigned (*init)(void);
    void (*init_cpu)(void);                   /* this CPU's private interrupts and interface */
    uint32_t (*acknowledge)(unsigned *intid); /* returns what end() takes back */
    void (*end)(uint32_t acknowledged);
    void (*send_sgi)(unsigned cpu, unsigned sgi);
    void (*enable_ppi)(unsigned intid);                              /* on the calling CPU */
    void (*configure_spi)(unsigned intid, enum irq_trigger trigger); /* routed to CPU 0, on */
    void (*disable_spi)(unsigned intid);
    /* As irq_alloc_msi; release_msi undoes it once the vector's last handler is gone. */
    int (*alloc_msi)(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                     unsigned cpu, struct msi_message *message);
    void (*release_msi)(unsigned intid);
};

extern const struct gic_ops gic_v2_ops, gic_v3_ops;

/* gic.c's lock, for the distributor's read-modify-write registers. */
extern struct spinlock gic_lock;

/* An SPI's trigger in GICD_ICFGR (the same two bits per interrupt in both generations). */
void gic_set_trigger(volatile uint8_t *dist, unsigned intid, bool edge);

#endif
