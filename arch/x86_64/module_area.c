/* Where x86-64 modules live: the top gigabyte, so module code and the kernel reach each other
 * with 32-bit displacements and sign-extended 32-bit addresses (-mcmodel=kernel). */
#include <rayos/module.h>
#include "x86.h"

#define PTE_NX (1ULL << 63)

void arch_module_area(uint64_t *start, uint64_t *end)
{
    *start = MODULE_AREA_BASE;
    *end = MODULE_AREA_BASE + MODULE_AREA_SIZE;
}

bool arch_module_map_page(uint64_t virt, phys_addr_t phys)
{
    bool nx = (rdmsr(MSR_EFER) >> 11) & 1;
    return paging_map_page(virt, phys, nx ? PTE_NX : 0);
}

void arch_module_unmap(uint64_t start, uint64_t end)
{
    paging_unmap(start, end);
}

void arch_module_protect_page(uint64_t virt, bool writable, bool executable)
{
    paging_protect_page(virt, writable, executable);
}
