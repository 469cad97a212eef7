/* Calendar conversions (proleptic Gregorian, UTC), shared by the kernel and host tools. */
#include <rayos/time.h>

static bool is_leap(unsigned year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static const uint16_t days_before_month[12] = {0,   31,  59,  90,  120, 151,
                                               181, 212, 243, 273, 304, 334};

int64_t time_to_unix(const struct wall_time *t)
{
    int64_t days = 0;
    for (unsigned y = 1970; y < t->year; y++)
        days += is_leap(y) ? 366 : 365;
    unsigned month = t->month >= 1 && t->month <= 12 ? t->month : 1;
    days += days_before_month[month - 1];
    if (month > 2 && is_leap(t->year))
        days++;
    days += (t->day ? t->day : 1) - 1;
    return days * 86400 + t->hour * 3600 + t->minute * 60 + t->second;
}

void time_from_unix(int64_t seconds, struct wall_time *out)
{
    if (seconds < 0)
        seconds = 0;
    int64_t days = seconds / 86400, rest = seconds % 86400;
    out->hour = (uint8_t)(rest / 3600);
    out->minute = (uint8_t)(rest / 60 % 60);
    out->second = (uint8_t)(rest % 60);
    unsigned year = 1970;
    while (days >= (is_leap(year) ? 366 : 365)) {
        days -= is_leap(year) ? 366 : 365;
        year++;
    }
    unsigned month = 12;
    while (month > 1) {
        unsigned before = days_before_month[month - 1] + (month > 2 && is_leap(year));
        if (days >= before) {
            days -= before;
            break;
        }
        month--;
    }
    out->year = (uint16_t)year;
    out->month = (uint8_t)month;
    out->day = (uint8_t)(days + 1);
}
