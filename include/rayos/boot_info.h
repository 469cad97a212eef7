/* What the boot loader and firmware told the kernel, in one shape for every architecture.  The
 * architecture's boot code fills it (x86_64: arch/x86_64/multiboot.c from Multiboot 1 or 2)
 * before anything can overwrite the loader's structures; the rest of the kernel reads it and
 * knows no boot protocol.  Everything in it came from outside and is checked where it is used. */
#ifndef RAYOS_BOOT_INFO_H
#define RAYOS_BOOT_INFO_H

#include <rayos/mm.h>
#include <rayos/types.h>

#define BOOT_MEMORY_REGIONS_MAX 128
#define BOOT_CMDLINE_MAX        1024
#define BOOT_MODULES_MAX        16
#define BOOT_MODULE_CMDLINE_MAX 128
#define BOOT_ACPI_RSDP_SIZE     36 /* an ACPI 2.0+ RSDP; 1.0's is the first 20 bytes */

struct boot_module {
    phys_addr_t start, end;                /* [start, end) */
    char cmdline[BOOT_MODULE_CMDLINE_MAX]; /* as the loader passed it, cut at the limit */
};

/* Which description of the machine the firmware handed over. */
enum firmware_tables {
    FIRMWARE_NONE,        /* none: only what the architecture knows by itself */
    FIRMWARE_ACPI,        /* ACPI: acpi_rsdp or the copy in acpi_rsdp_copy */
    FIRMWARE_DEVICE_TREE, /* a flattened device tree blob: dtb, dtb_size */
};

struct boot_info {
    const char *protocol; /* how the kernel was started, for the log: "multiboot2"... */
    char loader_name[64]; /* "" when the loader gave none */
    char cmdline[BOOT_CMDLINE_MAX];
    unsigned region_count;
    struct memory_region regions[BOOT_MEMORY_REGIONS_MAX];
    unsigned module_count;
    struct boot_module modules[BOOT_MODULES_MAX];

    enum firmware_tables firmware_tables;
    /* FIRMWARE_ACPI: the RSDP's physical address (0: unknown), and/or a copy of it as the loader
     * handed it over (Multiboot 2 tags), which acpi_init prefers. */
    phys_addr_t acpi_rsdp;
    uint8_t acpi_rsdp_copy[BOOT_ACPI_RSDP_SIZE];
    bool has_acpi_rsdp_copy;
    /* FIRMWARE_DEVICE_TREE: where the blob lies in physical memory, and its size. */
    phys_addr_t dtb;
    size_t dtb_size;
};

extern struct boot_info boot_info;

/* For the architecture's boot code (kernel/boot_info.c): append a memory-map entry or a boot
 * module, with a warning (and nothing added) for an impossible entry or a full table.  An
 * unknown memory type counts as reserved.  boot_info_add_module returns the slot (its command
 * line still empty) or NULL. */
void boot_info_add_region(uint64_t base, uint64_t length, uint32_t type);
struct boot_module *boot_info_add_module(uint64_t start, uint64_t end);

/* The memory-map region of RAM (bad RAM included) that [start, start + length) overlaps, or
 * NULL: device windows must never cover it. */
const struct memory_region *boot_info_ram_overlap(phys_addr_t start, uint64_t length);

#endif
