/* The boot information every architecture fills (<rayos/boot_info.h>), and the bounded appends
 * its boot code uses: the loader's tables are untrusted, so an impossible entry is skipped with a
 * warning and a table that overflows ours is cut, never overrun. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/boot_info.h>
#include <rayos/printk.h>

struct boot_info boot_info;

void boot_info_add_region(uint64_t base, uint64_t length, uint32_t type)
{
    if (length == 0 || base + length < base) {
        pr_warn("memory map entry base 0x%llx length 0x%llx is impossible; skipped",
                (unsigned long long)base, (unsigned long long)length);
        return;
    }
    if (type < MEMORY_USABLE || type > MEMORY_BAD)
        type = MEMORY_RESERVED;
    if (boot_info.region_count == BOOT_MEMORY_REGIONS_MAX) {
        pr_warn("more than %d memory map entries; the rest are ignored", BOOT_MEMORY_REGIONS_MAX);
        return;
    }
    boot_info.regions[boot_info.region_count++] = (struct memory_region){base, length, type};
}

/* Whether the module's range is RAM and clear of the kernel and the other modules is checked
 * once the memory map is complete (boot_modules_check). */
struct boot_module *boot_info_add_module(uint64_t start, uint64_t end)
{
    if (end <= start) {
        pr_warn("boot module 0x%llx-0x%llx is empty or inverted; skipped",
                (unsigned long long)start, (unsigned long long)end);
        return NULL;
    }
    if (boot_info.module_count == BOOT_MODULES_MAX) {
        pr_warn("more than %d boot modules; module at 0x%llx skipped", BOOT_MODULES_MAX,
                (unsigned long long)start);
        return NULL;
    }
    struct boot_module *module = &boot_info.modules[boot_info.module_count++];
    *module = (struct boot_module){.start = start, .end = end};
    return module;
}

const struct memory_region *boot_info_ram_overlap(phys_addr_t start, uint64_t length)
{
    for (unsigned i = 0; i < boot_info.region_count; i++) {
        const struct memory_region *r = &boot_info.regions[i];
        if (memory_type_is_ram_or_bad(r->type) && start < r->base + r->length &&
            r->base < start + length)
            return r;
    }
    return NULL;
}
