/* The acpi shell command: every table the boot found, as checksummed and mapped. */
#include <rayos/acpi.h>
#include <rayos/escape.h>
#include <rayos/shell.h>
#include <rayos/string.h>

/* A fixed-size firmware field, up to its first NUL, escaped like every string from firmware. */
static const char *field(char *out, size_t size, const char *in, size_t length)
{
    escape_text(out, size, in, strnlen(in, length));
    return out;
}

static int cmd_acpi(int argc, char **argv)
{
    shell_printf("sig  address            length rev oem    oem table  oem rev\n");
    unsigned index = 0;
    for (const struct acpi_table_header *table; (table = acpi_table_at(index)); index++) {
        char signature[4 * ESCAPE_MAX_RATIO + 1], oem[6 * ESCAPE_MAX_RATIO + 1],
            oem_table[8 * ESCAPE_MAX_RATIO + 1];
        shell_printf("%-4s 0x%016llx %6u %3u %-6s %-8s 0x%08x\n",
                     field(signature, sizeof(signature), table->signature, 4),
                     (unsigned long long)acpi_table_phys(table), table->length, table->revision,
                     field(oem, sizeof(oem), table->oem_id, 6),
                     field(oem_table, sizeof(oem_table), table->oem_table_id, 8),
                     table->oem_revision);
    }
    if (index == 0)
        shell_printf("no ACPI tables\n");
    return 0;
}
SHELL_COMMAND("acpi", "list the ACPI tables (signature, address, length, revision, OEM)", cmd_acpi);
