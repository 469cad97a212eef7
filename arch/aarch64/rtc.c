/* Wall-clock time at boot from the PL031 real-time clock (its data register counts seconds
 * since 1970); without one the clock starts at the epoch and says so. */
#define pr_fmt(fmt) "rtc: " fmt
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/time.h>
#include "aarch64.h"
#include "machine.h"

#define PL031_DR 0x00

void rtc_init(void)
{
    if (!machine.rtc) {
        pr_warn("no PL031 in the device tree: the wall clock starts at 1970-01-01");
        wall_clock_set(0);
        return;
    }
    volatile uint8_t *rtc = map_phys(machine.rtc, 0x1000, MAP_UNCACHED);
    if (!rtc) {
        pr_warn("cannot map the PL031 at 0x%llx", (unsigned long long)machine.rtc);
        wall_clock_set(0);
        return;
    }
    uint32_t seconds = mmio_read32(rtc + PL031_DR);
    unmap_phys((void *)rtc, 0x1000);
    wall_clock_set(seconds);
    struct wall_time t;
    time_from_unix(seconds, &t);
    pr_info("%04u-%02u-%02u %02u:%02u:%02u UTC", t.year, t.month, t.day, t.hour, t.minute,
            t.second);
}
