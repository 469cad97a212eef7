/* panic(): report and stop.  With the kernel option exit_on_panic the machine leaves the emulator
 * with a non-zero status instead of halting, so automated runs never hang. */
#include <rayos/arch.h>
#include <rayos/cmdline.h>
#include <rayos/irq.h>
#include <rayos/power.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include <rayos/string.h>

#define PANIC_EXIT_STATUS 0x3f

static int panicking; /* counts panics on any CPU: only the first one reports */

void panic(const char *fmt, ...)
{
    irq_disable();
    if (__atomic_fetch_add(&panicking, 1, __ATOMIC_SEQ_CST)) {
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
    arch_cpu_stop_others();
    printk(LOG_EMERG, "Kernel panic: %s", message);
    struct thread *t = thread_current();
    printk(LOG_EMERG, "on CPU %u in %s %s (tid %u)", cpu_id(),
           in_interrupt() ? "an interrupt of" : "thread", t ? t->name : "boot", t ? t->tid : 0);
    arch_print_backtrace();
    if (cmdline_has("exit_on_panic")) {
        printk(LOG_EMERG, "exit_on_panic: leaving with status %d", PANIC_EXIT_STATUS);
        power_exit(PANIC_EXIT_STATUS);
    }
    printk(LOG_EMERG, "System halted.");
    arch_halt();
}
