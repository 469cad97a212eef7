/* The CMOS real-time clock, read once at boot; the wall clock then advances with the monotonic
 * clock. */
#define pr_fmt(fmt) "rtc: " fmt
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/time.h>
#include "x86.h"

static uint8_t cmos_read(uint8_t reg)
{
    io_write8(0x70, reg | 0x80); /* bit 7 keeps NMIs disabled while we talk to the chip */
    return io_read8(0x71);
}

static bool update_in_progress(void)
{
    return cmos_read(0x0a) & 0x80;
}

static unsigned from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

struct rtc_raw {
    uint8_t second, minute, hour, day, month, year, century;
};

static void read_raw(struct rtc_raw *r)
{
    for (int i = 0; i < 100000 && update_in_progress(); i++)
        cpu_relax();
    r->second = cmos_read(0x00);
    r->minute = cmos_read(0x02);
    r->hour = cmos_read(0x04);
    r->day = cmos_read(0x07);
    r->month = cmos_read(0x08);
    r->year = cmos_read(0x09);
    r->century = cmos_read(0x32);
}

void rtc_init(void)
{
    struct rtc_raw a, b;
    /* Read until two reads agree, so an update between registers cannot tear the value. */
    read_raw(&a);
    for (int tries = 0; tries < 5; tries++) {
        read_raw(&b);
        if (__builtin_memcmp(&a, &b, sizeof(a)) == 0)
            break;
        a = b;
    }
    uint8_t status_b = cmos_read(0x0b);
    bool bcd = !(status_b & 0x04), twelve_hour = !(status_b & 0x02);
    bool pm = a.hour & 0x80;
    a.hour &= 0x7f;
    struct wall_time t;
    t.second = (uint8_t)(bcd ? from_bcd(a.second) : a.second);
    t.minute = (uint8_t)(bcd ? from_bcd(a.minute) : a.minute);
    t.hour = (uint8_t)(bcd ? from_bcd(a.hour) : a.hour);
    t.day = (uint8_t)(bcd ? from_bcd(a.day) : a.day);
    t.month = (uint8_t)(bcd ? from_bcd(a.month) : a.month);
    unsigned year = bcd ? from_bcd(a.year) : a.year;
    unsigned century = bcd ? from_bcd(a.century) : a.century;
    if (twelve_hour && pm)
        t.hour = (uint8_t)((t.hour % 12) + 12);
    else if (twelve_hour && t.hour == 12)
        t.hour = 0;
    t.year = (uint16_t)((century >= 19 && century <= 30 ? century * 100 : 2000) + year);
    if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 ||
        t.second > 60) {
        pr_warn("CMOS clock holds an impossible date; using 2000-01-01");
        t = (struct wall_time){2000, 1, 1, 0, 0, 0};
    }
    wall_clock_set(time_to_unix(&t));
    pr_info("%04u-%02u-%02u %02u:%02u:%02u UTC", t.year, t.month, t.day, t.hour, t.minute,
            t.second);
}
