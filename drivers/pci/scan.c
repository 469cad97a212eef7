/* Enumeration: depth-first from a root bus through PCI-to-PCI and CardBus bridges.
 *
 * Only what the topology shows is probed: device 0 of each slot, functions 1-7 when function
 * 0 says it is multi-function, only device 0 below a PCIe root or downstream port or a CardBus
 * socket, and only the secondary buses that bridges name; peer root buses (which no bridge
 * names) only when the caller asks for the probe.  Config space is untrusted: a bridge
 * pointing at a bus already scanned, outside its parent's range or back up the tree is warned
 * about and skipped, so scanning always ends. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>

#include "pci_core.h"

#define MAX_SEGMENTS 16

struct segment_state {
    bool used;
    uint16_t segment;
    uint8_t scanned[256 / 8];
};
static struct segment_state segments[MAX_SEGMENTS];

struct scan_context {
    const struct pci_config_access *access;
    uint16_t segment;
    struct segment_state *state;
    struct pci_scan_stats *stats;
    bool log_each; /* log functions as found (hot-plug); boot logs them after timing */
    struct pci_windows *windows; /* hot-plug: assign unassigned BARs from these */
};

void pci_scan_reset(void)
{
    memset(segments, 0, sizeof(segments));
}

static struct segment_state *segment_state(uint16_t segment)
{
    for (unsigned i = 0; i < MAX_SEGMENTS; i++) {
        if (segments[i].used && segments[i].segment == segment)
            return &segments[i];
    }
    for (unsigned i = 0; i < MAX_SEGMENTS; i++) {
        if (!segments[i].used) {
            segments[i].used = true;
            segments[i].segment = segment;
            return &segments[i];
        }
    }
    return NULL;
}

static bool bus_scanned(struct segment_state *state, uint8_t bus)
{
    return state->scanned[bus / 8] & (1u << (bus % 8));
}

static void mark_bus_scanned(struct segment_state *state, uint8_t bus)
{
    state->scanned[bus / 8] |= (uint8_t)(1u << (bus % 8));
}

static void warn(struct scan_context *scan)
{
    scan->stats->warnings++;
}

static void pci_device_release(struct device *dev)
{
    struct pci_device *pdev = to_pci_device(dev);
    pci_release_irqs(pdev);
    pci_unmap_bars(pdev);
    kfree(pdev);
}

static void read_bridge_windows(struct pci_device *pdev)
{
    struct pci_bridge_info *bridge = &pdev->bridge;
    bridge->primary_bus = pci_read_config8(pdev, PCI_PRIMARY_BUS);
    bridge->secondary_bus = pci_read_config8(pdev, PCI_SECONDARY_BUS);
    bridge->subordinate_bus = pci_read_config8(pdev, PCI_SUBORDINATE_BUS);

    uint8_t io_base = pci_read_config8(pdev, PCI_IO_BASE);
    uint8_t io_limit = pci_read_config8(pdev, PCI_IO_LIMIT);
    bridge->io_base = (uint64_t)(io_base & 0xf0) << 8;
    bridge->io_limit = ((uint64_t)(io_limit & 0xf0) << 8) | 0xfff;
    if ((io_base & 0xf) == 1) {
        bridge->io_base |= (uint64_t)pci_read_config16(pdev, PCI_IO_BASE_UPPER16) << 16;
        bridge->io_limit |= (uint64_t)pci_read_config16(pdev, PCI_IO_LIMIT_UPPER16) << 16;
    }

    bridge->mem_base = (uint64_t)(pci_read_config16(pdev, PCI_MEMORY_BASE) & 0xfff0) << 16;
    bridge->mem_limit =
        ((uint64_t)(pci_read_config16(pdev, PCI_MEMORY_LIMIT) & 0xfff0) << 16) | 0xfffff;

    uint16_t pref_base = pci_read_config16(pdev, PCI_PREF_MEMORY_BASE);
    uint16_t pref_limit = pci_read_config16(pdev, PCI_PREF_MEMORY_LIMIT);
    bridge->pref_base = (uint64_t)(pref_base & 0xfff0) << 16;
    bridge->pref_limit = ((uint64_t)(pref_limit & 0xfff0) << 16) | 0xfffff;
    bridge->pref_64bit = (pref_base & 0xf) == 1;
    if (bridge->pref_64bit) {
        bridge->pref_base |= (uint64_t)pci_read_config32(pdev, PCI_PREF_BASE_UPPER32) << 32;
        bridge->pref_limit |= (uint64_t)pci_read_config32(pdev, PCI_PREF_LIMIT_UPPER32) << 32;
    }
}

