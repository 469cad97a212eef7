/* The base shell commands: help, dmesg, mem, uptime, date, reboot, poweroff. */
#include <rayos/heap.h>
#include <rayos/log.h>
#include <rayos/printk.h>
#include <rayos/mm.h>
#include <rayos/module.h>
#include <rayos/power.h>
#include <rayos/shell.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/lock.h>
#include <rayos/time.h>
#include "shell_internal.h"

static int cmd_help(int argc, char **argv)
{
    unsigned count = shell_command_count();
    const char *previous = "";
    /* Print in name order without sorting the const table: pick the next name each round. */
    for (unsigned round = 0; round < count; round++) {
        const struct shell_command *next = NULL;
        for (unsigned i = 0; i < count; i++) {
            const struct shell_command *c = shell_command_at(i);
            if (strcmp(c->name, previous) > 0 && (!next || strcmp(c->name, next->name) < 0))
                next = c;
        }
        if (!next)
            break;
        if (argc < 2 || strcmp(argv[1], next->name) == 0)
            shell_printf("%-10s %s\n", next->name, next->help);
        previous = next->name;
    }
    return 0;
}
SHELL_COMMAND("help", "[COMMAND]  list commands", cmd_help);

static int cmd_dmesg(int argc, char **argv)
{
    uint64_t position = 0;
    char buf[512];
    size_t n;
    while ((n = log_read(&position, buf, sizeof(buf), NULL)) > 0)
        shell_write(buf, n);
    return 0;
}
SHELL_COMMAND("dmesg", "print the kernel log", cmd_dmesg);

static int cmd_mem(int argc, char **argv)
{
    struct memory_stats s;
    memory_stats(&s);
    shell_printf("physical: %llu KiB total, %llu KiB free, %llu KiB used, %llu KiB reserved\n",
                 (unsigned long long)(s.total_pages * 4), (unsigned long long)(s.free_pages * 4),
                 (unsigned long long)((s.total_pages - s.free_pages - s.reserved_pages) * 4),
                 (unsigned long long)(s.reserved_pages * 4));
    shell_printf("heap:     %llu bytes in %llu allocations, %llu KiB of pages\n",
                 (unsigned long long)s.heap_bytes_used, (unsigned long long)s.heap_allocations,
                 (unsigned long long)(s.heap_bytes_mapped / 1024));
    shell_printf("dma:      %llu KiB\n", (unsigned long long)(s.dma_bytes / 1024));
    return 0;
}
SHELL_COMMAND("mem", "physical memory and heap use", cmd_mem);

static int cmd_uptime(int argc, char **argv)
{
    uint64_t ns = time_ns();
    uint64_t seconds = ns / NSEC_PER_SEC;
    shell_printf("up %llu:%02llu:%02llu (%llu.%03llu s)\n", (unsigned long long)(seconds / 3600),
                 (unsigned long long)(seconds / 60 % 60), (unsigned long long)(seconds % 60),
                 (unsigned long long)seconds, (unsigned long long)(ns / NSEC_PER_MSEC % 1000));
    return 0;
}
SHELL_COMMAND("uptime", "time since boot", cmd_uptime);

static int cmd_date(int argc, char **argv)
{
    struct wall_time t;
    time_wall(&t);
    shell_printf("%04u-%02u-%02u %02u:%02u:%02u UTC\n", t.year, t.month, t.day, t.hour, t.minute,
                 t.second);
    return 0;
}
SHELL_COMMAND("date", "wall-clock time (from the CMOS clock)", cmd_date);

static int cmd_reboot(int argc, char **argv)
{
    power_reboot();
}
SHELL_COMMAND("reboot", "flush, sync and restart the machine", cmd_reboot);

static int cmd_poweroff(int argc, char **argv)
{
    power_off();
}
SHELL_COMMAND("poweroff", "flush, sync and power the machine off", cmd_poweroff);

/* Deliberate failures, so the panic paths themselves can be tested (like Linux's sysrq-c). */
static int recurse(volatile char *previous, unsigned depth)
{
    volatile char frame[512];
    frame[0] = previous ? (char)(previous[0] + 1) : 0;
    if (depth == 0) /* never reached: 2^32 frames do not fit any stack */
        return frame[0];
    return recurse(frame, depth - 1) + frame[1];
}

static struct spinlock crash_lock = SPINLOCK_INIT("crash test");

#define CRASH_KINDS                                                                                \
    "pagefault|divide|panic|overrun|double-free|stack-overflow|sleep-in-spinlock|"                 \
    "module-call FUNCTION|module-write FUNCTION"

/* A loaded module's function called with a null argument (its fault shows the module in the
 * report), or written to (its code is read-only). */
static int crash_module(const char *how, const char *function)
{
    uint64_t address = function ? module_function_address(function) : 0;
    if (!address) {
        shell_printf("crash: no loaded module has a function %s\n", function ? function : "");
        return -1;
    }
    if (strcmp(how, "module-write") == 0) {
        *(volatile uint8_t *)address = 0xcc;
        return 0;
    }
    void (*fn)(void *) = (void (*)(void *))address;
    fn(NULL);
    return 0;
}

static int cmd_crash(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "";
    if (strcmp(how, "pagefault") == 0) {
        volatile uint64_t *bad = (volatile uint64_t *)0xdead0000ULL;
        return (int)*bad;
    }
    if (strcmp(how, "divide") == 0) {
        volatile int numerator = 100, zero = 0;
        return numerator / zero;
    }
    if (strcmp(how, "panic") == 0)
        panic("crash command");
    if (strcmp(how, "module-call") == 0 || strcmp(how, "module-write") == 0)
        return crash_module(how, argc > 2 ? argv[2] : NULL);
    if (strcmp(how, "overrun") == 0) {
        char *p = kmalloc(24);
        memset(p, 'x', 25);
        kfree(p);
        return 0;
    }
    if (strcmp(how, "double-free") == 0) {
        char *p = kmalloc(24);
        kfree(p);
        kfree(p);
        return 0;
    }
    if (strcmp(how, "stack-overflow") == 0)
        return recurse(NULL, ~0u);
    if (strcmp(how, "sleep-in-spinlock") == 0) {
        irqflags_t flags = spin_lock_irqsave(&crash_lock);
        msleep(1);
        spin_unlock_irqrestore(&crash_lock, flags);
        return 0;
    }
    shell_printf("usage: crash %s\n", CRASH_KINDS);
    return -1;
}
SHELL_COMMAND("crash", CRASH_KINDS "  crash on purpose", cmd_crash);
