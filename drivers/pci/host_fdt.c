/* PCI host bridges a device tree describes ("pci-host-ecam-generic": QEMU's virt, many Arm
 * boards): the ECAM window and bus range from reg and bus-range, the I/O window the port
 * accessors go through, the memory windows devices' BARs are placed in, and INTx routing
 * through interrupt-map (Devicetree Specification 2.4.3; the PCI bus binding's swizzle across
 * bridges).  Everything comes from the blob and is checked: a window that does not fit, an
 * ECAM too small for its buses, a map entry that does not decode are warned about by node name
 * and left out. */
#define pr_fmt(fmt) "pci: " fmt
#include <rayos/device_tree.h>
#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "pci_core.h"
#include "pci_host_fdt.h"

#define INTX_MAP_MAX 64

struct intx_route {
    uint32_t devfn_mask_applied; /* phys.hi & mask (bus/device/function bits) */
    uint32_t pin;                /* 1-4, masked */
    struct irq_spec spec;
};

static struct {
    int node;
    uint32_t mask_hi, mask_pin;
    unsigned route_count;
    struct intx_route routes[INTX_MAP_MAX];
} intx;

static struct pci_fdt_windows windows;

const struct pci_fdt_windows *pci_fdt_windows(void)
{
    return &windows;
}

/* interrupt-map: <child unit address (3 cells) child pin (1 cell) parent phandle parent unit
 * address (parent's #address-cells) parent specifier (parent's #interrupt-cells)>... */
static void read_interrupt_map(const struct fdt *fdt, int host)
{
    uint32_t len, mask_len;
    const uint8_t *map = fdt_property(fdt, host, "interrupt-map", &len);
    const uint8_t *mask = fdt_property(fdt, host, "interrupt-map-mask", &mask_len);
    const char *name = fdt_node_name(fdt, host);
    intx.node = host;
    intx.mask_hi = mask && mask_len == 16 ? (uint32_t)fdt_cells(mask, 1) : 0xffffffffu;
    intx.mask_pin = mask && mask_len == 16 ? (uint32_t)fdt_cells(mask + 12, 1) : 0xffffffffu;
    for (uint32_t at = 0; map && at + 20 <= len;) {
        uint32_t phandle = (uint32_t)fdt_cells(map + at + 16, 1);
        int parent = fdt_find_phandle(fdt, phandle);
        unsigned address_cells = parent != FDT_NONE ? fdt_address_cells(fdt, parent) : 0;
        unsigned interrupt_cells = parent != FDT_NONE ? fdt_interrupt_cells(fdt, parent) : 0;
        if (parent == FDT_NONE || !interrupt_cells || address_cells > 3) {
            pr_warn("%s: interrupt-map entry at byte %u names no usable interrupt controller; "
                    "the rest of the map is ignored\n",
                    name, at);
            return;
        }
        uint32_t entry = 20 + 4 * (address_cells + interrupt_cells);
        if (at + entry > len) {
            pr_warn("%s: interrupt-map ends inside an entry; the rest is ignored\n", name);
            return;
        }
        struct irq_spec spec;
        if (intx.route_count == INTX_MAP_MAX) {
            pr_warn("%s: interrupt-map has more than %u entries; the rest are ignored\n", name,
                    INTX_MAP_MAX);
            return;
        }
        if (device_tree_decode_irq(fdt, parent, map + at + 20 + 4 * address_cells, &spec) == 0)
            intx.routes[intx.route_count++] =
                (struct intx_route){(uint32_t)fdt_cells(map + at, 1) & intx.mask_hi,
                                    (uint32_t)fdt_cells(map + at + 12, 1) & intx.mask_pin, spec};
        else
            pr_warn("%s: interrupt-map entry at byte %u does not decode; skipped\n", name, at);
        at += entry;
    }
}

/* The pin a function's INTx arrives with at the host bridge: swizzled once per bridge on the
 * way up (the PCI-to-PCI bridge specification's rotation by device number). */
static unsigned root_pin(struct pci_device *pdev, unsigned pin, struct pci_device **root_dev)
{
    while (pdev->dev.parent && dev_is_pci(pdev->dev.parent)) {
        pin = (pin - 1 + pdev->slot) % 4 + 1;
        pdev = to_pci_device(pdev->dev.parent);
    }
    *root_dev = pdev;
    return pin;
}

int pci_fdt_intx_spec(void *context, struct pci_device *pdev, unsigned pin, struct irq_spec *out)
{
    (void)context;
    struct pci_device *root_dev;
    unsigned root = root_pin(pdev, pin, &root_dev);
    uint32_t hi = ((uint32_t)root_dev->bus << 16 | (uint32_t)root_dev->slot << 11 |
                   (uint32_t)root_dev->function << 8) &
                  intx.mask_hi;
    for (unsigned i = 0; i < intx.route_count; i++) {
        if (intx.routes[i].devfn_mask_applied == hi &&
            intx.routes[i].pin == (root & intx.mask_pin)) {
            *out = intx.routes[i].spec;
            return 0;
        }
    }
    pr_err("%s: INT%c is not in the host bridge's interrupt-map\n", pci_name(pdev),
           'A' + (int)(pin - 1) % 4);
    return -ENODEV;
}

