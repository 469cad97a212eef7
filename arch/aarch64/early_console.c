/* The boot console: the PL011 that /chosen stdout-path names, written by polling from the first
 * line of the log until the PL011 driver binds to it.  Before the kernel page tables exist it
 * is reached through the boot identity map (which covers the first gigabyte, where QEMU's virt
 * machine has its UART); afterwards through map_phys.  Input is polled. */
#include <rayos/console.h>
#include <rayos/io.h>
#include <rayos/mm.h>
#include "aarch64.h"
#include "machine.h"

#define PL011_DR 0x00
#define PL011_FR 0x18
#define FR_RXFE  (1u << 4)
#define FR_TXFF  (1u << 5)

static volatile uint8_t *uart;

static void early_write(struct console *c, const char *text, size_t length)
{
    (void)c;
    if (!uart)
        return;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n') {
            while (mmio_read32(uart + PL011_FR) & FR_TXFF)
                cpu_relax();
            mmio_write32(uart + PL011_DR, '\r');
        }
        while (mmio_read32(uart + PL011_FR) & FR_TXFF)
            cpu_relax();
        mmio_write32(uart + PL011_DR, (uint8_t)text[i]);
    }
}

/* Input by polling (the shell polls every console while it waits), until the driver's
 * interrupt-driven console replaces this one. */
static void early_poll(struct console *c)
{
    (void)c;
    for (int i = 0; uart && i < 64 && !(mmio_read32(uart + PL011_FR) & FR_RXFE); i++)
        console_input_push((char)(mmio_read32(uart + PL011_DR) & 0xff));
}

static struct console early_console = {
    .name = "pl011-early", .write = early_write, .poll = early_poll};

void early_console_init(void)
{
    if (!machine.uart || machine.uart >= GiB)
        return;
    uart = (volatile uint8_t *)machine.uart;
    console_register_early(&early_console, RESOURCE_MEM, machine.uart);
}

/* After paging_init: the identity map is gone. */
void early_console_remap(void);
void early_console_remap(void)
{
    if (machine.uart)
        uart = map_phys(machine.uart, 0x1000, MAP_UNCACHED);
}
