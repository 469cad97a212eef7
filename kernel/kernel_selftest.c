/* Self-tests of the kernel core: formatting, parsing, clocks, interrupts, ACPI, command line. */
#include <rayos/acpi.h>
#include <rayos/errno.h>
#include <rayos/boot_info.h>
#include <rayos/cmdline.h>
#include <rayos/irq.h>
#include <rayos/selftest.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include "shell_internal.h"
#include "shell_tokenize.h"

SELFTEST(snprintf_formats)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%5d|%-4s|%04x|%llu|%c|%%", -42, "ab", 0xbeef,
             18446744073709551615ULL, 'z');
    ST_ASSERT(strcmp(buf, "  -42|ab  |beef|18446744073709551615|z|%") == 0);
    snprintf(buf, sizeof(buf), "%#x %8.3d %.2s %p", 255, 7, "xyz", (void *)0x1000);
    ST_ASSERT(strcmp(buf, "0xff      007 xy 0x1000") == 0);
    ST_ASSERT_EQ(snprintf(buf, 4, "%s", "truncated"), 9);
    ST_ASSERT(strcmp(buf, "tru") == 0);
}

SELFTEST(strtoul_bases)
{
    char *end;
    ST_ASSERT_EQ(strtoul("0x1F", &end, 0), 31);
    ST_ASSERT_EQ(*end, 0);
    ST_ASSERT_EQ(strtoul("0755", NULL, 0), 493);
    ST_ASSERT_EQ(strtol("-12abc", &end, 10), -12);
    ST_ASSERT(strcmp(end, "abc") == 0);
}

SELFTEST(calendar_round_trip)
{
    struct wall_time t = {2024, 2, 29, 23, 59, 58}, back;
    int64_t s = time_to_unix(&t);
    ST_ASSERT_EQ(s, 1709251198);
    time_from_unix(s, &back);
    ST_ASSERT(back.year == 2024 && back.month == 2 && back.day == 29 && back.hour == 23 &&
              back.minute == 59 && back.second == 58);
    time_from_unix(0, &back);
    ST_ASSERT(back.year == 1970 && back.month == 1 && back.day == 1);
}

SELFTEST(monotonic_clock_and_timer_interrupts)
{
    uint64_t t0 = time_ns(), ticks0 = timer_ticks();
    mdelay(20);
    uint64_t elapsed = time_ns() - t0;
    ST_ASSERT(elapsed >= 20 * NSEC_PER_MSEC);
    ST_ASSERT(elapsed < 2000 * NSEC_PER_MSEC);
    ST_ASSERT(timer_ticks() > ticks0); /* the periodic timer interrupt is live */
    struct wall_time now;
    time_wall(&now);
    ST_ASSERT(now.year >= 2000);
}

SELFTEST(acpi_tables_found)
{
    if (boot_info.firmware_tables != FIRMWARE_ACPI) {
        /* A device tree machine: no ACPI, and lookups say so instead of reading anything. */
        ST_ASSERT(acpi_find_table("FACP", 0) == NULL);
        ST_ASSERT(acpi_madt() == NULL);
        return;
    }
    ST_ASSERT(acpi_find_table("FACP", 0) != NULL);
    ST_ASSERT(acpi_find_table("DSDT", 0) != NULL);
    ST_ASSERT(acpi_madt() != NULL);
    ST_ASSERT(acpi_madt()->ioapic_count >= 1);
    ST_ASSERT(acpi_find_table("NONE", 0) == NULL);
}

SELFTEST(command_line_options)
{
    char value[16];
    ST_ASSERT(cmdline_has("selftest"));
    ST_ASSERT(!cmdline_has("selftes"));
    ST_ASSERT(!cmdline_get("selftest", value, sizeof(value)));
}

SELFTEST(shell_tokenizer_quotes)
{
    char line[] = "  echo \"hello world\" a\"b c\"d  ";
    char *argv[8];
    int argc = shell_tokenize(line, argv, 8);
    ST_ASSERT_EQ(argc, 3);
    ST_ASSERT(strcmp(argv[0], "echo") == 0);
    ST_ASSERT(strcmp(argv[1], "hello world") == 0);
    ST_ASSERT(strcmp(argv[2], "ab cd") == 0);
    char many[] = "a b c d e";
    ST_ASSERT_EQ(shell_tokenize(many, argv, 4), -E2BIG);
    char open_quote[] = "rm \"/a b";
    ST_ASSERT_EQ(shell_tokenize(open_quote, argv, 4), -EINVAL);
}