/* ranges: <flags.hi pci.mid pci.lo cpu address (parent cells) size (2 cells)>; the space code
 * in bits 24-25 of flags.hi: 1 I/O, 2 32-bit memory, 3 64-bit memory; bit 30 prefetchable. */
static void read_ranges(const struct fdt *fdt, int host)
{
    const char *name = fdt_node_name(fdt, host);
    struct fdt_range range;
    for (unsigned i = 0; fdt_range(fdt, host, i, &range) == 0; i++) {
        uint64_t cpu = range.parent;
        if (fdt_translate(fdt, fdt_parent(fdt, host), &cpu, range.size) != 0 || !range.size) {
            pr_warn("%s: range %u does not reach the CPU; ignored\n", name, i);
            continue;
        }
        struct pci_fdt_window w = {cpu, range.child, range.size};
        unsigned space = (range.child_flags >> 24) & 3;
        bool prefetchable = (range.child_flags >> 30) & 1;
        if (space == 1 && !windows.io.size)
            windows.io = w;
        else if (space == 2 && !windows.mem32.size)
            windows.mem32 = w;
        else if (space == 3 && prefetchable && !windows.mem64_prefetchable.size)
            windows.mem64_prefetchable = w;
        else if (space == 3 && !windows.mem64.size)
            windows.mem64 = w;
        else
            pr_warn("%s: range %u (space %u) is a second window of its kind; ignored\n", name, i,
                    space);
    }
}

unsigned pci_fdt_ecam_windows(struct acpi_mcfg_window *out, unsigned max)
{
    const struct fdt *fdt = device_tree();
    unsigned count = 0;
    for (int host = fdt ? fdt_find_compatible(fdt, FDT_NONE, "pci-host-ecam-generic") : FDT_NONE;
         host != FDT_NONE && count < max;
         host = fdt_find_compatible(fdt, host, "pci-host-ecam-generic")) {
        const char *name = fdt_node_name(fdt, host);
        uint64_t base, size;
        if (!fdt_node_enabled(fdt, host))
            continue;
        if (fdt_reg(fdt, host, 0, &base, &size) != 0) {
            pr_warn("%s: no usable reg: host bridge ignored\n", name);
            continue;
        }
        uint32_t len, first = 0, last = 255;
        const uint8_t *range = fdt_property(fdt, host, "bus-range", &len);
        if (range && len == 8) {
            first = (uint32_t)fdt_cells(range, 1);
            last = (uint32_t)fdt_cells(range + 4, 1);
        }
        if (first > last || last > 255) {
            pr_warn("%s: bus-range %u-%u is not a range of buses: host bridge ignored\n", name,
                    first, last);
            continue;
        }
        if (size < ((uint64_t)(last - first + 1) << 20)) {
            unsigned reachable = (unsigned)(size >> 20);
            pr_warn("%s: ECAM window of %llu KiB is too small for buses %u-%u; using %u buses\n",
                    name, (unsigned long long)(size >> 10), first, last, reachable);
            if (!reachable)
                continue;
            last = first + reachable - 1;
        }
        uint32_t segment = 0;
        fdt_read_u32(fdt, host, "linux,pci-domain", &segment);
        out[count++] = (struct acpi_mcfg_window){base - ((phys_addr_t)first << 20),
                                                 (uint16_t)segment, (uint8_t)first, (uint8_t)last};
        if (count == 1) { /* the first bridge's windows and interrupts (QEMU has one) */
            read_ranges(fdt, host);
            read_interrupt_map(fdt, host);
            if (windows.io.size) {
                void *io = map_phys(windows.io.cpu, windows.io.size, MAP_UNCACHED);
                if (io && windows.io.pci == 0 && windows.io.size <= 0x10000)
                    io_port_window(io, (uint32_t)windows.io.size);
                else
                    pr_warn("%s: I/O window at %#llx not usable for port I/O\n", name,
                            (unsigned long long)windows.io.cpu);
            }
        }
        pr_info("%s: ECAM at %#llx for buses %02x-%02x, %u INTx routes\n", name,
                (unsigned long long)base, first, last, intx.route_count);
    }
    return count;
}

bool pci_fdt_host_windows(struct pci_host_windows *out)
{
    *out = (struct pci_host_windows){{0, 0}, {0, 0}, {0, 0}};
    if (!windows.mem32.size && !windows.io.size)
        return false;
    if (windows.io.size > 0x1000 && windows.io.pci == 0)
        out->io = (struct pci_host_window){0x1000, windows.io.size - 0x1000};
    /* BARs hold bus addresses and drivers map them as CPU addresses: only a window the CPU
     * sees at the same address can be used. */
    if (windows.mem32.size && windows.mem32.cpu == windows.mem32.pci)
        out->mem32 = (struct pci_host_window){windows.mem32.pci, windows.mem32.size};
    else if (windows.mem32.size)
        pr_warn("32-bit memory window at bus address %#llx is at CPU address %#llx: not used\n",
                (unsigned long long)windows.mem32.pci, (unsigned long long)windows.mem32.cpu);
    const struct pci_fdt_window *pref =
        windows.mem64_prefetchable.size ? &windows.mem64_prefetchable : &windows.mem64;
    if (pref->size && pref->cpu == pref->pci)
        out->pref64 = (struct pci_host_window){pref->pci, pref->size};
    return true;
}
