/* ACPI table discovery.  The RSDP comes from the boot information (a copy the boot loader
 * handed over, or an address the architecture's boot code found); then the XSDT (or RSDT) lists
 * the tables.  Firmware tables are untrusted: every checksum is
 * verified and a table with a bad checksum or impossible length is skipped with a warning. */
#define pr_fmt(fmt) "acpi: " fmt
#include <rayos/acpi.h>
#include <rayos/io.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "acpi_internal.h"
#include <rayos/boot_info.h>

#define TABLES_MAX      64
#define TABLE_MAX_BYTES (4 * MiB)

struct rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t extended_checksum;
    uint8_t reserved[3];
} __packed;

struct table_slot {
    const struct acpi_table_header *table;
    phys_addr_t phys;
};

static struct table_slot tables[TABLES_MAX];
static unsigned table_count;
static struct acpi_madt_info madt_info;
static bool madt_valid;
static struct acpi_fadt_info fadt_info;
static bool fadt_valid;
static struct acpi_mcfg_window mcfg_windows[16];
static unsigned mcfg_count;
static phys_addr_t rsdp_phys;
static uint8_t rsdp_revision;

static uint8_t checksum(const void *data, size_t length)
{
    const uint8_t *p = data;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum += p[i];
    return sum;
}

bool acpi_rsdp_valid(const void *rsdp)
{
    const struct rsdp *r = rsdp;
    if (memcmp(r->signature, "RSD PTR ", 8) != 0 || checksum(r, 20) != 0)
        return false;
    return r->revision < 2 || (r->length >= 36 && r->length <= 4096 && checksum(r, 36) == 0);
}

static const struct rsdp *find_rsdp(struct rsdp *copy)
{
    if (boot_info.firmware_tables != FIRMWARE_ACPI)
        return NULL;
    if (boot_info.has_acpi_rsdp_copy) {
        memcpy(copy, boot_info.acpi_rsdp_copy, sizeof(*copy));
        if (copy->revision < 2)
            copy->xsdt_address = 0;
        if (memcmp(copy->signature, "RSD PTR ", 8) == 0 && checksum(copy, 20) == 0)
            return copy;
        pr_warn("RSDP from the boot loader has a bad checksum; trying the one in memory");
    }
    if (!boot_info.acpi_rsdp)
        return NULL;
    const struct rsdp *found = map_phys(boot_info.acpi_rsdp, sizeof(*found), MAP_CACHED);
    if (!found || !acpi_rsdp_valid(found)) {
        pr_warn("RSDP at 0x%llx is not valid", (unsigned long long)boot_info.acpi_rsdp);
        return NULL;
    }
    rsdp_phys = boot_info.acpi_rsdp;
    memcpy(copy, found, sizeof(*copy));
    if (copy->revision < 2)
        copy->xsdt_address = 0;
    return copy;
}

/* Maps and validates one table; NULL (with a warning) if it is not sound. */
static const struct acpi_table_header *map_table(phys_addr_t phys, const char *expect)
{
    const struct acpi_table_header *header = map_phys(phys, sizeof(*header), MAP_CACHED);
    if (!header)
        return NULL;
    uint32_t length = header->length;
    char signature[5] = {0};
    memcpy(signature, header->signature, 4);
    if (length < sizeof(*header) || length > TABLE_MAX_BYTES) {
        pr_warn("table %.4s at 0x%llx has impossible length %u; skipped", signature,
                (unsigned long long)phys, length);
        return NULL;
    }
    if (expect && memcmp(signature, expect, 4) != 0) {
        pr_warn("expected %s at 0x%llx, found '%.4s'; skipped", expect, (unsigned long long)phys,
                signature);
        return NULL;
    }
    const struct acpi_table_header *table = map_phys(phys, length, MAP_CACHED);
    if (!table)
        return NULL;
    if (checksum(table, length) != 0) {
        pr_warn("table %.4s at 0x%llx has a bad checksum; skipped", signature,
                (unsigned long long)phys);
        return NULL;
    }
    return table;
}

static void add_table(const struct acpi_table_header *table, phys_addr_t phys)
{
    if (table_count < TABLES_MAX)
        tables[table_count++] = (struct table_slot){table, phys};
}

