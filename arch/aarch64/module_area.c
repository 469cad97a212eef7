/* Where AArch64 modules live: a window just above the kernel image, so module code and the
 * kernel reach each other with BL (+-128 MiB) and ADRP (+-4 GiB), as -mcmodel=small expects. */
#include <rayos/module.h>
#include "aarch64.h"

void arch_module_area(uint64_t *start, uint64_t *end)
{
    *start = MODULE_AREA_BASE;
    *end = MODULE_AREA_BASE + MODULE_AREA_SIZE;
}

bool arch_module_map_page(uint64_t virt, phys_addr_t phys)
{
    return paging_map_page(virt, phys, false);
}

void arch_module_unmap(uint64_t start, uint64_t end)
{
    paging_unmap(start, end);
}

void arch_module_protect_page(uint64_t virt, bool writable, bool executable)
{
    paging_protect_page(virt, writable, executable);
}
