/* QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=0x04, which make run
 * and the tests add): a write of v ends the emulator with status (v << 1) | 1, so tests see the
 * kernel's verdict.  On a machine without it the write goes nowhere and the next method runs. */
#include <rayos/io.h>
#include <rayos/power.h>
#include "x86.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4

static void qemu_exit_status(int status)
{
    io_write32(QEMU_DEBUG_EXIT_PORT, (uint32_t)status);
}

/* Below ACPI, which exits QEMU with status 0; this one can only give 1. */
static void qemu_exit_off(void)
{
    qemu_exit_status(0);
}

static const struct power_method qemu_exit_method = {
    .name = "isa-debug-exit",
    .rating = 100,
    .off = qemu_exit_off,
    .exit_status = qemu_exit_status,
};

void qemu_exit_register(void)
{
    power_method_register(&qemu_exit_method);
}
