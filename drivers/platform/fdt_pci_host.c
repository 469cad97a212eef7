/* The generic ECAM PCI host bridge of a device tree (bindings: pci-host-generic, PCI bus binding
 * IEEE 1275) as a struct pci_host_bridge_desc (portable). */
#define pr_fmt(fmt) "fdt: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/fdt_devices.h>
#include <rayos/pci_host_bridge.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define ECAM_BUS_SIZE       (1ull << 20) /* 32 devices x 8 functions x 4 KiB */
#define PCI_SPACE_CODE(hi)  (((hi) >> 24) & 3)
#define PCI_SPACE_IO        1
#define PCI_SPACE_MEM32     2
#define PCI_SPACE_MEM64     3
#define PCI_PREFETCHABLE    (1u << 30)
#define PCI_ADDRESS_CELLS   3
#define PCI_INTERRUPT_CELLS 1
#define RAM_REGIONS_CHECKED 16

static bool overlaps_ram(const struct fdt *fdt, uint64_t base, uint64_t size)
{
    struct fdt_region ram[RAM_REGIONS_CHECKED];
    unsigned count = fdt_memory_regions(fdt, ram, RAM_REGIONS_CHECKED);
    for (unsigned i = 0; i < count && i < RAM_REGIONS_CHECKED; i++)
        if (base < ram[i].base + ram[i].size && ram[i].base < base + size)
            return true;
    return false;
}

static int read_ecam(const struct fdt *fdt, int node, struct pci_host_bridge_desc *host)
{
    const char *name = fdt_node_name(fdt, node);
    if (fdt_reg(fdt, node, 0, &host->ecam_base, &host->ecam_size) != 0 ||
        host->ecam_size < ECAM_BUS_SIZE || host->ecam_base % ECAM_BUS_SIZE) {
        pr_warn("%s: no usable ECAM window in reg, host bridge skipped\n", name);
        return -EINVAL;
    }
    if (overlaps_ram(fdt, host->ecam_base, host->ecam_size)) {
        pr_warn("%s: ECAM window at %#llx overlaps RAM, host bridge skipped\n", name,
                (unsigned long long)host->ecam_base);
        return -EINVAL;
    }
    uint32_t len;
    const uint8_t *range = fdt_property(fdt, node, "bus-range", &len);
    uint32_t first = 0, last = 255;
    if (range && len == 8) {
        first = get_be32(range);
        last = get_be32(range + 4);
    } else if (range) {
        pr_warn("%s: bus-range is malformed, using 0-255\n", name);
    }
    if (first > last || last > 255) {
        pr_warn("%s: bus-range %u-%u is not valid, using 0-255\n", name, first, last);
        first = 0, last = 255;
    }
    uint64_t buses = host->ecam_size / ECAM_BUS_SIZE;
    if (buses < last - first + 1) {
        pr_warn("%s: ECAM window of %llu MiB holds %llu buses, not %u: buses %u-%u only\n", name,
                (unsigned long long)(host->ecam_size >> 20), (unsigned long long)buses,
                last - first + 1, first, first + (unsigned)buses - 1);
        last = first + (uint32_t)buses - 1;
    }
    host->bus_first = (uint8_t)first;
    host->bus_last = (uint8_t)last;
    return 0;
}

static const char *const kind_names[] = {"I/O", "32-bit memory", "64-bit memory"};

