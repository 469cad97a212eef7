/* Kernel command line options ("root=vda1 pci=cam selftest"). */
#ifndef RAYOS_CMDLINE_H
#define RAYOS_CMDLINE_H

#include <rayos/types.h>

/* True if the bare word or "name=..." is present. */
bool cmdline_has(const char *name);
/* The value of "name=value" copied into buf; false if absent. */
bool cmdline_get(const char *name, char *buf, size_t size);
const char *cmdline_text(void);
/* Options for a module being loaded ("queues=1" becomes "nvme.queues=1"), seen by
 * cmdline_has/cmdline_get ahead of the boot command line until removed at unload.  -EINVAL for
 * an empty option or one with a space, -ENOSPC when they do not fit. */
int cmdline_add_module_options(const char *module, const char *const *options, unsigned count);
void cmdline_remove_module_options(const char *module);

#endif
