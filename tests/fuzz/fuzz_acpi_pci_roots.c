/* libFuzzer target: the AML host-bridge scanner on arbitrary bytes (a DSDT or SSDT body is
 * firmware input).  Every result must be consistent; ASan catches any read outside the block. */
#include <rayos/acpi.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acpi_pci_roots roots = {0};
    acpi_find_pci_roots(data, size, &roots);
    if (roots.known + roots.unknown > roots.bridges || roots.known > 16)
        abort();
    return 0;
}