static void read_windows(const struct fdt *fdt, int node, struct pci_host_bridge_desc *host)
{
    const char *name = fdt_node_name(fdt, node);
    int parent = fdt_parent(fdt, node);
    struct fdt_range range;
    int error;
    unsigned i = 0;
    for (; (error = fdt_range(fdt, node, i, &range)) == 0; i++) {
        unsigned space = PCI_SPACE_CODE(range.child_flags);
        uint64_t cpu = range.parent;
        if (space == 0 || range.size == 0) {
            pr_warn("%s: ranges entry %u is not an I/O or memory window, ignored\n", name, i);
            continue;
        }
        if (fdt_translate(fdt, parent, &cpu, range.size) != 0 || cpu + range.size - 1 < cpu ||
            range.child + range.size - 1 < range.child) {
            pr_warn("%s: ranges entry %u does not reach the CPU, ignored\n", name, i);
            continue;
        }
        if (overlaps_ram(fdt, cpu, range.size)) {
            pr_warn("%s: ranges entry %u (%#llx, %#llx bytes) overlaps RAM, ignored\n", name, i,
                    (unsigned long long)cpu, (unsigned long long)range.size);
            continue;
        }
        if (host->window_count == PCI_HOST_MAX_WINDOWS) {
            pr_warn("%s: more than %u windows, the rest ignored\n", name, PCI_HOST_MAX_WINDOWS);
            break;
        }
        struct pci_host_window *window = &host->windows[host->window_count++];
        window->kind = space == PCI_SPACE_IO      ? PCI_WINDOW_IO
                       : space == PCI_SPACE_MEM32 ? PCI_WINDOW_MEM32
                                                  : PCI_WINDOW_MEM64;
        window->prefetchable = range.child_flags & PCI_PREFETCHABLE;
        window->cpu_address = cpu;
        window->pci_address = range.child;
        window->size = range.size;
        if (window->kind == PCI_WINDOW_MEM32 && window->pci_address + window->size > 1ull << 32) {
            pr_warn("%s: 32-bit window %u reaches above 4 GiB, ignored\n", name, i);
            host->window_count--;
        }
    }
    if (error == -EINVAL)
        pr_warn("%s: ranges is malformed after entry %u\n", name, i);
}

/* One interrupt-map entry at map (len bytes left): the route, and the entry's size in bytes. */
static int read_route(const struct fdt *fdt, const uint8_t *map, uint32_t len,
                      const struct pci_host_bridge_desc *host, struct pci_intx_route *route,
                      uint32_t *entry_size)
{
    const uint32_t child_size = 4 * (PCI_ADDRESS_CELLS + PCI_INTERRUPT_CELLS);
    if (len < child_size + 4)
        return -EINVAL;
    int controller = fdt_find_phandle(fdt, get_be32(map + child_size));
    unsigned cells = fdt_interrupt_cells(fdt, controller);
    uint32_t address_cells;
    if (!fdt_read_u32(fdt, controller, "#address-cells", &address_cells))
        address_cells = 0; /* the interrupt-map default */
    if (controller == FDT_NONE || cells == 0 || address_cells > 3)
        return -EINVAL;
    uint32_t size = child_size + 4 + 4 * (address_cells + cells);
    if (len < size)
        return -EINVAL;
    route->device = get_be32(map) & host->device_mask;
    route->pin = get_be32(map + 12) & host->pin_mask;
    *entry_size = size;
    return fdt_decode_interrupt(fdt, controller, map + child_size + 4 + 4 * address_cells, cells,
                                &route->line, &route->flags);
}

static void read_interrupt_map(const struct fdt *fdt, int node, struct pci_host_bridge_desc *host)
{
    const char *name = fdt_node_name(fdt, node);
    uint32_t len, mask_len, cells;
    const uint8_t *map = fdt_property(fdt, node, "interrupt-map", &len);
    const uint8_t *mask = fdt_property(fdt, node, "interrupt-map-mask", &mask_len);
    if (!map)
        return;
    if (!fdt_read_u32(fdt, node, "#interrupt-cells", &cells) || cells != PCI_INTERRUPT_CELLS ||
        fdt_address_cells(fdt, node) != PCI_ADDRESS_CELLS || !mask || mask_len != 16) {
        pr_warn("%s: interrupt-map without the PCI cell counts or mask: INTx not routed\n", name);
        return;
    }
    host->device_mask = get_be32(mask);
    host->pin_mask = get_be32(mask + 12);
    for (uint32_t at = 0; at < len;) {
        uint32_t size;
        if (host->route_count == PCI_HOST_MAX_ROUTES ||
            read_route(fdt, map + at, len - at, host, &host->routes[host->route_count], &size) !=
                0) {
            pr_warn("%s: interrupt-map entry %u is malformed or one too many: INTx not routed\n",
                    name, host->route_count);
            host->route_count = 0;
            return;
        }
        host->route_count++;
        at += size;
    }
}

