/* panic(): report and stop.  With the kernel option exit_on_panic the machine leaves the emulator
 * with a non-zero status instead of halting, so automated runs never hang. */
#include <rayos/arch.h>
#include <rayos/cmdline.h>
#include <rayos/irq.h>
#include <rayos/power.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define PANIC_EXIT_STATUS 0x3f

static int panicking;

void panic(const char *fmt, ...)
{
    irq_disable();
    if (panicking++) {
        /* A panic while panicking: print nothing more that could fault again. */
        if (panicking < 3 && cmdline_has("exit_on_panic"))
            power_exit(PANIC_EXIT_STATUS);
        arch_halt();
    }
    char message[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    printk(LOG_EMERG, "Kernel panic: %s", message);
    arch_print_backtrace();
    if (cmdline_has("exit_on_panic")) {
        printk(LOG_EMERG, "exit_on_panic: leaving with status %d", PANIC_EXIT_STATUS);
        power_exit(PANIC_EXIT_STATUS);
    }
    printk(LOG_EMERG, "System halted.");
    arch_halt();
}
