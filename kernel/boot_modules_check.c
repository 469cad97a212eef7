/* The module list comes from the boot loader (or anything posing as one): a module that claims
 * memory that is not RAM, or memory the kernel or another module already occupies, would have
 * the allocator hand out pages still in use, or the VFS expose bytes of the kernel.  Such
 * modules are dropped, with a warning, before the allocator is built. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/boot_modules.h>
#include <rayos/printk.h>
#include <rayos/string.h>

static bool overlaps(phys_addr_t a_start, phys_addr_t a_end, phys_addr_t b_start, phys_addr_t b_end)
{
    return a_start < b_end && b_start < a_end;
}

/* Usable regions may be split into adjacent entries: walk them from start to end. */
static bool in_usable_ram(phys_addr_t start, phys_addr_t end, const struct memory_region *regions,
                          unsigned region_count)
{
    phys_addr_t position = start;
    while (position < end) {
        bool advanced = false;
        for (unsigned i = 0; i < region_count && !advanced; i++) {
            const struct memory_region *r = &regions[i];
            if (r->type == MEMORY_USABLE && r->base <= position && position - r->base < r->length) {
                position = r->base + r->length;
                advanced = true;
            }
        }
        if (!advanced)
            return false;
    }
    /* A module inside usable RAM must not also lie in a reserved entry (maps may overlap). */
    for (unsigned i = 0; i < region_count; i++)
        if (regions[i].type != MEMORY_USABLE &&
            overlaps(start, end, regions[i].base, regions[i].base + regions[i].length))
            return false;
    return true;
}

unsigned boot_modules_check(struct boot_module *modules, unsigned count,
                            const struct memory_region *regions, unsigned region_count,
                            phys_addr_t kernel_start, phys_addr_t kernel_end)
{
    bool drop[BOOT_MODULES_MAX] = {false};
    count = MIN(count, (unsigned)BOOT_MODULES_MAX);
    for (unsigned i = 0; i < count; i++) {
        const struct boot_module *m = &modules[i];
        const char *why = NULL;
        if (m->end <= m->start)
            why = "is empty or inverted";
        else if (!in_usable_ram(m->start, m->end, regions, region_count))
            why = "is not wholly in usable RAM";
        else if (overlaps(m->start, m->end, kernel_start, kernel_end))
            why = "overlaps the kernel image";
        for (unsigned j = 0; j < count && !why; j++)
            if (j != i && overlaps(m->start, m->end, modules[j].start, modules[j].end))
                why = "overlaps another module";
        if (why) {
            pr_warn("boot module %u (0x%llx-0x%llx) %s; skipped", i, (unsigned long long)m->start,
                    (unsigned long long)m->end, why);
            drop[i] = true;
        }
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < count; i++)
        if (!drop[i])
            modules[kept++] = modules[i];
    return kept;
}

static bool name_byte_allowed(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '+' || c == '-';
}

void boot_module_name(const char *cmdline, unsigned index, char *out, size_t size)
{
    if (size == 0)
        return;
    /* The last word: skip trailing blanks, then back up to the previous blank or '/'. */
    size_t end = strlen(cmdline);
    while (end && (cmdline[end - 1] == ' ' || cmdline[end - 1] == '\t'))
        end--;
    size_t begin = end;
    while (begin && cmdline[begin - 1] != ' ' && cmdline[begin - 1] != '\t' &&
           cmdline[begin - 1] != '/')
        begin--;
    size_t n = 0;
    for (size_t i = begin; i < end && n + 1 < size; i++)
        out[n++] = name_byte_allowed(cmdline[i]) ? cmdline[i] : '_';
    out[n] = 0;
    if (n == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, size, "module%u", index);
}