/* msi-map (PCI MSI binding): entries of (rid-base, msi-controller phandle, msi-base, length),
 * msi-map-mask applied to the requester ID first.  A map that cannot be trusted whole leaves
 * the bridge without MSIs rather than with device IDs that may name another device. */
static void read_msi_map(const struct fdt *fdt, int node, struct pci_host_bridge_desc *host)
{
    const char *name = fdt_node_name(fdt, node);
    uint32_t len;
    const uint8_t *map = fdt_property(fdt, node, "msi-map", &len);
    host->msi_map_mask = 0xffff;
    if (!map)
        return;
    uint32_t mask_len;
    const uint8_t *mask = fdt_property(fdt, node, "msi-map-mask", &mask_len);
    if (mask && mask_len == 4)
        host->msi_map_mask = get_be32(mask);
    const char *why = NULL;
    if (len == 0 || len % 16 || (mask && mask_len != 4))
        why = "is malformed";
    else if (len / 16 > PCI_HOST_MAX_MSI_MAPS)
        why = "has too many entries";
    for (uint32_t at = 0; !why && at < len; at += 16) {
        uint32_t rid_base = get_be32(map + at), base = get_be32(map + at + 8);
        uint32_t length = get_be32(map + at + 12), cells;
        int controller = fdt_find_phandle(fdt, get_be32(map + at + 4));
        if (controller == FDT_NONE || !fdt_property(fdt, controller, "msi-controller", NULL) ||
            (fdt_read_u32(fdt, controller, "#msi-cells", &cells) && cells != 1))
            why = "names something that is not an MSI controller with one-cell IDs";
        else if (length == 0 || rid_base > 0xffff || length > 0x10000 - rid_base ||
                 base > 0xffffffffu - (length - 1))
            why = "has an entry outside the requester IDs or device IDs";
        else
            host->msi_map[host->msi_map_count++] =
                (struct pci_msi_map_entry){rid_base, base, length};
    }
    if (why) {
        pr_warn("%s: msi-map %s: no MSIs for its functions\n", name, why);
        host->msi_map_count = 0;
        host->msi_map_broken = true;
    }
}

int fdt_pci_host_bridge(const struct fdt *fdt, int node, struct pci_host_bridge_desc *host)
{
    memset(host, 0, sizeof(*host));
    snprintf(host->name, sizeof(host->name), "%s", fdt_node_name(fdt, node));
    uint32_t domain;
    if (fdt_read_u32(fdt, node, "linux,pci-domain", &domain) && domain <= 0xffff)
        host->segment = (uint16_t)domain;
    host->dma_coherent = fdt_property(fdt, node, "dma-coherent", NULL) != NULL;
    int error = read_ecam(fdt, node, host);
    if (error)
        return error;
    read_windows(fdt, node, host);
    if (host->window_count == 0) {
        pr_warn("%s: no usable window in ranges, host bridge skipped\n", host->name);
        return -EINVAL;
    }
    for (unsigned i = 0; i < host->window_count; i++) {
        const struct pci_host_window *w = &host->windows[i];
        pr_info("%s: %s%s window: CPU %#llx, PCI %#llx, %#llx bytes\n", host->name,
                w->prefetchable ? "prefetchable " : "", kind_names[w->kind],
                (unsigned long long)w->cpu_address, (unsigned long long)w->pci_address,
                (unsigned long long)w->size);
    }
    read_interrupt_map(fdt, node, host);
    read_msi_map(fdt, node, host);
    return 0;
}

unsigned fdt_pci_host_bridges(const struct fdt *fdt, struct pci_host_bridge_desc *hosts,
                              unsigned max)
{
    unsigned count = 0;
    for (int node = fdt_find_compatible(fdt, FDT_NONE, "pci-host-ecam-generic");
         node != FDT_NONE && count < max;
         node = fdt_find_compatible(fdt, node, "pci-host-ecam-generic")) {
        if (fdt_node_enabled(fdt, node) && fdt_pci_host_bridge(fdt, node, &hosts[count]) == 0)
            count++;
    }
    return count;
}
