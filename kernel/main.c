/* The portable half of boot: once the architecture has memory, interrupts and time running, the
 * boot context becomes CPU 0's idle thread, the other CPUs are started, and an "init" thread
 * runs every subsystem's init hooks by level, then the self-tests or the shell's thread. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/cmdline.h>
#include <rayos/device.h>
#include <rayos/init.h>
#include <rayos/irq.h>
#include <rayos/kernel_main.h>
#include <rayos/log.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include "selftest_internal.h"
#include "shell_internal.h"

#define AP_START_TIMEOUT_MS 1000

extern const struct initcall _initcalls_start[], _initcalls_end[];
void timer_init_clock(void);

/* "initcall_debug" on the command line logs how long each init hook took, to see where boot
 * time goes (docs/PERFORMANCE.md). */
static int run_initcall(const struct initcall *c, bool timed)
{
    uint64_t start = timed ? time_ns() : 0;
    int result = c->fn();
    if (timed) {
        uint64_t us = (time_ns() - start) / NSEC_PER_USEC;
        printk(LOG_INFO, "init: %s (level %d) returned %d after %llu us", c->name, c->level, result,
               (unsigned long long)us);
    }
    return result;
}

static void run_initcalls(void)
{
    bool timed = cmdline_has("initcall_debug");
    for (int level = INIT_CORE; level <= INIT_LATE; level++) {
        /* Bus enumeration waits for the other CPUs to be up (the wait is usually over by then:
         * they were started before the core level).  Sizing BARs toggles decoding, which makes
         * QEMU 7.2's TCG rebuild its memory map while other vCPUs run translated code; with
         * CPUs still starting (executing fresh code at full speed) that race crashed QEMU
         * itself (SIGSEGV) about once in 250 boots with -smp 4; idle CPUs halt and are safe.
         * QEMU 8.1 moved that rebuild onto each vCPU's own thread. */
        if (level == INIT_BUS)
            smp_wait_started(AP_START_TIMEOUT_MS);
        for (const struct initcall *c = _initcalls_start; c < _initcalls_end; c++) {
            if (c->level != level)
                continue;
            int result = run_initcall(c, timed);
            if (result < 0 && result != -19 /* ENODEV: nothing to drive is not an error */)
                pr_warn("%s failed (%d)", c->name, result);
        }
        /* Probes that waited for hardware while the level's other drivers probed. */
        device_run_probe_finishes();
    }
    device_boot_complete();
}

/* nosmp and maxcpus=N: how many CPUs to run (the boot CPU included). */
static unsigned cpu_limit(const char **why)
{
    static char reason[32];
    char value[16];
    if (cmdline_has("nosmp")) {
        *why = "nosmp";
        return 1;
    }
    if (cmdline_get("maxcpus", value, sizeof(value))) {
        long n = strtol(value, NULL, 10);
        snprintf(reason, sizeof(reason), "maxcpus=%s", value);
        *why = reason;
        return n < 1 ? 1 : (unsigned)MIN(n, CPUS_MAX);
    }
    *why = "";
    return CPUS_MAX;
}

static int shell_thread(void *arg)
{
    (void)arg;
    shell_run();
    return 0;
}

static int init_thread(void *arg)
{
    (void)arg;
    run_initcalls();
    uint64_t last_online = 0;
    for (unsigned i = 1; i < CPUS_MAX; i++)
        if (cpu_is_online(i))
            last_online = MAX(last_online, cpus[i].online_ns);
    if (last_online)
        printk(LOG_INFO, "smp: %u CPUs online (the last at %llu.%03llu ms)", cpu_online_count(),
               (unsigned long long)(last_online / NSEC_PER_MSEC),
               (unsigned long long)(last_online / 1000 % 1000));
    else
        printk(LOG_INFO, "smp: 1 CPU online");
    uint64_t ns = time_ns();
    pr_info("ready in %llu.%03llu ms", (unsigned long long)(ns / NSEC_PER_MSEC),
            (unsigned long long)(ns / 1000 % 1000));
    if (cmdline_has("selftest"))
        selftest_run_all();
    struct thread *shell = thread_create("shell", shell_thread, NULL, 0);
    if (!shell)
        panic("no memory for the shell thread");
    thread_detach(shell);
    return 0;
}

void kernel_start(void)
{
    char level[8];
    if (cmdline_get("loglevel", level, sizeof(level)))
        log_set_console_level((int)strtol(level, NULL, 10));
    if (cmdline_has("quiet"))
        log_set_console_level(LOG_WARNING);
    sched_init();
    timer_init_clock();
    const char *why;
    unsigned limit = cpu_limit(&why);
    arch_smp_start(limit, why);
    irq_enable();
    /* init stays on CPU 0, where device interrupts are delivered: its synchronous I/O is then
     * woken without a cross-CPU wake-up (which costs a halted CPU's wake under emulation). */
    struct thread *init = thread_create("init", init_thread, NULL, 1ULL << 0);
    if (!init)
        panic("no memory for the init thread");
    thread_detach(init);
    sched_idle_loop();
}
