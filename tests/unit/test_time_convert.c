/* Calendar conversions used for file timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include <rayos/time.h>

static void test_matches_libc_gmtime(void **state)
{
    /* Every 7919 seconds over 1970-2107 (FAT's date range) against the C library. */
    for (int64_t s = 0; s < 4354819200LL; s += 7919 * 1024) {
        time_t t = (time_t)s;
        struct tm tm;
        gmtime_r(&t, &tm);
        struct wall_time w;
        time_from_unix(s, &w);
        assert_int_equal(w.year, tm.tm_year + 1900);
        assert_int_equal(w.month, tm.tm_mon + 1);
        assert_int_equal(w.day, tm.tm_mday);
        assert_int_equal(w.hour, tm.tm_hour);
        assert_int_equal(w.minute, tm.tm_min);
        assert_int_equal(w.second, tm.tm_sec);
        assert_int_equal(time_to_unix(&w), s);
    }
}

static void test_leap_days(void **state)
{
    struct wall_time w = {2000, 2, 29, 0, 0, 0};
    assert_int_equal(time_to_unix(&w), 951782400);
    w = (struct wall_time){2100, 3, 1, 0, 0, 0};
    struct wall_time back;
    time_from_unix(time_to_unix(&w), &back);
    assert_int_equal(back.month, 3);
    assert_int_equal(back.day, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_libc_gmtime),
        cmocka_unit_test(test_leap_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