/* The FADT: its fields are kept for acpi_fadt, and the DSDT it points to joins the list. */
static void parse_fadt(const struct acpi_table_header *table)
{
    if (!acpi_parse_fadt(table, &fadt_info))
        return;
    fadt_valid = true;
    const struct acpi_table_header *dsdt =
        fadt_info.dsdt_phys ? map_table(fadt_info.dsdt_phys, "DSDT") : NULL;
    if (dsdt)
        add_table(dsdt, fadt_info.dsdt_phys);
}

const struct acpi_fadt_info *acpi_fadt(void)
{
    return fadt_valid ? &fadt_info : NULL;
}

static void parse_madt(const struct acpi_table_header *table)
{
    madt_valid = acpi_parse_madt(table, &madt_info);
}

static void parse_mcfg(const struct acpi_table_header *table)
{
    mcfg_count += acpi_parse_mcfg(table, mcfg_windows + mcfg_count,
                                  (unsigned)ARRAY_SIZE(mcfg_windows) - mcfg_count);
}

void acpi_init(void)
{
    struct rsdp copy;
    const struct rsdp *rsdp = find_rsdp(&copy);
    if (!rsdp) {
        pr_warn("no RSDP found: no ACPI tables (no IOAPIC, no ACPI power-off)");
        return;
    }
    rsdp_revision = rsdp->revision;
    bool use_xsdt = rsdp->revision >= 2 && rsdp->xsdt_address;
    const struct acpi_table_header *root =
        use_xsdt ? map_table(rsdp->xsdt_address, "XSDT") : map_table(rsdp->rsdt_address, "RSDT");
    if (!root && use_xsdt) {
        use_xsdt = false;
        root = map_table(rsdp->rsdt_address, "RSDT");
    }
    if (!root) {
        pr_warn("no valid RSDT/XSDT: no ACPI tables");
        return;
    }
    add_table(root, use_xsdt ? rsdp->xsdt_address : rsdp->rsdt_address);
    unsigned entry_size = use_xsdt ? 8 : 4;
    unsigned entries = (root->length - sizeof(*root)) / entry_size;
    const uint8_t *list = (const uint8_t *)(root + 1);
    for (unsigned i = 0; i < entries; i++) {
        phys_addr_t phys =
            use_xsdt ? *(const uint64_t *)(list + i * 8) : *(const uint32_t *)(list + i * 4);
        const struct acpi_table_header *table = phys ? map_table(phys, NULL) : NULL;
        if (!table)
            continue;
        add_table(table, phys);
        if (memcmp(table->signature, "FACP", 4) == 0)
            parse_fadt(table);
        else if (memcmp(table->signature, "APIC", 4) == 0)
            parse_madt(table);
        else if (memcmp(table->signature, "MCFG", 4) == 0)
            parse_mcfg(table);
    }
    pr_info("RSDP rev %u, %s with %u tables", rsdp_revision, use_xsdt ? "XSDT" : "RSDT",
            table_count);
}

const struct acpi_table_header *acpi_table_at(unsigned index)
{
    return index < table_count ? tables[index].table : NULL;
}

phys_addr_t acpi_table_phys(const struct acpi_table_header *table)
{
    for (unsigned i = 0; i < table_count; i++)
        if (tables[i].table == table)
            return tables[i].phys;
    return 0;
}

const struct acpi_table_header *acpi_find_table(const char *signature, unsigned index)
{
    for (unsigned i = 0; i < table_count; i++)
        if (memcmp(tables[i].table->signature, signature, 4) == 0 && index-- == 0)
            return tables[i].table;
    return NULL;
}

const struct acpi_madt_info *acpi_madt(void)
{
    return madt_valid ? &madt_info : NULL;
}

int acpi_isa_irq_spec(unsigned isa_irq, struct irq_spec *out)
{
    return acpi_madt_isa_irq_spec(acpi_madt(), isa_irq, out);
}

unsigned acpi_mcfg_windows(const struct acpi_mcfg_window **windows)
{
    *windows = mcfg_windows;
    return mcfg_count;
}

const struct acpi_pci_roots *acpi_pci_roots(void)
{
    static struct acpi_pci_roots roots;
    static bool done;
    const struct acpi_table_header *dsdt = acpi_find_table("DSDT", 0);
    if (!dsdt)
        return NULL;
    if (!done) {
        done = true;
        const struct acpi_table_header *table = dsdt;
        for (unsigned i = 0; table; table = acpi_find_table("SSDT", i++))
            acpi_find_pci_roots((const uint8_t *)(table + 1), table->length - sizeof(*table),
                                &roots);
    }
    return &roots;
}
