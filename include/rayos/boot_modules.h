/* The files the boot loader loaded beside the kernel (Multiboot modules), checked at boot
 * (kernel/boot_modules_check.c) and kept in reserved memory for the whole run.  The VFS shows
 * them read-only under /boot/modules. */
#ifndef RAYOS_BOOT_MODULES_H
#define RAYOS_BOOT_MODULES_H

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

#endif
