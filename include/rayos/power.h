#ifndef RAYOS_POWER_H
#define RAYOS_POWER_H

#include <rayos/types.h>

/* Hooks run before poweroff/reboot (flush logs, sync and unmount filesystems), in priority
 * order, lowest first. */
struct shutdown_hook {
    int priority;
    void (*run)(void);
};
#define SHUTDOWN_HOOK(fn, prio)                                                                    \
    static const struct shutdown_hook __shutdown_hook_##fn                                         \
        __attribute__((used, section(".shutdown_hooks"), aligned(8))) = {prio, fn}

/* A way to power off, reset or leave the emulator with a status, registered by the architecture
 * or a firmware driver (x86_64: ACPI S5 and reset register, QEMU isa-debug-exit, the PC reset
 * lines).  Each operation is tried on the methods that have it, highest rating first; an
 * operation that returns has failed and the next method is tried. */
struct power_method {
    const char *name;
    int rating; /* higher is tried first */
    void (*off)(void);
    void (*reboot)(void);
    void (*exit_status)(int status); /* NULL: cannot report a status */
};
/* Called at boot, before other CPUs run; m stays referenced.  At most 8 methods. */
void power_method_register(const struct power_method *m);

/* Shutdown hooks, then every method's off (then halt: safe to turn the machine off). */
void power_off(void) __noreturn;
/* Shutdown hooks, then every method's reboot (then halt). */
void power_reboot(void) __noreturn;
/* Leaves the emulator with a status, for tests; without a method that reports one, every
 * method's off.  No shutdown hooks: the caller may be a panic. */
void power_exit(int status) __noreturn;

#endif
