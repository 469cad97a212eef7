/* The MCFG table: one ECAM window per entry (PCI Firmware Specification).  Portable, so tests
 * can hand it synthetic tables.  The base address of an entry is that of bus 0 of its segment,
 * whatever its start bus; the window proper is [base + start << 20, base + (end + 1) << 20). */
#define pr_fmt(fmt) "acpi: " fmt
#include <rayos/acpi.h>
#include <rayos/bytes.h>
#include <rayos/printk.h>

#define MCFG_FIRST_ENTRY 44 /* header (36) and 8 reserved bytes */
#define MCFG_ENTRY_SIZE  16

unsigned acpi_parse_mcfg(const struct acpi_table_header *table, struct acpi_mcfg_window *windows,
                         unsigned max)
{
    const uint8_t *p = (const uint8_t *)table;
    unsigned count = 0, index = 0;
    for (uint32_t off = MCFG_FIRST_ENTRY; off + MCFG_ENTRY_SIZE <= table->length && count < max;
         off += MCFG_ENTRY_SIZE, index++) {
        struct acpi_mcfg_window w = {get_le64(p + off), get_le16(p + off + 8), p[off + 10],
                                     p[off + 11]};
        if (w.base == 0 || w.end_bus < w.start_bus) {
            pr_warn("MCFG entry %u has base 0x%llx buses %02x-%02x; skipped", index,
                    (unsigned long long)w.base, w.start_bus, w.end_bus);
            continue;
        }
        windows[count++] = w;
    }
    return count;
}
