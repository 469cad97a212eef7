/* The portable half of boot: once the architecture has memory, interrupts and time running,
 * run every subsystem's init hooks by level, then self-tests or the shell. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/cmdline.h>
#include <rayos/init.h>
#include <rayos/irq.h>
#include <rayos/log.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include "kernel_main.h"
#include "selftest_internal.h"
#include "shell_internal.h"

extern const struct initcall _initcalls_start[], _initcalls_end[];

static void run_initcalls(void)
{
    for (int level = INIT_CORE; level <= INIT_LATE; level++) {
        for (const struct initcall *c = _initcalls_start; c < _initcalls_end; c++) {
            if (c->level != level)
                continue;
            int result = c->fn();
            if (result < 0 && result != -19 /* ENODEV: nothing to drive is not an error */)
                pr_warn("%s failed (%d)", c->name, result);
        }
    }
}

void kernel_start(void)
{
    char level[8];
    if (cmdline_get("loglevel", level, sizeof(level)))
        log_set_console_level((int)strtol(level, NULL, 10));
    if (cmdline_has("quiet"))
        log_set_console_level(LOG_WARNING);
    irq_enable();
    run_initcalls();
    uint64_t ns = time_ns();
    pr_info("ready in %llu.%03llu ms", (unsigned long long)(ns / NSEC_PER_MSEC),
            (unsigned long long)(ns / 1000 % 1000));
    if (cmdline_has("selftest"))
        selftest_run_all();
    shell_run();
}
