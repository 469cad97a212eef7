/* The early console: COM1's 16550 set up and written by polling from the first line of boot,
 * until the uart16550 driver binds to the platform device for the same ports ("serial0") and
 * its console takes over (console_register_early).  It also reads by polling, so the shell
 * keeps working if that driver is unbound.  The FIFOs are set up here, once, before any input
 * can arrive: QEMU clears the receive FIFO whenever the FIFO-enable bit changes. */
#include <rayos/console.h>
#include <rayos/io.h>
#include <rayos/lock.h>
#include "x86.h"

#define COM1 0x3f8
enum {
    REG_DATA = 0,
    REG_INTERRUPT_ENABLE = 1,
    REG_FIFO_CONTROL = 2,
    REG_LINE_CONTROL = 3,
    REG_MODEM_CONTROL = 4,
    REG_LINE_STATUS = 5,
};
#define LSR_DATA_READY     0x01
#define LSR_TX_EMPTY       0x20
#define LINE_8N1           0x03
#define LINE_DLAB          0x80
#define MODEM_DTR_RTS_OUT2 0x0b

static void early_put(char c)
{
    /* Bounded wait: a wedged UART must not hang the kernel. */
    for (int i = 0; i < 100000 && !(io_read8(COM1 + REG_LINE_STATUS) & LSR_TX_EMPTY); i++)
        cpu_relax();
    io_write8(COM1 + REG_DATA, (uint8_t)c);
}

static void early_write(struct console *c, const char *text, size_t length)
{
    (void)c;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n')
            early_put('\r');
        early_put(text[i]);
    }
}

static void early_poll(struct console *c)
{
    (void)c;
    for (int i = 0; i < 64 && (io_read8(COM1 + REG_LINE_STATUS) & LSR_DATA_READY); i++)
        console_input_push((char)io_read8(COM1 + REG_DATA));
}

static struct console early_console = {
    .name = "com1-early", .write = early_write, .poll = early_poll};

void x86_early_console_init(void)
{
    io_write8(COM1 + REG_INTERRUPT_ENABLE, 0);
    io_write8(COM1 + REG_LINE_CONTROL, LINE_DLAB);
    io_write8(COM1 + REG_DATA, 1); /* divisor 1: 115200 baud */
    io_write8(COM1 + REG_INTERRUPT_ENABLE, 0);
    io_write8(COM1 + REG_LINE_CONTROL, LINE_8N1);
    io_write8(COM1 + REG_FIFO_CONTROL, 0x07); /* enable and clear FIFOs, 1-byte trigger */
    io_write8(COM1 + REG_MODEM_CONTROL, MODEM_DTR_RTS_OUT2);
    /* A floating bus reads 0xff; a real UART never reports every status bit at once. */
    if (io_read8(COM1 + REG_LINE_STATUS) != 0xff)
        console_register_early(&early_console, RESOURCE_IO, COM1);
}