static void read_capabilities(struct pci_device *pdev, struct scan_context *scan)
{
    uint8_t ids[48], offsets[48];
    unsigned count = pci_list_capabilities(pdev, ids, offsets, ARRAY_SIZE(ids));
    for (unsigned i = 0; i < count; i++) {
        uint8_t *slot = NULL;
        switch (ids[i]) {
        case PCI_CAP_ID_PM:
            slot = &pdev->cap_pm;
            break;
        case PCI_CAP_ID_MSI:
            slot = &pdev->cap_msi;
            break;
        case PCI_CAP_ID_MSIX:
            slot = &pdev->cap_msix;
            break;
        case PCI_CAP_ID_EXP:
            slot = &pdev->cap_pcie;
            break;
        case PCI_CAP_ID_SSVID:
            /* A PCI-to-PCI bridge's subsystem IDs live here (the first one counts). */
            if (pdev->header_type == PCI_HEADER_BRIDGE && !pdev->subsystem_vendor_id &&
                !pdev->subsystem_id) {
                pdev->subsystem_vendor_id =
                    pci_read_config16(pdev, offsets[i] + PCI_SSVID_VENDOR_ID);
                pdev->subsystem_id = pci_read_config16(pdev, offsets[i] + PCI_SSVID_DEVICE_ID);
            }
            break;
        }
        if (slot && *slot == 0)
            *slot = offsets[i];
    }
    if (pdev->cap_pcie) {
        uint16_t flags = pci_read_config16(pdev, pdev->cap_pcie + PCI_EXP_FLAGS);
        pdev->pcie_type = PCI_EXP_FLAGS_TYPE(flags);
        /* Extended space exists only where the access method reaches it and the function
         * decodes it (conventional functions read all ones there). */
        unsigned reachable =
            scan->access->space_size(scan->access->context, pdev->segment, pdev->bus);
        if (reachable > 256) {
            uint32_t first = pci_access_read(scan->access, pdev->segment, pdev->bus, pdev->slot,
                                             pdev->function, 0x100, 4);
            if (first != 0xffffffffu)
                pdev->config_size = 4096;
        }
    }
    scan->stats->warnings += pci_check_capability_lists(pdev);
}

static struct pci_device *read_function(struct scan_context *scan, uint8_t bus, uint8_t slot,
                                        uint8_t function, uint32_t id)
{
    struct pci_device *pdev = kzalloc(sizeof(*pdev));
    if (!pdev) {
        pr_err("out of memory for %04x:%02x:%02x.%u\n", scan->segment, bus, slot, function);
        return NULL;
    }
    char name[DEVICE_NAME_MAX];
    snprintf(name, sizeof(name), "%04x:%02x:%02x.%u", scan->segment, bus, slot, function);
    device_initialize(&pdev->dev, &pci_bus_type, NULL, name);
    pdev->dev.release = pci_device_release;
    pdev->access = scan->access;
    pdev->segment = scan->segment;
    pdev->bus = bus;
    pdev->slot = slot;
    pdev->function = function;
    pdev->config_size = 256;
    pdev->msi_irq = -1;
    pdev->intx_irq = -1;
    pdev->vendor_id = id & 0xffff;
    pdev->device_id = (uint16_t)(id >> 16);

    uint32_t class_rev = pci_read_config32(pdev, PCI_REVISION_ID);
    pdev->revision = class_rev & 0xff;
    pdev->prog_if = (class_rev >> 8) & 0xff;
    pdev->subclass = (class_rev >> 16) & 0xff;
    pdev->class_code = (uint8_t)(class_rev >> 24);
    uint8_t header = pci_read_config8(pdev, PCI_HEADER_TYPE);
    pdev->header_type = header & PCI_HEADER_TYPE_MASK;
    pdev->multifunction = header & PCI_HEADER_MULTIFUNCTION;
    pdev->interrupt_pin = pci_read_config8(pdev, PCI_INTERRUPT_PIN);
    pdev->interrupt_line = pci_read_config8(pdev, PCI_INTERRUPT_LINE);
    if (pdev->interrupt_pin > 4) {
        pr_warn("%s: interrupt pin %u out of range, treated as none\n", name, pdev->interrupt_pin);
        pdev->interrupt_pin = 0;
        warn(scan);
    }

    switch (pdev->header_type) {
    case PCI_HEADER_NORMAL:
        pdev->subsystem_vendor_id = pci_read_config16(pdev, PCI_SUBSYSTEM_VENDOR_ID);
        pdev->subsystem_id = pci_read_config16(pdev, PCI_SUBSYSTEM_ID);
        break;
    case PCI_HEADER_BRIDGE:
        read_bridge_windows(pdev);
        break;
    case PCI_HEADER_CARDBUS:
        pdev->bridge.primary_bus = pci_read_config8(pdev, PCI_PRIMARY_BUS);
        pdev->bridge.secondary_bus = pci_read_config8(pdev, PCI_SECONDARY_BUS);
        pdev->bridge.subordinate_bus = pci_read_config8(pdev, PCI_SUBORDINATE_BUS);
        pdev->subsystem_vendor_id = pci_read_config16(pdev, PCI_CB_SUBSYSTEM_VENDOR_ID);
        pdev->subsystem_id = pci_read_config16(pdev, PCI_CB_SUBSYSTEM_ID);
        break;
    default:
        pr_warn("%s: unknown header type 0x%02x, only its IDs are used\n", name, pdev->header_type);
        warn(scan);
        break;
    }
    if (pdev->header_type <= PCI_HEADER_CARDBUS) {
        read_capabilities(pdev, scan);
        uint64_t start = time_ns();
        pci_read_bars(pdev);
        scan->stats->bar_sizing_ns += time_ns() - start;
        if (scan->windows && pdev->header_type == PCI_HEADER_NORMAL)
            pci_assign_bars(pdev, scan->windows);
    }
    return pdev;
}

