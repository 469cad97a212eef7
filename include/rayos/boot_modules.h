/* The files the boot loader loaded beside the kernel (boot modules), checked at boot
 * (kernel/boot_modules_check.c) and kept in reserved memory for the whole run.  The VFS shows
 * them read-only under /boot/modules. */
#ifndef RAYOS_BOOT_MODULES_H
#define RAYOS_BOOT_MODULES_H

#include <rayos/boot_info.h>
#include <rayos/mm.h>
#include <rayos/types.h>

#define BOOT_MODULES_PATH "/boot/modules"

struct boot_module_file {
    char name[64]; /* boot_module_name; the Nth module with a name already used gets ".N" */
    const void *data;
    size_t size;
    const char *cmdline;
};

unsigned boot_module_count(void);
/* Fills out and returns true for index < boot_module_count(). */
bool boot_module_at(unsigned index, struct boot_module_file *out);

/* Checking the boot loader's module list and naming its modules (kernel/boot_modules_check.c):
 * portable, so the host unit tests can feed it hostile lists.  The architecture's boot code
 * calls boot_modules_check once the memory map is known. */

/* Keeps only the modules that lie wholly in usable RAM (regions), clear of the kernel image
 * [kernel_start, kernel_end) and of every other module; each one dropped is named in a warning.
 * Both modules of an overlapping pair are dropped: neither can be trusted.  Returns the new
 * count; the kept modules stay in order. */
unsigned boot_modules_check(struct boot_module *modules, unsigned count,
                            const struct memory_region *regions, unsigned region_count,
                            phys_addr_t kernel_start, phys_addr_t kernel_end);

/* A module's file name: the last word of its command line, after its last '/', with every byte
 * outside [A-Za-z0-9._+-] replaced by '_'; "module<index>" when that leaves nothing (or only
 * "." / "..").  Always NUL-terminated. */
void boot_module_name(const char *cmdline, unsigned index, char *out, size_t size);

#endif
