/* libFuzzer: the ACPI table parsers the kernel runs on firmware bytes: MADT, MCFG, FADT, the
 * \_S5 package in AML and the AML host-bridge scanner.  The first byte picks the parser, the
 * rest is the table, copied to a buffer of exactly its size at an odd address (so ASan sees
 * any read past it, and no parser may rely on alignment); its header length is clamped to the
 * bytes present, as the kernel maps exactly that many.  Results must stay inside their arrays
 * and agree with the table. */
#include <rayos/acpi.h>

#include <stdlib.h>
#include <string.h>

#include "drivers/acpi/acpi_internal.h"

extern int host_log_level;

static void check_madt(const struct acpi_table_header *table)
{
    static struct acpi_madt_info info;
    bool valid = acpi_parse_madt(table, &info);
    if (valid != (info.lapic_address != 0) || info.cpu_entries > ACPI_MADT_CPUS_MAX ||
        (info.cpus_dropped && info.cpu_entries != ACPI_MADT_CPUS_MAX) ||
        info.cpu_count > info.cpu_entries + info.cpus_dropped || info.ioapic_count > 8 ||
        info.override_count > 16)
        abort();
    /* each CPU entry takes at least 8 bytes of the table */
    if ((uint64_t)(info.cpu_entries + info.cpus_dropped) * 8 > table->length)
        abort();
}

static void check_mcfg(const struct acpi_table_header *table)
{
    struct acpi_mcfg_window windows[16];
    unsigned max = table->length % 17; /* callers may have little room left */
    unsigned count = acpi_parse_mcfg(table, windows, max);
    if (count > max || (table->length >= 44 && count > (table->length - 44) / 16))
        abort();
    for (unsigned i = 0; i < count; i++)
        if (windows[i].base == 0 || windows[i].end_bus < windows[i].start_bus)
            abort();
}

static void check_fadt(const struct acpi_table_header *table)
{
    struct acpi_fadt_info info;
    bool usable = acpi_parse_fadt(table, &info);
    if (usable != (table->length >= 116) || (info.reset_supported && !info.reset_register.address))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    host_log_level = -1;
    if (size < 1)
        return 0;
    uint8_t which = data[0] % 5;
    size--;
    uint8_t *block = malloc(size + 1);
    uint8_t *copy = block + 1;
    memcpy(copy, data + 1, size);
    if (which == 3) {
        uint8_t a = 0xaa, b = 0xbb;
        acpi_parse_s5(copy, size, &a, &b);
    } else if (which == 4) {
        struct acpi_pci_roots roots = {0};
        acpi_find_pci_roots(copy, size, &roots);
        if (roots.known + roots.unknown > roots.bridges || roots.known > 16)
            abort();
    } else if (size >= sizeof(struct acpi_table_header)) {
        struct acpi_table_header *table = (struct acpi_table_header *)copy;
        if (table->length < sizeof(*table) || table->length > size)
            table->length = (uint32_t)size;
        if (which == 0)
            check_madt(table);
        else if (which == 1)
            check_mcfg(table);
        else
            check_fadt(table);
    }
    free(block);
    return 0;
}
