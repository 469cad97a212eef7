#ifndef DRIVERS_ACPI_INTERNAL_H
#define DRIVERS_ACPI_INTERNAL_H

#include <rayos/acpi.h>

typedef void (*acpi_add_table_fn)(const struct acpi_table_header *table, phys_addr_t phys);
typedef const struct acpi_table_header *(*acpi_map_table_fn)(phys_addr_t phys, const char *expect);

void acpi_init(void);
/* The FADT: remembers the power registers and adds the DSDT (which it points to) to the list. */
void acpi_fadt_found(const struct acpi_table_header *fadt, acpi_add_table_fn add,
                     acpi_map_table_fn map);
/* Enters S5 through the FADT's PM1 control registers; returns only if that is impossible. */
void acpi_power_off(void);
/* Resets through the FADT reset register; returns only if there is none or it did nothing. */
void acpi_reset(void);
/* Parses "_S5_" out of AML: Name(_S5, Package() {a, b, ...}); false if absent or malformed. */
bool acpi_parse_s5(const uint8_t *aml, size_t length, uint8_t *slp_typ_a, uint8_t *slp_typ_b);

#endif
