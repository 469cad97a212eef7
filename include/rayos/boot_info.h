/* What the boot loader told us, copied out of its structures before anything can overwrite them. */
#ifndef RAYOS_BOOT_INFO_H
#define RAYOS_BOOT_INFO_H

#include <rayos/mm.h>
#include <rayos/types.h>

#define BOOT_MEMORY_REGIONS_MAX 128
#define BOOT_CMDLINE_MAX        1024
#define BOOT_MODULES_MAX        16
#define BOOT_MODULE_CMDLINE_MAX 128

struct boot_module {
    phys_addr_t start, end;                /* [start, end) */
    char cmdline[BOOT_MODULE_CMDLINE_MAX]; /* as the loader passed it, cut at the limit */
};

struct boot_info {
    const char *protocol; /* "multiboot1" or "multiboot2" */
    char loader_name[64];
    char cmdline[BOOT_CMDLINE_MAX];
    unsigned region_count;
    struct memory_region regions[BOOT_MEMORY_REGIONS_MAX];
    unsigned module_count;
    struct boot_module modules[BOOT_MODULES_MAX];
    phys_addr_t rsdp;      /* 0 when the loader did not pass one */
    uint8_t rsdp_copy[36]; /* the RSDP as the loader handed it (Multiboot 2 tags) */
    bool has_rsdp_copy;
};

extern struct boot_info boot_info;

/* Parses Multiboot 1 or 2 information; panics with a clear message on malformed data. */
void boot_info_parse(uint32_t magic, phys_addr_t info);

#endif
