/* Power off, reboot and test exits.  Shutdown hooks (log flush, filesystem sync and unmount)
 * run first, in priority order, so nothing written is lost. */
#define pr_fmt(fmt) "power: " fmt
#include <rayos/acpi.h>
#include <rayos/arch.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/power.h>
#include <rayos/printk.h>

#define QEMU_DEBUG_EXIT_PORT 0xf4

extern const struct shutdown_hook _shutdown_hooks_start[], _shutdown_hooks_end[];

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

void power_exit(int status)
{
    /* QEMU's isa-debug-exit ends the emulator with (status << 1) | 1. */
    io_write32(QEMU_DEBUG_EXIT_PORT, (uint32_t)status);
    acpi_power_off();
    arch_halt();
}

void power_off(void)
{
    run_shutdown_hooks();
    pr_info("powering off");
    irq_disable();
    acpi_power_off();
    pr_err("ACPI power-off failed; trying the QEMU debug-exit port");
    io_write32(QEMU_DEBUG_EXIT_PORT, 0);
    pr_err("cannot power off: halted (it is now safe to turn off the machine)");
    arch_halt();
}

void power_reboot(void)
{
    run_shutdown_hooks();
    pr_info("rebooting");
    irq_disable();
    acpi_reset();
    arch_reset();
}
