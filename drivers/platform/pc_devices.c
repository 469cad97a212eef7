/* The legacy devices every PC keeps at fixed ISA addresses, registered on the platform bus so
 * drivers (the legacy IDE fallback, a serial driver) bind to them like to PCI functions.
 * Each is registered only if something answers at its ports: an undecoded ISA port reads 0xff. */
#define pr_fmt(fmt) "platform: " fmt

#include <rayos/acpi.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/platform.h>
#include <rayos/printk.h>

#define IO(start, size)                                                                            \
    {                                                                                              \
        RESOURCE_IO, start, size, 0                                                                \
    }
/* In this table an IRQ resource's start is the ISA IRQ number; pc_devices_init() turns it into
 * the interrupt specifier (GSI and trigger) the MADT gives for it. */
#define ISA_IRQ(number)                                                                            \
    {                                                                                              \
        RESOURCE_IRQ, number, 1, 0                                                                 \
    }

/* A 16550's scratch register keeps what is written to it. */
static bool uart_present(uint16_t base)
{
    uint8_t saved = io_read8((uint16_t)(base + 7));
    io_write8((uint16_t)(base + 7), 0x5a);
    bool present = io_read8((uint16_t)(base + 7)) == 0x5a;
    io_write8((uint16_t)(base + 7), saved);
    return present;
}

static bool port_answers(uint16_t port)
{
    return io_read8(port) != 0xff;
}

struct legacy_device {
    const char *name, *type;
    uint16_t probe_port;
    bool uart;
    unsigned count;
    struct resource resources[4];
};

static const struct legacy_device legacy_devices[] = {
    {"serial0", "uart16550", 0x3f8, true, 2, {IO(0x3f8, 8), ISA_IRQ(4)}},
    {"serial1", "uart16550", 0x2f8, true, 2, {IO(0x2f8, 8), ISA_IRQ(3)}},
    {"ide0", "ide-legacy", 0x1f7, false, 3, {IO(0x1f0, 8), IO(0x3f6, 1), ISA_IRQ(14)}},
    {"ide1", "ide-legacy", 0x177, false, 3, {IO(0x170, 8), IO(0x376, 1), ISA_IRQ(15)}},
    {"i8042", "i8042", 0x64, false, 4, {IO(0x60, 1), IO(0x64, 1), ISA_IRQ(1), ISA_IRQ(12)}},
    {"rtc0", "rtc-cmos", 0, false, 2, {IO(0x70, 2), ISA_IRQ(8)}},
};

/* The device's resources with its ISA IRQs translated (MADT interrupt source overrides). */
static bool translate_resources(const struct legacy_device *d, struct resource *out)
{
    for (unsigned i = 0; i < d->count; i++) {
        out[i] = d->resources[i];
        struct irq_spec spec;
        if (out[i].type != RESOURCE_IRQ)
            continue;
        if (acpi_isa_irq_spec((unsigned)out[i].start, &spec) != 0) {
            pr_err("%s: ISA IRQ %llu does not exist\n", d->name, (unsigned long long)out[i].start);
            return false;
        }
        out[i] = resource_from_irq_spec(&spec);
    }
    return true;
}

static int pc_devices_init(void)
{
    unsigned registered = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(legacy_devices); i++) {
        const struct legacy_device *d = &legacy_devices[i];
        bool present = d->uart ? uart_present(d->probe_port)
                               : d->probe_port == 0 || port_answers(d->probe_port);
        struct resource resources[ARRAY_SIZE(d->resources)];
        if (!present || !translate_resources(d, resources))
            continue;
        if (platform_device_create(d->name, d->type, resources, d->count))
            registered++;
    }
    pr_info("%u legacy devices\n", registered);
    return 0;
}
INITCALL(pc_devices_init, INIT_BUS);
