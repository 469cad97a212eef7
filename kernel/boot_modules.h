/* Checking the boot loader's module list and naming its modules: portable, so the host unit
 * tests can feed it hostile lists. */
#ifndef KERNEL_BOOT_MODULES_H
#define KERNEL_BOOT_MODULES_H

#include <rayos/mm.h>
#include <rayos/types.h>
#include <rayos/boot_info.h>

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
