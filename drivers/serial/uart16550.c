/* 16550 UARTs ("uart16550" platform devices: an I/O range of 8 ports and an interrupt) as
 * consoles: polled output, interrupt-driven receive (polled when the interrupt cannot be had).
 * The console of the port the early console uses takes over from it when it registers.
 * QEMU resets the receive FIFO whenever the FIFO-enable bit changes, so FIFOs already on (the
 * early console set them up before any input could arrive) are left alone. */
#define pr_fmt(fmt) "serial: " fmt
#include <rayos/console.h>
#include <rayos/errno.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/lock.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/string.h>

enum {
    REG_DATA = 0,             /* with DLAB: divisor latch low */
    REG_INTERRUPT_ENABLE = 1, /* with DLAB: divisor latch high */
    REG_INTERRUPT_ID = 2,     /* read */
    REG_FIFO_CONTROL = 2,     /* write */
    REG_LINE_CONTROL = 3,
    REG_MODEM_CONTROL = 4,
    REG_LINE_STATUS = 5,
};
#define IER_RECEIVED_DATA  0x01
#define IIR_FIFOS_ENABLED  0xc0
#define FCR_ENABLE_CLEAR   0x07 /* enable and clear both FIFOs, 1-byte receive trigger */
#define LSR_DATA_READY     0x01
#define LSR_TX_EMPTY       0x20
#define LINE_8N1           0x03
#define LINE_DLAB          0x80
#define MODEM_DTR_RTS_OUT2 0x0b /* OUT2 gates the UART's interrupt line on PCs */
#define DIVISOR_115200     1

struct uart {
    struct console console;
    char name[DEVICE_NAME_MAX];
    uint16_t base;
    int irq;       /* -1: input is polled */
    uint32_t line; /* the interrupt line, when irq >= 0 */
    bool fifo;
    struct spinlock rx_lock; /* the interrupt vs. a polling CPU */
};

static void uart_put(struct uart *u, char c)
{
    /* Bounded wait: a missing or wedged UART must not hang the kernel. */
    for (int i = 0; i < 100000 && !(io_read8(u->base + REG_LINE_STATUS) & LSR_TX_EMPTY); i++)
        cpu_relax();
    io_write8(u->base + REG_DATA, (uint8_t)c);
}

static void uart_write(struct console *c, const char *text, size_t length)
{
    struct uart *u = c->context;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n')
            uart_put(u, '\r');
        uart_put(u, text[i]);
    }
}

static void uart_receive(struct uart *u)
{
    irqflags_t flags = spin_lock_irqsave(&u->rx_lock);
    for (int i = 0; i < 64 && (io_read8(u->base + REG_LINE_STATUS) & LSR_DATA_READY); i++)
        console_input_push((char)io_read8(u->base + REG_DATA));
    spin_unlock_irqrestore(&u->rx_lock, flags);
}

static void uart_interrupt(void *context)
{
    uart_receive(context);
}

static void uart_poll(struct console *c)
{
    uart_receive(c->context);
}

/* 115200 baud 8N1, FIFOs, interrupt output enabled; run with console output held off, since
 * the early console may be writing through this UART while the divisor latch is selected. */
static void program_line(void *context)
{
    struct uart *u = context;
    io_write8(u->base + REG_INTERRUPT_ENABLE, 0);
    io_write8(u->base + REG_LINE_CONTROL, LINE_DLAB);
    io_write8(u->base + REG_DATA, DIVISOR_115200);
    io_write8(u->base + REG_INTERRUPT_ENABLE, 0);
    io_write8(u->base + REG_LINE_CONTROL, LINE_8N1);
    if ((io_read8(u->base + REG_INTERRUPT_ID) & IIR_FIFOS_ENABLED) != IIR_FIFOS_ENABLED)
        io_write8(u->base + REG_FIFO_CONTROL, FCR_ENABLE_CLEAR);
    u->fifo = (io_read8(u->base + REG_INTERRUPT_ID) & IIR_FIFOS_ENABLED) == IIR_FIFOS_ENABLED;
    io_write8(u->base + REG_MODEM_CONTROL, MODEM_DTR_RTS_OUT2);
}

/* Working FIFOs (IIR bits 6-7 both set once enabled) make a 16550A. */
static const char *model(const struct uart *u)
{
    return u->fifo ? "16550A" : "8250/16450 (no FIFOs)";
}

/* "serial0" is ttyS0; a device named otherwise keeps its name. */
static void console_name(const struct device *dev, char *name, size_t size)
{
    if (strncmp(dev->name, "serial", 6) == 0 && dev->name[6])
        snprintf(name, size, "ttyS%s", dev->name + 6);
    else
        snprintf(name, size, "%s", dev->name);
}

static int uart_probe(struct platform_device *pdev)
{
    struct uart *u = pdev->dev.driver_data;
    const struct resource *io = device_resource(&pdev->dev, RESOURCE_IO, 0);
    if (!io || io->size < 8 || io->start > 0xfff8) {
        pr_err("%s: needs an I/O range of 8 ports", pdev->dev.name);
        return -EINVAL;
    }
    u->base = (uint16_t)io->start;
    /* A floating bus reads 0xff; a real UART never reports every status bit at once. */
    if (io_read8(u->base + REG_LINE_STATUS) == 0xff)
        return -ENODEV;
    console_name(&pdev->dev, u->name, sizeof(u->name));
    u->rx_lock = (struct spinlock)SPINLOCK_INIT("uart rx");
    console_hold_output(program_line, u);
    u->irq = console_claim_input_irq(&pdev->dev, uart_interrupt, u, u->name, &u->line);
    u->console = (struct console){
        .name = u->name,
        .device = &pdev->dev,
        .write = uart_write,
        .poll = uart_poll,
        .context = u,
    };
    int error = console_register(&u->console);
    if (error)
        return error;
    if (u->irq >= 0) {
        io_write8(u->base + REG_INTERRUPT_ENABLE, IER_RECEIVED_DATA);
        uart_receive(u); /* anything typed before the interrupt was on */
        pr_info("%s at I/O %#x (irq %u) is a %s", u->name, u->base, u->line, model(u));
    } else {
        pr_info("%s at I/O %#x (polled) is a %s", u->name, u->base, model(u));
    }
    return 0;
}

static void uart_remove(struct platform_device *pdev)
{
    struct uart *u = pdev->dev.driver_data;
    io_write8(u->base + REG_INTERRUPT_ENABLE, 0);
    console_unregister(&u->console); /* the core then releases the interrupt */
}

static const char *const uart_types[] = {"uart16550", NULL};

static struct platform_driver uart_driver = {
    .name = "uart16550",
    .types = uart_types,
    .priv_size = sizeof(struct uart),
    .probe = uart_probe,
    .remove = uart_remove,
};

/* Registered before the buses enumerate, so the console binds as soon as its device appears. */
static int uart16550_init(void)
{
    return platform_register_driver(&uart_driver);
}
INITCALL(uart16550_init, INIT_CORE);
