/* The acpi shell command: every table the boot found, as checksummed and mapped. */
#include <rayos/acpi.h>
#include <rayos/shell.h>
#include <rayos/string.h>

static void printable(char *out, const char *in, size_t length)
{
    for (size_t i = 0; i < length; i++)
        out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
    out[length] = '\0';
}

static int cmd_acpi(int argc, char **argv)
{
    shell_printf("sig  address            length rev oem    oem table  oem rev\n");
    unsigned index = 0;
    for (const struct acpi_table_header *table; (table = acpi_table_at(index)); index++) {
        char signature[5], oem[7], oem_table[9];
        printable(signature, table->signature, 4);
        printable(oem, table->oem_id, 6);
        printable(oem_table, table->oem_table_id, 8);
        shell_printf("%s 0x%016llx %6u %3u %-6s %-8s 0x%08x\n", signature,
                     (unsigned long long)acpi_table_phys(table), table->length, table->revision,
                     oem, oem_table, table->oem_revision);
    }
    if (index == 0)
        shell_printf("no ACPI tables\n");
    return 0;
}
SHELL_COMMAND("acpi", "list the ACPI tables (signature, address, length, revision, OEM)", cmd_acpi);
