/* Platform devices from a flattened device tree (see <rayos/fdt_devices.h>). */
#define pr_fmt(fmt) "fdt: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/fdt_devices.h>
#include <rayos/heap.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define GIC_SPI_BASE 32 /* INTIDs of shared peripheral interrupts start here */
#define GIC_PPI_BASE 16 /* and of private peripheral interrupts here */
#define GIC_SPI_MAX  988
#define GIC_PPI_MAX  16

/* Trigger bits of the common interrupt flags cell (bindings/interrupt-controller). */
#define IRQ_TYPE_EDGE_RISING  1u
#define IRQ_TYPE_EDGE_FALLING 2u
#define IRQ_TYPE_LEVEL_HIGH   4u
#define IRQ_TYPE_LEVEL_LOW    8u

static bool is_gic(const struct fdt *fdt, int controller)
{
    static const char *const gics[] = {"arm,gic-v3", "arm,cortex-a15-gic", "arm,gic-400",
                                       "arm,cortex-a9-gic", "arm,cortex-a7-gic"};
    for (unsigned i = 0; i < ARRAY_SIZE(gics); i++)
        if (fdt_is_compatible(fdt, controller, gics[i]))
            return true;
    return false;
}

static unsigned trigger_flags(uint32_t type)
{
    bool edge = type & (IRQ_TYPE_EDGE_RISING | IRQ_TYPE_EDGE_FALLING);
    bool low = type & (IRQ_TYPE_EDGE_FALLING | IRQ_TYPE_LEVEL_LOW);
    return FDT_IRQ_FLAGS(edge, low);
}

int fdt_decode_interrupt(const struct fdt *fdt, int controller, const uint8_t *specifier,
                         unsigned cells, uint32_t *line, unsigned *flags)
{
    if (is_gic(fdt, controller)) {
        if (cells < 3)
            return -EINVAL;
        uint32_t kind = get_be32(specifier), number = get_be32(specifier + 4);
        if (kind == 0 && number < GIC_SPI_MAX)
            *line = GIC_SPI_BASE + number;
        else if (kind == 1 && number < GIC_PPI_MAX)
            *line = GIC_PPI_BASE + number;
        else
            return -EINVAL;
        *flags = trigger_flags(get_be32(specifier + 8) & 0xf);
        return 0;
    }
    if (cells < 1 || cells > 2)
        return -EINVAL;
    *line = get_be32(specifier);
    *flags = trigger_flags(cells == 2 ? get_be32(specifier + 4) & 0xf : IRQ_TYPE_LEVEL_HIGH);
    return 0;
}

static int add_resource(struct resource *resources, unsigned max, unsigned *count,
                        enum resource_type type, uint64_t start, uint64_t size, unsigned flags)
{
    if (*count >= max)
        return -E2BIG;
    resources[*count] = (struct resource){type, start, size, flags};
    (*count)++;
    return 0;
}

static int reg_resources(const struct fdt *fdt, int node, struct resource *resources, unsigned max,
                         unsigned *count, char *why, size_t why_size)
{
    for (unsigned i = 0;; i++) {
        uint64_t base, size;
        int error = fdt_reg(fdt, node, i, &base, &size);
        if (error == -ENOENT)
            return 0;
        if (error == -ERANGE) {
            snprintf(why, why_size, "reg entry %u is outside every range of its bus", i);
            return error;
        }
        if (error) {
            snprintf(why, why_size, "reg is malformed");
            return error;
        }
        if (size == 0)
            continue;
        if (base + size - 1 < base) {
            snprintf(why, why_size, "reg entry %u wraps around the address space", i);
            return -EINVAL;
        }
        if (add_resource(resources, max, count, RESOURCE_MEM, base, size, 0)) {
            snprintf(why, why_size, "more than %u resources", max);
            return -E2BIG;
        }
    }
}

