/* The MADT: processors, IOAPICs and interrupt overrides (ACPI 6.x, 5.2.12).  Portable, so the
 * host fuzzes it (tests/fuzz/fuzz_acpi.c); fields are read with get_le*, since entries sit at
 * any offset. */
#define pr_fmt(fmt) "acpi: " fmt
#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/irq.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "acpi_internal.h"

#define MADT_FIRST_ENTRY 44 /* header (36), local APIC address, flags */

enum madt_entry_type {
    MADT_LOCAL_APIC = 0,
    MADT_IOAPIC = 1,
    MADT_INTERRUPT_OVERRIDE = 2,
    MADT_LOCAL_APIC_ADDRESS = 5,
    MADT_LOCAL_X2APIC = 9,
};

static void add_cpu(struct acpi_madt_info *out, uint8_t type, const uint8_t *e)
{
    bool x2 = type == MADT_LOCAL_X2APIC;
    uint32_t flags = get_le32(e + (x2 ? 8 : 4));
    struct acpi_cpu cpu = {
        .apic_id = x2 ? get_le32(e + 4) : e[3],
        .uid = x2 ? get_le32(e + 12) : e[2],
        .enabled = flags & 1,
        .online_capable = flags & 2,
    };
    out->cpu_count += cpu.enabled;
    if (out->cpu_entries < ACPI_MADT_CPUS_MAX)
        out->cpus[out->cpu_entries++] = cpu;
    else
        out->cpus_dropped++;
}

bool acpi_parse_madt(const struct acpi_table_header *table, struct acpi_madt_info *out)
{
    const uint8_t *p = (const uint8_t *)table;
    memset(out, 0, sizeof(*out));
    if (table->length < MADT_FIRST_ENTRY)
        return false;
    out->lapic_address = get_le32(p + 36);
    out->has_8259 = get_le32(p + 40) & 1;
    for (uint32_t off = MADT_FIRST_ENTRY; off + 2 <= table->length;) {
        uint8_t type = p[off], length = p[off + 1];
        if (length < 2 || length > table->length - off) {
            pr_warn("MADT entry at offset %u has length %u; rest ignored", off, length);
            break;
        }
        const uint8_t *e = p + off;
        if ((type == MADT_LOCAL_APIC && length >= 8) || (type == MADT_LOCAL_X2APIC && length >= 16))
            add_cpu(out, type, e);
        else if (type == MADT_IOAPIC && length >= 12 && out->ioapic_count < 8)
            out->ioapics[out->ioapic_count++] =
                (struct acpi_ioapic){e[2], get_le32(e + 4), get_le32(e + 8)};
        else if (type == MADT_INTERRUPT_OVERRIDE && length >= 10 && out->override_count < 16)
            out->overrides[out->override_count++] =
                (struct acpi_irq_override){e[3], get_le32(e + 4), get_le16(e + 8)};
        else if (type == MADT_LOCAL_APIC_ADDRESS && length >= 12)
            out->lapic_address = get_le64(e + 4);
        off += length;
    }
    return out->lapic_address != 0;
}

int acpi_madt_isa_irq_spec(const struct acpi_madt_info *madt, unsigned isa_irq,
                           struct irq_spec *out)
{
    if (isa_irq >= 16)
        return -EINVAL;
    *out = (struct irq_spec){isa_irq, IRQ_EDGE_HIGH};
    for (unsigned i = 0; madt && i < madt->override_count; i++) {
        const struct acpi_irq_override *o = &madt->overrides[i];
        if (o->isa_irq != isa_irq)
            continue;
        /* MPS INTI flags: polarity bits 0-1 and trigger bits 2-3, where 0 means "as the bus
         * says" (ISA: active high, edge), 1 high/edge and 3 low/level. */
        bool active_low = (o->flags & 3) == 3;
        bool level = ((o->flags >> 2) & 3) == 3;
        out->line = o->gsi;
        out->trigger = level ? (active_low ? IRQ_LEVEL_LOW : IRQ_LEVEL_HIGH)
                             : (active_low ? IRQ_EDGE_LOW : IRQ_EDGE_HIGH);
    }
    return 0;
}
