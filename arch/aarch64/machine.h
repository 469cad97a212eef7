/* What arch/aarch64 needs to know about the machine, read from the device tree at boot. */
#ifndef ARCH_AARCH64_MACHINE_H
#define ARCH_AARCH64_MACHINE_H

#include <rayos/types.h>

enum psci_conduit { PSCI_NONE, PSCI_HVC, PSCI_SMC };

#define MACHINE_CPUS_MAX 64

struct machine {
    unsigned gic_version;   /* 2 or 3 */
    phys_addr_t gicd, gicr; /* distributor; GICv3 redistributor region */
    uint64_t gicr_size;
    phys_addr_t gicc;     /* GICv2 CPU interface */
    phys_addr_t gic_its;  /* GICv3 ITS, 0: none */
    phys_addr_t gic_v2m;  /* GICv2m MSI frame, 0: none */
    unsigned timer_intid; /* the EL1 virtual timer's PPI */
    enum psci_conduit psci;
    phys_addr_t uart; /* /chosen stdout-path's PL011, 0 if none */
    phys_addr_t rtc;  /* PL031, 0 if none */
    unsigned cpu_count;
    uint64_t cpu_mpidr[MACHINE_CPUS_MAX];
    bool cpus_dropped;
};

extern struct machine machine;

/* cpu.hw_id holds the MPIDR's four affinity levels in 32 bits (Aff3 in the top byte). */
static inline uint32_t mpidr_to_hw_id(uint64_t mpidr)
{
    return (uint32_t)(((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xffffff));
}
static inline uint64_t hw_id_to_mpidr(uint32_t hw_id)
{
    return (uint64_t)(hw_id >> 24) << 32 | (hw_id & 0xffffff);
}

/* Reads the device tree into boot_info and machine; panics only if it is not a device tree. */
void machine_from_device_tree(phys_addr_t dtb);

#endif