static int interrupt_resources(const struct fdt *fdt, int node, struct resource *resources,
                               unsigned max, unsigned *count, char *why, size_t why_size)
{
    uint32_t len;
    const uint8_t *interrupts = fdt_property(fdt, node, "interrupts", &len);
    if (!interrupts)
        return 0;
    int controller = fdt_interrupt_parent(fdt, node);
    unsigned cells = fdt_interrupt_cells(fdt, controller);
    if (controller == FDT_NONE || cells == 0) {
        snprintf(why, why_size, "interrupts without a usable interrupt parent");
        return -EINVAL;
    }
    if (len % (4 * cells)) {
        snprintf(why, why_size, "interrupts is not a whole number of %u-cell specifiers", cells);
        return -EINVAL;
    }
    for (uint32_t at = 0; at < len; at += 4 * cells) {
        uint32_t line;
        unsigned flags;
        if (fdt_decode_interrupt(fdt, controller, interrupts + at, cells, &line, &flags)) {
            snprintf(why, why_size, "interrupt specifier %u is not valid for %s", at / (4 * cells),
                     fdt_node_name(fdt, controller));
            return -EINVAL;
        }
        if (add_resource(resources, max, count, RESOURCE_IRQ, line, 1, flags)) {
            snprintf(why, why_size, "more than %u resources", max);
            return -E2BIG;
        }
    }
    return 0;
}

int fdt_device_resources(const struct fdt *fdt, int node, struct resource *resources, unsigned max,
                         unsigned *count, char *why, size_t why_size)
{
    *count = 0;
    int error = reg_resources(fdt, node, resources, max, count, why, why_size);
    if (!error)
        error = interrupt_resources(fdt, node, resources, max, count, why, why_size);
    return error;
}

/* Device types live as long as the kernel: one copy of each distinct string. */
struct interned_type {
    struct interned_type *next;
    char name[];
};
static struct interned_type *interned_types;

static const char *intern_type(const char *type)
{
    for (struct interned_type *t = interned_types; t; t = t->next)
        if (strcmp(t->name, type) == 0)
            return t->name;
    size_t length = strlen(type);
    struct interned_type *t = kmalloc(sizeof(*t) + length + 1);
    if (!t)
        return NULL;
    memcpy(t->name, type, length + 1);
    t->next = interned_types;
    interned_types = t;
    return t->name;
}

/* Devices hang from the root and from simple buses; other nodes' children (a GIC's ITS, PCI
 * functions under a host bridge) belong to their parent's driver. */
static bool on_device_bus(const struct fdt *fdt, int node)
{
    for (int parent = fdt_parent(fdt, node); parent != fdt->root;
         parent = fdt_parent(fdt, parent)) {
        if (parent == FDT_NONE || !fdt_is_compatible(fdt, parent, "simple-bus") ||
            !fdt_node_enabled(fdt, parent))
            return false;
    }
    return true;
}

static void unique_name(const struct fdt *fdt, int node, char *name, size_t size)
{
    snprintf(name, size, "%s", fdt_node_name(fdt, node));
    struct device *existing = device_find_by_name(name);
    if (!existing)
        return;
    device_put(existing);
    snprintf(name, size, "%.20s#%x", fdt_node_name(fdt, node), (unsigned)node);
}

static bool create_device(const struct fdt *fdt, int node)
{
    uint32_t len;
    const char *compatible = fdt_property(fdt, node, "compatible", &len);
    const char *first = fdt_stringlist_get(compatible, compatible ? len : 0, 0);
    const char *name = fdt_node_name(fdt, node);
    struct resource resources[DEVICE_MAX_RESOURCES];
    unsigned count;
    char why[96];
    if (!first || !first[0]) {
        pr_warn("%s: compatible is not a list of strings, skipped\n", name);
        return false;
    }
    if (fdt_device_resources(fdt, node, resources, DEVICE_MAX_RESOURCES, &count, why,
                             sizeof(why))) {
        pr_warn("%s (%s): %s, skipped\n", name, first, why);
        return false;
    }
    const char *type = intern_type(first);
    char device_name[DEVICE_NAME_MAX];
    unique_name(fdt, node, device_name, sizeof(device_name));
    if (!type || !platform_device_create(device_name, type, resources, count)) {
        pr_warn("%s (%s): not registered, skipped\n", name, first);
        return false;
    }
    return true;
}

unsigned fdt_create_platform_devices(const struct fdt *fdt, struct fdt_devices_stats *stats)
{
    struct fdt_devices_stats local = {0};
    for (int node = fdt_next_node(fdt, fdt->root); node != FDT_NONE;
         node = fdt_next_node(fdt, node)) {
        if (!fdt_property(fdt, node, "compatible", NULL) || !fdt_node_enabled(fdt, node) ||
            !on_device_bus(fdt, node))
            continue;
        if (create_device(fdt, node))
            local.created++;
        else
            local.skipped++;
    }
    pr_info("%u devices from the device tree, %u skipped\n", local.created, local.skipped);
    if (stats)
        *stats = local;
    return local.created;
}
