/* ACPI tables: found once at boot (RSDP from the boot loader or the BIOS areas, then
 * XSDT/RSDT), every table checksummed.  Tables are mapped and stay valid. */
#ifndef RAYOS_ACPI_H
#define RAYOS_ACPI_H

#include <rayos/types.h>

struct acpi_table_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __packed;

/* Finds the RSDP and reads every table it lists (called once by the architecture's boot code,
 * after paging); without an RSDP, or without a valid RSDT/XSDT, there are no tables. */
void acpi_init(void);
/* Whether 36 readable bytes at rsdp hold a valid RSDP (signature, checksums, length); for the
 * boot code that searches memory for one. */
bool acpi_rsdp_valid(const void *rsdp);
/* Registers ACPI S5 soft-off and the FADT reset register as the "acpi" power method
 * (<rayos/power.h>), when the FADT has them; after acpi_init (drivers/acpi/power.c, on
 * machines whose PM1 registers are I/O ports). */
void acpi_power_init(void);

/* The index-th table (0-based) with this signature, or NULL. */
const struct acpi_table_header *acpi_find_table(const char *signature, unsigned index);
/* Iterates over all valid tables: index 0, 1, ... until NULL. */
const struct acpi_table_header *acpi_table_at(unsigned index);
/* Physical address of a table, for listings. */
phys_addr_t acpi_table_phys(const struct acpi_table_header *table);

/* Interrupt controllers from the MADT. */
struct acpi_ioapic {
    uint8_t id;
    phys_addr_t address;
    uint32_t gsi_base;
};
struct acpi_irq_override {
    uint8_t isa_irq;
    uint32_t gsi;
    uint16_t flags; /* MPS INTI flags: polarity bits 0-1, trigger bits 2-3 */
};
/* A processor the MADT lists (Processor Local APIC or x2APIC entry), in table order. */
#define ACPI_MADT_CPUS_MAX 64
struct acpi_cpu {
    uint32_t apic_id;
    uint32_t uid; /* ACPI processor UID */
    bool enabled;
    bool online_capable; /* disabled now, but may be brought online */
};
struct acpi_madt_info {
    phys_addr_t lapic_address;
    bool has_8259;
    unsigned cpu_count;    /* enabled processors */
    unsigned cpu_entries;  /* entries kept in cpus[] */
    unsigned cpus_dropped; /* entries beyond ACPI_MADT_CPUS_MAX */
    struct acpi_cpu cpus[ACPI_MADT_CPUS_MAX];
    unsigned ioapic_count;
    struct acpi_ioapic ioapics[8];
    unsigned override_count;
    struct acpi_irq_override overrides[16];
};
const struct acpi_madt_info *acpi_madt(void); /* NULL without a valid MADT */

/* The interrupt an ISA IRQ (0-15) raises on this machine: the GSI and trigger of the MADT's
 * interrupt source override for it, else the PC default (the GSI of the same number, edge,
 * active high; also what an override's "conforms to the bus" fields mean).  -EINVAL for a
 * number above 15.  acpi_madt_isa_irq_spec() does it for a given MADT (NULL: none). */
struct irq_spec;
int acpi_isa_irq_spec(unsigned isa_irq, struct irq_spec *out);
int acpi_madt_isa_irq_spec(const struct acpi_madt_info *madt, unsigned isa_irq,
                           struct irq_spec *out);

/* ECAM windows from the MCFG.  base is the address of bus 0 of the segment (even when
 * start_bus is not 0): bus N's 1 MiB is at base + (N << 20).  Nothing is checked beyond the
 * table itself: the PCI code checks windows against the memory map before using them. */
struct acpi_mcfg_window {
    phys_addr_t base;
    uint16_t segment;
    uint8_t start_bus, end_bus;
};
unsigned acpi_mcfg_windows(const struct acpi_mcfg_window **windows);
/* Parses one MCFG table into at most max windows (entries with base 0 or end below start are
 * warned about and skipped); returns how many. */
unsigned acpi_parse_mcfg(const struct acpi_table_header *table, struct acpi_mcfg_window *windows,
                         unsigned max);

/* PCI host bridges (PNP0A03/PNP0A08 devices) of the DSDT and SSDTs, read without an AML
 * interpreter: a bridge's root bus is known when its _BBN and _SEG are absent (0) or declared
 * as constant integers; one with a method or anything else there counts as unknown. */
struct acpi_pci_root {
    uint16_t segment;
    uint8_t bus;
};
struct acpi_pci_roots {
    unsigned bridges; /* host bridge devices found */
    unsigned unknown; /* of which the root bus could not be read */
    unsigned known;   /* distinct roots in roots[] */
    struct acpi_pci_root roots[16];
};
/* Adds the host bridges of one block of AML (a DSDT's or SSDT's body) to out. */
void acpi_find_pci_roots(const uint8_t *aml, size_t length, struct acpi_pci_roots *out);
/* Those of every DSDT and SSDT (found once), or NULL without a DSDT. */
const struct acpi_pci_roots *acpi_pci_roots(void);

#endif
