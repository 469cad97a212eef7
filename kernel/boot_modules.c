/* The checked boot modules for the rest of the kernel, with unique names (a second module with
 * the same name gets ".2", a third ".3", ...). */
#include <rayos/boot_info.h>
#include <rayos/boot_modules.h>
#include <rayos/mm.h>
#include <rayos/string.h>

unsigned boot_module_count(void)
{
    return boot_info.module_count;
}

bool boot_module_at(unsigned index, struct boot_module_file *out)
{
    if (index >= boot_info.module_count)
        return false;
    const struct boot_module *m = &boot_info.modules[index];
    boot_module_name(m->cmdline, index, out->name, sizeof(out->name));
    unsigned same = 1;
    for (unsigned i = 0; i < index; i++) {
        char other[sizeof(out->name)];
        boot_module_name(boot_info.modules[i].cmdline, i, other, sizeof(other));
        same += strcmp(other, out->name) == 0;
    }
    if (same > 1) {
        char suffix[12];
        snprintf(suffix, sizeof(suffix), ".%u", same);
        size_t keep = MIN(strlen(out->name), sizeof(out->name) - 1 - strlen(suffix));
        memcpy(out->name + keep, suffix, strlen(suffix) + 1);
    }
    out->data = phys_to_virt(m->start);
    out->size = m->end - m->start;
    out->cmdline = m->cmdline;
    return true;
}
