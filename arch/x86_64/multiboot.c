/* The Multiboot information as the x86 boot code reaches it: through the boot direct map, which
 * covers the first 4 GiB until paging_init (kernel/multiboot.c reads it). */
#include <rayos/mm.h>
#include <rayos/multiboot.h>
#include <rayos/printk.h>
#include "x86.h"

#define BOOT_MAP_LIMIT (4 * GiB) /* what the boot page tables map */

static const void *boot_map(void *context, uint64_t phys, uint64_t length)
{
    (void)context;
    if (phys > BOOT_MAP_LIMIT || length > BOOT_MAP_LIMIT - phys)
        return NULL;
    return phys_to_virt(phys);
}

void multiboot_parse(uint32_t magic, phys_addr_t info)
{
    const char *why;
    if (multiboot_read(magic, info, boot_map, NULL, &why) != 0)
        panic("boot: %s (magic 0x%08x, information at 0x%llx)", why, magic,
              (unsigned long long)info);
}