void pci_log_function(struct pci_device *pdev)
{
    char bars[96] = "";
    size_t used = 0;
    for (unsigned i = 0; i < PCI_NUM_BARS && used < sizeof(bars); i++) {
        const struct pci_bar *bar = &pdev->bars[i];
        if (bar->type == PCI_BAR_NONE)
            continue;
        used += (size_t)snprintf(bars + used, sizeof(bars) - used, " bar%u=%s:%llx+%llx", i,
                                 bar->type == PCI_BAR_IO      ? "io"
                                 : bar->type == PCI_BAR_MEM64 ? "m64"
                                                              : "m32",
                                 (unsigned long long)bar->base, (unsigned long long)bar->size);
    }
    const char *kind = pdev->header_type == PCI_HEADER_BRIDGE    ? " bridge"
                       : pdev->header_type == PCI_HEADER_CARDBUS ? " cardbus"
                                                                 : "";
    pr_info("%s %04x:%04x class %02x%02x%02x rev %02x%s%s%s\n", pci_name(pdev), pdev->vendor_id,
            pdev->device_id, pdev->class_code, pdev->subclass, pdev->prog_if, pdev->revision, kind,
            pdev->interrupt_pin ? " intx" : "", bars);
}

static int scan_bus(struct scan_context *scan, uint8_t bus, struct device *parent,
                    struct pci_device *upstream);

static bool bridge_secondary_ok(struct scan_context *scan, struct pci_device *bridge,
                                struct pci_device *upstream)
{
    const struct pci_bridge_info *info = &bridge->bridge;
    const char *name = pci_name(bridge);
    if (info->secondary_bus == 0 && info->subordinate_bus == 0) {
        pr_warn("%s: bridge has no bus numbers assigned by firmware, not scanned\n", name);
        return false;
    }
    if (info->secondary_bus <= bridge->bus) {
        pr_warn("%s: bridge secondary bus %02x is not below its own bus %02x (a cycle), "
                "not scanned\n",
                name, info->secondary_bus, bridge->bus);
        return false;
    }
    if (info->subordinate_bus < info->secondary_bus) {
        pr_warn("%s: bridge subordinate bus %02x below secondary %02x, not scanned\n", name,
                info->subordinate_bus, info->secondary_bus);
        return false;
    }
    if (upstream && (info->secondary_bus < upstream->bridge.secondary_bus ||
                     info->subordinate_bus > upstream->bridge.subordinate_bus)) {
        pr_warn("%s: bridge buses %02x-%02x outside the parent bridge's %02x-%02x, not scanned\n",
                name, info->secondary_bus, info->subordinate_bus, upstream->bridge.secondary_bus,
                upstream->bridge.subordinate_bus);
        return false;
    }
    if (bus_scanned(scan->state, info->secondary_bus)) {
        pr_warn("%s: bridge secondary bus %02x was already scanned, not scanned again\n", name,
                info->secondary_bus);
        return false;
    }
    return true;
}

