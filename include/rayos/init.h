/* Boot-time initialisation hooks.  Subsystems register a function at a level; the kernel runs
 * the levels in order after memory, interrupts and time are up, so main.c never needs to
 * know about individual drivers. */
#ifndef RAYOS_INIT_H
#define RAYOS_INIT_H

enum init_level {
    INIT_CORE = 1,   /* registries: device core, block layer */
    INIT_BUS = 2,    /* bus enumeration: ACPI devices, PCI */
    INIT_DRIVER = 3, /* device drivers register (and bind to what the buses found) */
    INIT_FS = 4,     /* filesystems and mounting the root */
    INIT_LATE = 5,   /* services that need a root: config, log file */
};

struct initcall {
    int level;
    const char *name;
    int (*fn)(void);
};

#define INITCALL(init_fn, init_level)                                                              \
    static const struct initcall __initcall_##init_fn                                              \
        __attribute__((used, section(".initcalls"), aligned(8))) = {init_level, #init_fn, init_fn}

#endif
