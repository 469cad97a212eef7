/* Kernel command line options ("root=vda1 pci=cam selftest"). */
#ifndef RAYOS_CMDLINE_H
#define RAYOS_CMDLINE_H

#include <rayos/types.h>

/* True if the bare word or "name=..." is present. */
bool cmdline_has(const char *name);
/* The value of "name=value" copied into buf; false if absent. */
bool cmdline_get(const char *name, char *buf, size_t size);
const char *cmdline_text(void);

#endif
