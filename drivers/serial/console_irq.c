/* The receive interrupt of a UART that is a console, for its driver: claimed as a managed
 * resource of the device, or, when the device describes none or it cannot be had, left to the
 * shell's polling of every console (<rayos/console.h>). */
#define pr_fmt(fmt) "serial: " fmt
#include <rayos/console.h>
#include <rayos/devres.h>
#include <rayos/irq.h>
#include <rayos/printk.h>

static void release_input_irq(void *handle)
{
    irq_release((int)(intptr_t)handle);
}

int console_claim_input_irq(struct device *dev, irq_handler_t handler, void *context,
                            const char *name, unsigned *line)
{
    struct irq_spec spec;
    if (device_irq_spec(dev, 0, &spec) != 0) {
        pr_warn("%s: no interrupt described; input is polled", name);
        return -1;
    }
    *line = spec.line;
    int irq = irq_claim(&spec, handler, context, name);
    if (irq < 0) {
        pr_warn("%s: cannot claim interrupt line %u (%d); input is polled", name, spec.line, irq);
        return -1;
    }
    if (devm_add_action(dev, release_input_irq, (void *)(intptr_t)irq, "console interrupt")) {
        irq_release(irq);
        pr_warn("%s: no memory to keep interrupt line %u; input is polled", name, spec.line);
        return -1;
    }
    return irq;
}
