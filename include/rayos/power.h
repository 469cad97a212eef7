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

struct power_method {
    const char *name;
    int rating;
    void (*off)(void);
    void (*reboot)(void);
    void (*exit_status)(int status); /* NULL: cannot report a status */
};
void power_method_register(const struct power_method *m);

void power_off(void) __noreturn;
void power_reboot(void) __noreturn;
/* Leaves the emulator with a status (QEMU isa-debug-exit), for tests; powers off otherwise. */
void power_exit(int status) __noreturn;

#endif