/* Behind a PCIe root or downstream port only device 0 exists; a CardBus socket holds one card,
 * device 0 of its bus. */
static bool leads_to_one_slot(const struct pci_device *bridge)
{
    if (bridge && bridge->header_type == PCI_HEADER_CARDBUS)
        return true;
    return bridge && bridge->cap_pcie &&
           (bridge->pcie_type == PCI_EXP_TYPE_ROOT_PORT ||
            bridge->pcie_type == PCI_EXP_TYPE_DOWNSTREAM);
}

static bool line_routed(uint8_t line)
{
    return line != 0 && line != 0xff;
}

/* A function firmware never saw (hot-plugged) has no Interrupt Line.  Behind a bridge its pin
 * reaches the bridge's pin (pin - 1 + slot) mod 4 (the PCI-to-PCI bridge swizzle); when that is
 * the bridge's own pin, firmware's routing of the bridge applies, so its line is copied the way
 * firmware would have written it. */
static void route_interrupt(struct pci_device *pdev, struct pci_device *upstream)
{
    if (!pdev->interrupt_pin || line_routed(pdev->interrupt_line) || !upstream ||
        !upstream->interrupt_pin || !line_routed(upstream->interrupt_line))
        return;
    unsigned swizzled = (pdev->interrupt_pin - 1u + pdev->slot) % 4 + 1;
    if (swizzled != upstream->interrupt_pin) {
        pr_info("%s: INT%c reaches %s as INT%c, whose routing is unknown: no INTx\n",
                pci_name(pdev), 'A' + pdev->interrupt_pin - 1, pci_name(upstream),
                'A' + swizzled - 1);
        return;
    }
    pdev->interrupt_line = upstream->interrupt_line;
    pci_write_config8(pdev, PCI_INTERRUPT_LINE, pdev->interrupt_line);
}

/* Reads, registers and (for bridges) descends into one function. */
static struct pci_device *scan_function(struct scan_context *scan, uint8_t bus, uint8_t slot,
                                        uint8_t function, uint32_t id, struct device *parent,
                                        struct pci_device *upstream)
{
    struct pci_device *pdev = read_function(scan, bus, slot, function, id);
    if (!pdev)
        return NULL;
    pdev->dev.parent = parent;
    if (scan->windows)
        route_interrupt(pdev, upstream);
    if (scan->log_each)
        pci_log_function(pdev);
    int error = device_register(&pdev->dev);
    if (error) {
        pr_err("%s: not registered: %s\n", pci_name(pdev), error_name(-error));
        device_put(&pdev->dev);
        warn(scan);
        return NULL;
    }
    scan->stats->functions++;
    bool bridge = pdev->header_type == PCI_HEADER_BRIDGE || pdev->header_type == PCI_HEADER_CARDBUS;
    if (bridge && pdev->dev.state != DEVICE_REMOVED) {
        if (bridge_secondary_ok(scan, pdev, upstream))
            scan_bus(scan, pdev->bridge.secondary_bus, &pdev->dev, pdev);
        else
            warn(scan);
    }
    return pdev;
}

static bool function_present(uint32_t id)
{
    uint16_t vendor = id & 0xffff;
    return vendor != 0xffff && vendor != 0x0000;
}

static void scan_slot(struct scan_context *scan, uint8_t bus, uint8_t slot, struct device *parent,
                      struct pci_device *upstream)
{
    const struct pci_config_access *access = scan->access;
    uint32_t id = pci_access_read(access, scan->segment, bus, slot, 0, PCI_VENDOR_ID, 4);
    if (!function_present(id))
        return;
    uint8_t header =
        (uint8_t)pci_access_read(access, scan->segment, bus, slot, 0, PCI_HEADER_TYPE, 1);
    unsigned functions = (header & PCI_HEADER_MULTIFUNCTION) ? 8 : 1;
    for (uint8_t function = 0; function < functions; function++) {
        if (function > 0) {
            id = pci_access_read(access, scan->segment, bus, slot, function, PCI_VENDOR_ID, 4);
            if (!function_present(id))
                continue;
        }
        scan_function(scan, bus, slot, function, id, parent, upstream);
    }
}

