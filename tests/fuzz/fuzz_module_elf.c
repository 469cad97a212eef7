/* Arbitrary bytes as a kernel module file: parsing and linking must refuse or succeed without
 * touching memory outside the file and the regions. */
#include <rayos/elf_module.h>
#include <rayos/errno.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int resolve(const char *name, uint64_t *address, void *context)
{
    if (name[0] == 'k') { /* some names resolve, the rest stay unresolved */
        *address = 0xffffffff80100000ull + strlen(name) * 16;
        return 0;
    }
    return -ENOENT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_module mod;
    char why[MODULE_WHY_MAX];
    if (elf_module_parse(&mod, data, size, why, sizeof(why)) < 0)
        return 0;
    uint8_t *dest[MODULE_REGIONS];
    uint64_t base[MODULE_REGIONS] = {0xffffffffc0000000ull, 0xffffffffc0400000ull,
                                     0xffffffffc0800000ull};
    for (unsigned r = 0; r < MODULE_REGIONS; r++)
        dest[r] = malloc(mod.region_size[r] ? mod.region_size[r] : 1);
    elf_module_link(&mod, dest, base, resolve, NULL, why, sizeof(why));
    elf_module_info(&mod, "name", 0);
    elf_module_info(&mod, "alias", 1);
    for (unsigned r = 0; r < MODULE_REGIONS; r++)
        free(dest[r]);
    elf_module_free(&mod);
    return 0;
}
