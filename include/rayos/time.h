/* Time: a monotonic clock in nanoseconds since boot and the wall clock. */
#ifndef RAYOS_TIME_H
#define RAYOS_TIME_H

#include <rayos/types.h>

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC  1000000000ULL

/* Nanoseconds since kernel entry; never goes backwards. */
uint64_t time_ns(void);

/* Busy-waits (for device timing that must not depend on interrupts). */
void udelay(uint64_t usec);
void mdelay(uint64_t msec);

struct wall_time {
    uint16_t year; /* e.g. 2026 */
    uint8_t month; /* 1..12 */
    uint8_t day;   /* 1..31 */
    uint8_t hour, minute, second;
};

/* Current wall-clock time (UTC, from the CMOS RTC at boot plus the monotonic clock). */
void time_wall(struct wall_time *out);
/* Called by the architecture's real-time clock code once at boot. */
void wall_clock_set(int64_t unix_seconds);

/* Seconds since 1970-01-01 00:00:00 UTC. */
int64_t time_unix(void);
void time_from_unix(int64_t seconds, struct wall_time *out);
int64_t time_to_unix(const struct wall_time *t);

#endif
