/* Arm PL011 UARTs ("arm,pl011" platform devices from the device tree: a register window and an
 * interrupt) as consoles: polled output, interrupt-driven receive (polled when the interrupt
 * cannot be had).  The line settings the firmware or QEMU left are kept: the boot console has
 * been writing through them since the first log line. */
#define pr_fmt(fmt) "serial: " fmt
#include <rayos/console.h>
#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/lock.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define PL011_DR   0x00
#define PL011_FR   0x18
#define PL011_IMSC 0x38 /* interrupt mask set/clear: 1 enables */
#define PL011_ICR  0x44
#define FR_RXFE    (1u << 4)
#define FR_TXFF    (1u << 5)
#define INT_RX     (1u << 4)
#define INT_RT     (1u << 6) /* receive timeout: characters sit below the FIFO level */

struct pl011 {
    struct console console;
    char name[DEVICE_NAME_MAX];
    volatile uint8_t *regs;
    phys_addr_t phys;
    int irq; /* -1: input is polled */
    struct spinlock rx_lock;
};

static void pl011_put(struct pl011 *u, char c)
{
    /* Bounded wait: a wedged UART must not hang the kernel. */
    for (int i = 0; i < 100000 && (mmio_read32(u->regs + PL011_FR) & FR_TXFF); i++)
        cpu_relax();
    mmio_write32(u->regs + PL011_DR, (uint8_t)c);
}

static void pl011_write(struct console *c, const char *text, size_t length)
{
    struct pl011 *u = c->context;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n')
            pl011_put(u, '\r');
        pl011_put(u, text[i]);
    }
}

static void pl011_receive(struct pl011 *u)
{
    irqflags_t flags = spin_lock_irqsave(&u->rx_lock);
    for (int i = 0; i < 64 && !(mmio_read32(u->regs + PL011_FR) & FR_RXFE); i++)
        console_input_push((char)(mmio_read32(u->regs + PL011_DR) & 0xff));
    mmio_write32(u->regs + PL011_ICR, INT_RX | INT_RT);
    spin_unlock_irqrestore(&u->rx_lock, flags);
}

static void pl011_interrupt(void *context)
{
    pl011_receive(context);
}

static void pl011_poll(struct console *c)
{
    pl011_receive(c->context);
}

/* The n-th PL011 is ttyAMAn, as Linux names them. */
static void pl011_name(char *name, size_t size)
{
    static unsigned next;
    snprintf(name, size, "ttyAMA%u", __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED));
}

static int pl011_probe(struct platform_device *pdev)
{
    struct pl011 *u = pdev->dev.driver_data;
    const struct resource *mem = device_resource(&pdev->dev, RESOURCE_MEM, 0);
    if (!mem || mem->size < 0x48) {
        pr_err("%s: needs a register window of at least 0x48 bytes", pdev->dev.name);
        return -EINVAL;
    }
    u->phys = mem->start;
    u->regs = devm_map_phys(&pdev->dev, mem->start, mem->size, MAP_UNCACHED);
    if (!u->regs)
        return -ENOMEM;
    pl011_name(u->name, sizeof(u->name));
    u->rx_lock = (struct spinlock)SPINLOCK_INIT("pl011 rx");
    unsigned line;
    u->irq = console_claim_input_irq(&pdev->dev, pl011_interrupt, u, u->name, &line);
    u->console = (struct console){
        .name = u->name,
        .device = &pdev->dev,
        .write = pl011_write,
        .poll = pl011_poll,
        .context = u,
    };
    int error = console_register(&u->console);
    if (error)
        return error;
    if (u->irq >= 0) {
        mmio_write32(u->regs + PL011_IMSC, INT_RX | INT_RT);
        pl011_receive(u); /* anything typed before the interrupt was on */
    }
    pr_info("%s at MMIO %#llx (%s) is a PL011", u->name, (unsigned long long)u->phys,
            u->irq >= 0 ? "interrupt-driven" : "polled");
    return 0;
}

static void pl011_remove(struct platform_device *pdev)
{
    struct pl011 *u = pdev->dev.driver_data;
    mmio_write32(u->regs + PL011_IMSC, 0);
    console_unregister(&u->console); /* the core then releases the interrupt */
}

static const char *const pl011_types[] = {"arm,pl011", NULL};

static struct platform_driver pl011_driver = {
    .name = "pl011",
    .types = pl011_types,
    .priv_size = sizeof(struct pl011),
    .probe = pl011_probe,
    .remove = pl011_remove,
};

/* Registered before the buses enumerate, so the console binds as soon as its device appears. */
static int pl011_init(void)
{
    return platform_register_driver(&pl011_driver);
}
INITCALL(pl011_init, INIT_CORE);
