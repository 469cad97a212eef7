/* Machine reset without ACPI: the PCI reset control register (0xcf9), the keyboard controller's
 * reset line, and as a last resort a triple fault.  The last power method tried for a reboot. */
#include <rayos/arch.h>
#include <rayos/io.h>
#include <rayos/power.h>
#include <rayos/time.h>
#include "x86.h"

static void pc_reset(void)
{
    io_write8(0xcf9, 0x02);
    udelay(50);
    io_write8(0xcf9, 0x06); /* full reset */
    mdelay(50);
    for (int i = 0; i < 10000 && (io_read8(0x64) & 0x02); i++)
        udelay(10);
    io_write8(0x64, 0xfe);
    mdelay(50);
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __packed empty_idt = {0, 0};
    __asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
    arch_halt();
}

static const struct power_method pc_reset_method = {
    .name = "pc-reset",
    .rating = 50,
    .reboot = pc_reset,
};

void pc_reset_register(void)
{
    power_method_register(&pc_reset_method);
}
