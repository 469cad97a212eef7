/* Leaving QEMU with a status (power_exit, for tests) through Arm semihosting's SYS_EXIT, when
 * QEMU runs with -semihosting-config enable=on (arch.mk's QEMU line); probed at boot with a
 * harmless call, so a machine without it just does not get the method. */
#define pr_fmt(fmt) "power: " fmt
#include <rayos/power.h>
#include <rayos/printk.h>
#include "aarch64.h"

#define SYS_ERRNO                    0x13
#define SYS_EXIT                     0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

uint64_t semihosting_call(uint64_t operation, uint64_t argument);

static void semihosting_exit(int status)
{
    /* AArch64 SYS_EXIT takes a block: the reason and, for an application exit, the status. */
    static uint64_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint64_t)(int64_t)status;
    semihosting_call(SYS_EXIT, (uint64_t)block);
}

static void semihosting_off(void)
{
    semihosting_exit(0);
}

static const struct power_method semihosting_power = {
    .name = "semihosting",
    .rating = 50, /* PSCI powers off and resets; semihosting only adds the exit status */
    .off = semihosting_off,
    .reboot = NULL,
    .exit_status = semihosting_exit,
};

void semihosting_init(void)
{
    if (semihosting_call(SYS_ERRNO, 0) == (uint64_t)-1)
        return; /* the trap was an undefined instruction: no semihosting here */
    power_method_register(&semihosting_power);
    pr_info("semihosting: exit status reported to the emulator");
}