static int scan_bus(struct scan_context *scan, uint8_t bus, struct device *parent,
                    struct pci_device *upstream)
{
    mark_bus_scanned(scan->state, bus);
    scan->stats->buses++;
    unsigned slots = leads_to_one_slot(upstream) ? 1 : 32;
    for (uint8_t slot = 0; slot < slots; slot++)
        scan_slot(scan, bus, slot, parent, upstream);
    return 0;
}

int pci_scan_root_bus(const struct pci_config_access *access, uint16_t segment, uint8_t bus,
                      struct device *parent, struct pci_scan_stats *stats)
{
    struct pci_scan_stats unused = {0};
    struct scan_context scan = {access, segment, segment_state(segment), stats ? stats : &unused,
                                false,  NULL};
    if (pci_core_init() != 0)
        return -EINVAL;
    if (!scan.state) {
        pr_err("more than %d PCI segments, segment %04x not scanned\n", MAX_SEGMENTS, segment);
        return -ENOSPC;
    }
    if (bus_scanned(scan.state, bus)) {
        pr_warn("bus %04x:%02x already scanned\n", segment, bus);
        scan.stats->warnings++;
        return -EEXIST;
    }
    scan.stats->root_buses++;
    return scan_bus(&scan, bus, parent, NULL);
}

bool pci_bus_scanned(uint16_t segment, uint8_t bus)
{
    for (unsigned i = 0; i < MAX_SEGMENTS; i++) {
        if (segments[i].used && segments[i].segment == segment)
            return bus_scanned(&segments[i], bus);
    }
    return false;
}

unsigned pci_scan_peer_root_buses(const struct pci_config_access *access,
                                  const struct pci_config_access *probe, uint16_t segment,
                                  unsigned first, unsigned last,
                                  struct device *(*make_root)(uint16_t segment, uint8_t bus,
                                                              void *context),
                                  void *context, struct pci_scan_stats *stats)
{
    struct pci_scan_stats unused = {0};
    if (!stats)
        stats = &unused;
    unsigned found = 0;
    for (unsigned bus = first; bus <= last && bus <= 255; bus++) {
        if (pci_bus_scanned(segment, (uint8_t)bus))
            continue;
        bool present = false;
        for (uint8_t slot = 0; slot < 32 && !present; slot++) {
            stats->peer_probe_reads++;
            present = function_present(
                pci_access_read(probe, segment, (uint8_t)bus, slot, 0, PCI_VENDOR_ID, 4));
        }
        if (!present)
            continue;
        pr_info("%04x:%02x: peer root bus (no bridge leads to it)\n", segment, bus);
        struct device *parent = make_root ? make_root(segment, (uint8_t)bus, context) : NULL;
        if (pci_scan_root_bus(access, segment, (uint8_t)bus, parent, stats) == 0)
            found++;
    }
    return found;
}

int pci_scan_behind_bridge(struct pci_device *bridge, struct pci_scan_stats *stats)
{
    struct pci_scan_stats unused = {0};
    struct pci_windows windows;
    if (bridge->header_type == PCI_HEADER_BRIDGE)
        read_bridge_windows(bridge); /* firmware or an earlier event may have changed them */
    pci_windows_from_bridge(&windows, bridge);
    struct scan_context scan = {
        bridge->access, bridge->segment, segment_state(bridge->segment), stats ? stats : &unused,
        true,           &windows};
    if (bridge->header_type != PCI_HEADER_BRIDGE || !scan.state)
        return -EINVAL;
    uint8_t bus = bridge->bridge.secondary_bus;
    if (bus <= bridge->bus)
        return -EINVAL;
    unsigned before = scan.stats->functions;
    mark_bus_scanned(scan.state, bus);
    unsigned slots = leads_to_one_slot(bridge) ? 1 : 32;
    for (uint8_t slot = 0; slot < slots; slot++) {
        struct pci_device *existing = pci_find_device(bridge->segment, bus, slot, 0);
        if (existing) {
            device_put(&existing->dev);
            continue;
        }
        scan_slot(&scan, bus, slot, &bridge->dev, bridge);
    }
    return (int)(scan.stats->functions - before);
}
