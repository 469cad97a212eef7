#ifndef DRIVERS_ACPI_INTERNAL_H
#define DRIVERS_ACPI_INTERNAL_H

#include <rayos/acpi.h>

/* Parses "_S5_" out of AML: Name(_S5, Package() {a, b, ...}); false if absent or malformed. */
bool acpi_parse_s5(const uint8_t *aml, size_t length, uint8_t *slp_typ_a, uint8_t *slp_typ_b);

/* The FADT fields RayOS uses (ACPI 6.x, table 5.9).  Portable (fadt.c): firmware input, fuzzed
 * on the host. */
struct acpi_generic_address {
    uint8_t space; /* 0 memory, 1 I/O */
    uint8_t bit_width, bit_offset, access_size;
    uint64_t address;
};
struct acpi_fadt_info {
    uint32_t smi_command;
    uint8_t acpi_enable_value;
    uint32_t pm1a_control, pm1b_control; /* I/O ports */
    bool reset_supported;
    struct acpi_generic_address reset_register;
    uint8_t reset_value;
    phys_addr_t dsdt_phys; /* X_DSDT when set, else DSDT; 0: none */
};
/* Reads a FADT of table->length bytes; false (with a warning) when it is too short to use. */
bool acpi_parse_fadt(const struct acpi_table_header *fadt, struct acpi_fadt_info *out);
/* The FADT acpi_init found and could read, or NULL. */
const struct acpi_fadt_info *acpi_fadt(void);

/* Reads a MADT of table->length bytes into out (zeroed first); a malformed entry ends the walk
 * with a warning.  Returns whether the table gives a local APIC address. */
bool acpi_parse_madt(const struct acpi_table_header *table, struct acpi_madt_info *out);

#endif
