/* Power off, reboot and test exits through the registered power methods.  Shutdown hooks (log
 * flush, filesystem sync and unmount) run first, in priority order, so nothing written is lost. */
#define pr_fmt(fmt) "power: " fmt
#include <rayos/arch.h>
#include <rayos/irq.h>
#include <rayos/power.h>
#include <rayos/printk.h>

#define POWER_METHODS_MAX 8

extern const struct shutdown_hook _shutdown_hooks_start[], _shutdown_hooks_end[];

/* Sorted by rating, highest first.  Written only at boot, on one CPU. */
static const struct power_method *methods[POWER_METHODS_MAX];
static unsigned method_count;

void power_method_register(const struct power_method *m)
{
    if (method_count == POWER_METHODS_MAX) {
        pr_warn("more than %d power methods: %s not used", POWER_METHODS_MAX, m->name);
        return;
    }
    unsigned at = method_count;
    while (at > 0 && methods[at - 1]->rating < m->rating) {
        methods[at] = methods[at - 1];
        at--;
    }
    methods[at] = m;
    method_count++;
}

static void run_shutdown_hooks(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    unsigned count = (unsigned)(_shutdown_hooks_end - _shutdown_hooks_start);
    int last = -1000000;
    /* Few hooks: select the next priority each round instead of sorting a const table. */
    for (unsigned round = 0; round < count; round++) {
        int next = 1000000;
        for (unsigned i = 0; i < count; i++)
            if (_shutdown_hooks_start[i].priority > last &&
                _shutdown_hooks_start[i].priority < next)
                next = _shutdown_hooks_start[i].priority;
        if (next == 1000000)
            break;
        for (unsigned i = 0; i < count; i++)
            if (_shutdown_hooks_start[i].priority == next)
                _shutdown_hooks_start[i].run();
        last = next;
    }
}

/* Every method's off, best first; returns when all of them failed. */
static void try_off(bool quiet)
{
    for (unsigned i = 0; i < method_count; i++) {
        if (!methods[i]->off)
            continue;
        methods[i]->off();
        if (!quiet)
            pr_err("%s power-off failed", methods[i]->name);
    }
}

void power_exit(int status)
{
    for (unsigned i = 0; i < method_count; i++)
        if (methods[i]->exit_status)
            methods[i]->exit_status(status);
    try_off(true);
    arch_halt();
}

void power_off(void)
{
    run_shutdown_hooks();
    pr_info("powering off");
    irq_disable();
    try_off(false);
    pr_err("cannot power off: halted (it is now safe to turn off the machine)");
    arch_halt();
}

void power_reboot(void)
{
    run_shutdown_hooks();
    pr_info("rebooting");
    irq_disable();
    for (unsigned i = 0; i < method_count; i++) {
        if (!methods[i]->reboot)
            continue;
        methods[i]->reboot();
        pr_err("%s reset failed", methods[i]->name);
    }
    pr_err("cannot reboot: halted");
    arch_halt();
}
