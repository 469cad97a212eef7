/* In-kernel self-tests: each SELFTEST case runs in turn and is reported in TAP; the machine then
 * powers off (status 0) if all passed, or leaves QEMU with a failure status. */
#include <rayos/power.h>
#include <rayos/printk.h>
#include <rayos/selftest.h>
#include <rayos/shell.h>
#include "selftest_internal.h"

extern const struct selftest _selftests_start[], _selftests_end[];

static bool current_failed;

void selftest_fail(const char *file, int line, const char *expr)
{
    current_failed = true;
    shell_printf("# %s:%d: assertion failed: %s\n", file, line, expr);
}

void selftest_run_all(void)
{
    unsigned count = (unsigned)(_selftests_end - _selftests_start), failed = 0;
    shell_printf("TAP version 13\n1..%u\n", count);
    for (unsigned i = 0; i < count; i++) {
        current_failed = false;
        _selftests_start[i].run();
        failed += current_failed;
        shell_printf("%s %u - %s\n", current_failed ? "not ok" : "ok", i + 1,
                     _selftests_start[i].name);
    }
    shell_printf("# selftest: %u passed, %u failed\n", count - failed, failed);
    if (failed)
        power_exit(1);
    power_off();
}
