/* 16550 UART on COM1: polled output, interrupt-driven receive.  QEMU resets the receive FIFO
 * whenever the FIFO-enable bit changes, so the FIFO is set up once, first, before any input can
 * arrive, and never touched again. */
#define pr_fmt(fmt) "serial: " fmt
#include <rayos/console.h>
#include <rayos/errno.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/uart16550.h>

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
#define MODEM_DTR_RTS_OUT2 0x0b /* OUT2 gates the UART's interrupt line on PCs */

static bool present;
static struct spinlock rx_lock = SPINLOCK_INIT("uart rx"); /* interrupt vs. polling CPU */

static void uart_put(char c)
{
    /* Bounded wait: a missing or wedged UART must not hang the kernel. */
    for (int i = 0; i < 100000 && !(io_read8(COM1 + REG_LINE_STATUS) & LSR_TX_EMPTY); i++)
        cpu_relax();
    io_write8(COM1 + REG_DATA, (uint8_t)c);
}

static void uart_write(const char *text, size_t length)
{
    if (!present)
        return;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n')
            uart_put('\r');
        uart_put(text[i]);
    }
}

static void uart_poll(void);
static const struct console_driver uart_console = {"ttyS0", uart_write, uart_poll};

void uart16550_early_init(void)
{
    io_write8(COM1 + REG_INTERRUPT_ENABLE, 0);
    io_write8(COM1 + REG_LINE_CONTROL, LINE_DLAB);
    io_write8(COM1 + REG_DATA, 1); /* divisor 1: 115200 baud */
    io_write8(COM1 + REG_INTERRUPT_ENABLE, 0);
    io_write8(COM1 + REG_LINE_CONTROL, LINE_8N1);
    io_write8(COM1 + REG_FIFO_CONTROL, 0x07); /* enable and clear FIFOs, 1-byte trigger */
    io_write8(COM1 + REG_MODEM_CONTROL, MODEM_DTR_RTS_OUT2);
    /* A floating bus reads 0xff; a real UART never reports every status bit at once. */
    present = io_read8(COM1 + REG_LINE_STATUS) != 0xff;
    console_register(&uart_console);
}

static void uart_interrupt(void *context)
{
    (void)context;
    irqflags_t flags = spin_lock_irqsave(&rx_lock);
    for (int i = 0; i < 64 && (io_read8(COM1 + REG_LINE_STATUS) & LSR_DATA_READY); i++)
        console_input_push((char)io_read8(COM1 + REG_DATA));
    spin_unlock_irqrestore(&rx_lock, flags);
}

static void uart_poll(void)
{
    if (present)
        uart_interrupt(NULL);
}

static int uart16550_irq_init(void)
{
    if (!present)
        return -ENODEV;
    int irq = irq_claim_isa(4, uart_interrupt, NULL, "ttyS0");
    if (irq < 0) {
        pr_err("cannot claim IRQ 4 (%d); input is polled", irq);
        return irq;
    }
    io_write8(COM1 + REG_INTERRUPT_ENABLE, 0x01); /* received data available */
    uart_interrupt(NULL);                         /* anything typed before the IRQ was on */
    pr_info("ttyS0 at I/O 0x3f8 (irq 4) is a 16550A");
    return 0;
}
INITCALL(uart16550_irq_init, INIT_CORE);
