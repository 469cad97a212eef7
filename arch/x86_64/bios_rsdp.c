/* On a PC the ACPI RSDP may also be found in memory (ACPI 6.x, 5.2.5.1): in the first KiB of the
 * EBDA, or in the BIOS read-only area 0xe0000-0xfffff, on a 16-byte boundary.  The boot loader's
 * copy (Multiboot 2) is preferred by acpi_init; the address found here is the fallback, and the
 * only source under a Multiboot 1 loader. */
#include <rayos/acpi.h>
#include <rayos/boot_info.h>
#include <rayos/mm.h>
#include "x86.h"

#define RSDP_SCAN_SIZE 36 /* what acpi_rsdp_valid may read */

static phys_addr_t scan(phys_addr_t start, phys_addr_t end)
{
    for (phys_addr_t p = ALIGN_UP(start, 16); p + RSDP_SCAN_SIZE <= end; p += 16)
        if (acpi_rsdp_valid(phys_to_virt(p)))
            return p;
    return 0;
}

void bios_find_rsdp(void)
{
    /* The BIOS data area's word at 0x40e is the EBDA's segment. */
    phys_addr_t ebda = (phys_addr_t)(*(const uint16_t *)phys_to_virt(0x40e)) << 4;
    phys_addr_t found = 0;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        found = scan(ebda, ebda + 1024);
    if (!found)
        found = scan(0xe0000, 0x100000);
    if (!found)
        return;
    boot_info.acpi_rsdp = found;
    boot_info.firmware_tables = FIRMWARE_ACPI;
}
