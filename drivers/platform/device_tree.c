/* The device tree as a source of devices: every enabled node with a `compatible` directly under
 * the root or a simple-bus becomes a platform device whose type is its first compatible string
 * ("arm,pl011", "virtio,mmio"), with its registers (translated through the buses' `ranges`) and
 * interrupts as resources.  Nodes the architecture or another bus drives are left to them.  A
 * malformed node is reported by name and skipped; the boot goes on. */
#define pr_fmt(fmt) "fdt: " fmt
#include <rayos/boot_info.h>
#include <rayos/device_tree.h>
#include <rayos/errno.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define DEVICE_REGS_MAX 4
#define DEVICE_IRQS_MAX 4

/* Driven by the architecture (interrupt controller, timer, firmware calls) or by the PCI host
 * bridge code, not by platform drivers. */
static const char *const not_platform_devices[] = {
    "arm,gic-v3",   "arm,armv8-timer",       "arm,psci", "arm,psci-0.2",
    "arm,psci-1.0", "pci-host-ecam-generic", NULL,
};

const struct fdt *device_tree(void)
{
    static struct fdt fdt;
    static bool tried, valid;
    if (tried)
        return valid ? &fdt : NULL;
    tried = true;
    if (boot_info.firmware_tables != FIRMWARE_DEVICE_TREE || !boot_info.dtb_size)
        return NULL;
    const void *blob = map_phys(boot_info.dtb, boot_info.dtb_size, MAP_CACHED);
    if (!blob) {
        pr_err("cannot map the device tree at %#llx\n", (unsigned long long)boot_info.dtb);
        return NULL;
    }
    if (fdt_open(&fdt, blob, boot_info.dtb_size) != 0) {
        pr_err("device tree rejected: %s\n", fdt.why);
        return NULL;
    }
    valid = true;
    return &fdt;
}

/* GIC bindings: <type number flags>, type 0 = SPI (INTID 32 + n), 1 = PPI (16 + n); flags 1
 * rising edge, 2 falling edge, 4 level high, 8 level low. */
static int decode_gic(const void *cells, struct irq_spec *out)
{
    uint32_t type = (uint32_t)fdt_cells(cells, 1);
    uint32_t number = (uint32_t)fdt_cells((const uint8_t *)cells + 4, 1);
    uint32_t flags = (uint32_t)fdt_cells((const uint8_t *)cells + 8, 1) & 0xf;
    if ((type == 0 && number > 987) || (type == 1 && number > 15) || type > 1)
        return -EINVAL;
    out->line = (type == 0 ? 32 : 16) + number;
    out->trigger = flags == 2   ? IRQ_EDGE_LOW
                   : flags == 4 ? IRQ_LEVEL_HIGH
                   : flags == 8 ? IRQ_LEVEL_LOW
                                : IRQ_EDGE_HIGH;
    return 0;
}

int device_tree_decode_irq(const struct fdt *fdt, int controller, const void *cells,
                           struct irq_spec *out)
{
    if ((fdt_is_compatible(fdt, controller, "arm,gic-v3") ||
         fdt_is_compatible(fdt, controller, "arm,cortex-a15-gic") ||
         fdt_is_compatible(fdt, controller, "arm,gic-400")) &&
        fdt_interrupt_cells(fdt, controller) == 3)
        return decode_gic(cells, out);
    return -EINVAL;
}

int device_tree_irq_spec(const struct fdt *fdt, int node, unsigned index, struct irq_spec *out)
{
    uint32_t len;
    const uint8_t *irqs = fdt_property(fdt, node, "interrupts", &len);
    if (!irqs)
        return -ENOENT;
    int controller = fdt_interrupt_parent(fdt, node);
    unsigned cells = controller != FDT_NONE ? fdt_interrupt_cells(fdt, controller) : 0;
    if (!cells || len % (cells * 4))
        return -EINVAL;
    if ((uint64_t)(index + 1) * cells * 4 > len)
        return -ENOENT;
    return device_tree_decode_irq(fdt, controller, irqs + index * cells * 4, out);
}

static bool is_platform_device(const struct fdt *fdt, int node)
{
    uint32_t len;
    const void *compatible = fdt_property(fdt, node, "compatible", &len);
    if (!compatible || !fdt_node_enabled(fdt, node) || node == fdt->root)
        return false;
    for (unsigned i = 0; not_platform_devices[i]; i++)
        if (fdt_stringlist_contains(compatible, len, not_platform_devices[i]))
            return false;
    int parent = fdt_parent(fdt, node);
    return parent == fdt->root || fdt_is_compatible(fdt, parent, "simple-bus");
}

/* The node's registers and interrupts; false (with a warning naming it) if malformed. */
static bool node_resources(const struct fdt *fdt, int node, struct resource *out, unsigned *count)
{
    const char *name = fdt_node_name(fdt, node);
    *count = 0;
    for (unsigned i = 0; i < DEVICE_REGS_MAX; i++) {
        uint64_t address, size;
        int error = fdt_reg(fdt, node, i, &address, &size);
        if (error == -ENOENT)
            break;
        if (error || !size || address + size < address) {
            pr_warn("%s: reg %u is malformed or not reachable (%d); device skipped\n", name, i,
                    error);
            return false;
        }
        out[(*count)++] = (struct resource){RESOURCE_MEM, address, size, 0};
    }
    for (unsigned i = 0; i < DEVICE_IRQS_MAX; i++) {
        struct irq_spec spec;
        int error = device_tree_irq_spec(fdt, node, i, &spec);
        if (error == -ENOENT)
            break;
        if (error) {
            pr_warn("%s: interrupt %u cannot be decoded; device skipped\n", name, i);
            return false;
        }
        out[(*count)++] = resource_from_irq_spec(&spec);
    }
    return true;
}

static int device_tree_devices_init(void)
{
    const struct fdt *fdt = device_tree();
    if (!fdt)
        return -ENODEV;
    unsigned created = 0;
    for (int node = fdt_next_node(fdt, FDT_NONE); node != FDT_NONE;
         node = fdt_next_node(fdt, node)) {
        if (!is_platform_device(fdt, node))
            continue;
        struct resource resources[DEVICE_REGS_MAX + DEVICE_IRQS_MAX];
        unsigned count;
        if (!node_resources(fdt, node, resources, &count) || count == 0)
            continue; /* malformed (said), or nothing to drive (clocks, key maps) */
        uint32_t len;
        const char *type = fdt_stringlist_get(fdt_property(fdt, node, "compatible", &len), len, 0);
        if (!type) {
            pr_warn("%s: compatible is not a string list; device skipped\n",
                    fdt_node_name(fdt, node));
            continue;
        }
        if (platform_device_create(fdt_node_name(fdt, node), type, resources, count))
            created++;
    }
    pr_info("%u devices from the device tree\n", created);
    return 0;
}
INITCALL(device_tree_devices_init, INIT_BUS);
