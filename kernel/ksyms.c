/* The kernel's function symbols, embedded by the second link (mk/ksyms.sh). */
#include <rayos/arch.h>
#include <rayos/module.h>

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addresses[];
extern const char ksyms_names[];

extern const char _text_end[];

/* Kernel functions, then those of loaded modules ("nvme_probe [nvme]"). */
const char *ksym_lookup(uint64_t address, uint64_t *offset)
{
    if (address >= (uint64_t)(uintptr_t)_text_end) {
        uint64_t ignored;
        return module_symbol_lookup(address, offset ? offset : &ignored, NULL);
    }
    if (ksyms_count == 0 || address < ksyms_addresses[0])
        return NULL;
    uint64_t low = 0, high = ksyms_count - 1;
    while (low < high) { /* last symbol at or below address */
        uint64_t middle = (low + high + 1) / 2;
        if (ksyms_addresses[middle] <= address)
            low = middle;
        else
            high = middle - 1;
    }
    const char *name = ksyms_names;
    for (uint64_t i = 0; i < low; i++)
        while (*name++)
            ;
    if (offset)
        *offset = address - ksyms_addresses[low];
    return name;
}
