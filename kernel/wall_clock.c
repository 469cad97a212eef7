/* The wall clock: the time the architecture's real-time clock gave at boot, advanced by the
 * monotonic clock. */
#include <rayos/time.h>

static int64_t boot_unix;
static uint64_t boot_ns;

void wall_clock_set(int64_t unix_seconds)
{
    boot_unix = unix_seconds;
    boot_ns = time_ns();
}

int64_t time_unix(void)
{
    return boot_unix + (int64_t)((time_ns() - boot_ns) / NSEC_PER_SEC);
}

void time_wall(struct wall_time *out)
{
    time_from_unix(time_unix(), out);
}
