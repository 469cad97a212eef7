/* Bus numbers, BARs and bridge windows for a hierarchy nobody configured (QEMU's virt machine
 * under -kernel, or x86 with pci=assign-all).  Portable; runs before the scan registers the
 * functions, on raw configuration space.
 *
 *   1. Enumerate depth first from the host's first bus, giving every bridge the next bus
 *      number as secondary and, once its subtree is done, the last one as subordinate.  BARs
 *      are sized with decoding off.
 *   2. Size bridge windows bottom up: for each of I/O (4 KiB granules), memory (1 MiB) and
 *      64-bit prefetchable memory (1 MiB), the children's BARs and windows placed largest
 *      alignment first.
 *   3. Place top down from the host's windows, in the same order, then program BARs and
 *      windows and turn decoding on.
 *
 * What does not fit (a BAR larger than the space left, a bridge beyond the bus range) is warned
 * about by name, left without addresses and with decoding off: its driver's BAR mapping fails
 * and it stays unbound.  Config space is untrusted: enumeration ends when bus numbers run out,
 * so a bridge that shows itself again behind itself cannot loop. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/pci.h>
#include <rayos/pci_host_bridge.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "pci_core.h"

enum space { SPACE_IO, SPACE_MEM, SPACE_PREF, SPACES };
static const char *const space_names[SPACES] = {"I/O", "memory", "prefetchable memory"};
static const uint64_t granule[SPACES] = {4 * KiB, 1 * MiB, 1 * MiB};

#define BAR_IO          0x1u
#define BAR_MEM_64      0x4u
#define BAR_MEM_PREF    0x8u
#define PREF_64BIT      0x1u /* low nibble of the prefetchable base: 64-bit capable */
#define MAX_FUNCTIONS   1024 /* a hierarchy larger than this is not a real one */
#define CAP_ID_PCIE     0x10
#define PCIE_FLAGS_SLOT (1u << 8) /* the port has a slot: something may be plugged in later */
/* What a port with a slot gets even when empty, so hot-plugged devices find room. */
static const uint64_t hotplug_reserve[SPACES] = {4 * KiB, 2 * MiB, 2 * MiB};
#define LAST_BAR_INDEX 6

struct node {
    struct node *next;   /* every function, in enumeration order (parents first) */
    struct node *parent; /* the bridge above, NULL on the root bus */
    uint8_t bus, slot, function;
    bool bridge, failed;
    bool keep;        /* left as firmware set it (host and ISA bridges) */
    bool pref64_path; /* every bridge above forwards 64-bit prefetchable memory */
    struct {
        uint64_t size, base;
        enum space space;
        bool is64, placed;
    } bars[PCI_NUM_BARS];
    /* Bridges: */
    uint8_t secondary, subordinate;
    bool pref64, numbered, has_slot;
    uint64_t need[SPACES], align[SPACES], window[SPACES];
    bool window_placed[SPACES];
};

struct assignment {
    const struct pci_config_access *access;
    const struct pci_host_bridge_desc *host;
    struct pci_assign_stats *stats;
    struct node *first, **tail;
    unsigned count;
    unsigned next_bus;
    bool have_pref; /* the host has a 64-bit window for prefetchable BARs */
};

static uint32_t cfg_read(struct assignment *a, const struct node *n, uint16_t offset,
                         unsigned width)
{
    return pci_access_read(a->access, a->host->segment, n->bus, n->slot, n->function, offset,
                           width);
}

static void cfg_write(struct assignment *a, const struct node *n, uint16_t offset, unsigned width,
                      uint32_t value)
{
    pci_access_write(a->access, a->host->segment, n->bus, n->slot, n->function, offset, width,
                     value);
}

static void name_of(const struct assignment *a, const struct node *n, char *buffer, size_t size)
{
    snprintf(buffer, size, "%04x:%02x:%02x.%u", a->host->segment, n->bus, n->slot, n->function);
}

/* ---- 1. Enumeration ---- */

static uint64_t mask_size(uint64_t mask)
{
    return mask ? mask & ~(mask - 1) : 0;
}

static void size_bars(struct assignment *a, struct node *n, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        uint16_t offset = (uint16_t)(PCI_BAR0 + 4 * i);
        uint32_t original = cfg_read(a, n, offset, 4);
        cfg_write(a, n, offset, 4, 0xffffffffu);
        uint32_t sized = cfg_read(a, n, offset, 4);
        cfg_write(a, n, offset, 4, original);
        if (sized == 0 || sized == 0xffffffffu)
            continue;
        if (sized & BAR_IO) {
            n->bars[i].size = mask_size(sized & 0xfffffffcu & 0xffff);
            n->bars[i].space = SPACE_IO;
            continue;
        }
        uint64_t mask = sized & 0xfffffff0u;
        bool is64 = (sized & 6u) == BAR_MEM_64 && i + 1 < count;
        if (is64) {
            uint32_t high = cfg_read(a, n, offset + 4, 4);
            cfg_write(a, n, offset + 4, 4, 0xffffffffu);
            mask |= (uint64_t)cfg_read(a, n, offset + 4, 4) << 32;
            cfg_write(a, n, offset + 4, 4, high);
        }
        n->bars[i].size = mask_size(mask);
        n->bars[i].is64 = is64;
        n->bars[i].space = is64 && (sized & BAR_MEM_PREF) && a->have_pref && n->pref64_path
                               ? SPACE_PREF
                               : SPACE_MEM;
        if (is64)
            i++; /* the upper half */
    }
}

/* A PCIe port with a slot (walks at most 48 capabilities: the list is untrusted). */
static bool port_has_slot(struct assignment *a, struct node *n)
{
    if (!(cfg_read(a, n, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return false;
    uint8_t at = (uint8_t)cfg_read(a, n, PCI_CAPABILITY_LIST, 1) & 0xfc;
    for (unsigned i = 0; i < 48 && at >= 0x40; i++) {
        if (cfg_read(a, n, at, 1) == CAP_ID_PCIE)
            return cfg_read(a, n, (uint16_t)(at + 2), 2) & PCIE_FLAGS_SLOT;
        at = (uint8_t)cfg_read(a, n, (uint16_t)(at + 1), 1) & 0xfc;
    }
    return false;
}

static void close_bridge_windows(struct assignment *a, struct node *n)
{
    cfg_write(a, n, PCI_IO_BASE, 1, 0xf0);
    cfg_write(a, n, PCI_IO_LIMIT, 1, 0x00);
    cfg_write(a, n, PCI_IO_BASE_UPPER16, 4, 0);
    cfg_write(a, n, PCI_MEMORY_BASE, 2, 0xfff0);
    cfg_write(a, n, PCI_MEMORY_LIMIT, 2, 0x0000);
    cfg_write(a, n, PCI_PREF_MEMORY_BASE, 2, 0xfff0);
    cfg_write(a, n, PCI_PREF_MEMORY_LIMIT, 2, 0x0000);
    cfg_write(a, n, PCI_PREF_BASE_UPPER32, 4, 0);
    cfg_write(a, n, PCI_PREF_LIMIT_UPPER32, 4, 0);
}

static void enumerate_bus(struct assignment *a, uint8_t bus, struct node *parent);

static void number_bridge(struct assignment *a, struct node *n)
{
    char name[16];
    name_of(a, n, name, sizeof(name));
    n->pref64 = (cfg_read(a, n, PCI_PREF_MEMORY_BASE, 2) & 0xf) == PREF_64BIT;
    close_bridge_windows(a, n);
    if (a->next_bus > a->host->bus_last) {
        pr_warn("%s: bridge gets no bus number (bus range %u-%u used up): nothing behind it is "
                "reachable\n",
                name, a->host->bus_first, a->host->bus_last);
        cfg_write(a, n, PCI_PRIMARY_BUS, 4, (cfg_read(a, n, PCI_PRIMARY_BUS, 4) & 0xff000000u));
        a->stats->failed_bridges++;
        n->failed = true;
        return;
    }
    n->secondary = (uint8_t)a->next_bus++;
    /* Subordinate at the end of the range while the subtree is enumerated (config cycles for
     * buses further down must pass), then cut to what it used. */
    uint32_t latency = cfg_read(a, n, PCI_PRIMARY_BUS, 4) & 0xff000000u;
    cfg_write(a, n, PCI_PRIMARY_BUS, 4,
              latency | (uint32_t)a->host->bus_last << 16 | (uint32_t)n->secondary << 8 | n->bus);
    enumerate_bus(a, n->secondary, n);
    n->subordinate = (uint8_t)(a->next_bus - 1);
    cfg_write(a, n, PCI_SUBORDINATE_BUS, 1, n->subordinate);
    n->numbered = true;
    a->stats->bridges++;
}

static struct node *add_function(struct assignment *a, uint8_t bus, uint8_t slot, uint8_t function,
                                 struct node *parent)
{
    if (a->count >= MAX_FUNCTIONS)
        return NULL;
    struct node *n = kzalloc(sizeof(*n));
    if (!n)
        return NULL;
    n->bus = bus, n->slot = slot, n->function = function, n->parent = parent;
    n->pref64_path = !parent || (parent->pref64_path && parent->pref64);
    *a->tail = n;
    a->tail = &n->next;
    a->count++;
    a->stats->functions++;
    /* Host and ISA bridges keep what they decode: fixed legacy resources (the ISA ports of the
     * console among them) that no BAR describes. */
    uint16_t class = (uint16_t)cfg_read(a, n, PCI_SUBCLASS, 2);
    if (class == 0x0600 || class == 0x0601) {
        n->keep = true;
        return n;
    }
    uint16_t command = (uint16_t)cfg_read(a, n, PCI_COMMAND, 2);
    cfg_write(a, n, PCI_COMMAND, 2,
              command & (uint16_t) ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
    uint8_t header = (uint8_t)cfg_read(a, n, PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK;
    if (header == PCI_HEADER_NORMAL) {
        size_bars(a, n, 6);
    } else if (header == PCI_HEADER_BRIDGE) {
        n->bridge = true;
        size_bars(a, n, 2);
        n->has_slot = port_has_slot(a, n);
    }
    return n;
}

static void enumerate_bus(struct assignment *a, uint8_t bus, struct node *parent)
{
    a->stats->buses++;
    for (uint8_t slot = 0; slot < 32; slot++) {
        for (uint8_t function = 0; function < 8; function++) {
            uint32_t id =
                pci_access_read(a->access, a->host->segment, bus, slot, function, PCI_VENDOR_ID, 4);
            if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
                if (function == 0)
                    break;
                continue;
            }
            struct node *n = add_function(a, bus, slot, function, parent);
            if (!n)
                return;
            if (n->bridge)
                number_bridge(a, n);
            uint8_t header = (uint8_t)pci_access_read(a->access, a->host->segment, bus, slot, 0,
                                                      PCI_HEADER_TYPE, 1);
            if (function == 0 && !(header & PCI_HEADER_MULTIFUNCTION))
                break;
        }
    }
}

/* ---- 2. Window sizes, bottom up ---- */

struct item {
    struct node *owner;
    int bar; /* -1: the owner's bridge window */
    uint64_t size, align;
};

/* The items of one space directly on the bus below bridge (NULL: the root bus), largest
 * alignment first (insertion sort: buses are small).  Returns how many (at most max). */
static unsigned bus_items(struct assignment *a, struct node *bridge, enum space space,
                          struct item *items, unsigned max)
{
    unsigned count = 0;
    for (struct node *n = a->first; n; n = n->next) {
        if (n->parent != bridge)
            continue;
        for (int i = -1; i < PCI_NUM_BARS; i++) {
            struct item item = {n, i, 0, 0};
            if (i < 0 && n->bridge && n->numbered && n->need[space]) {
                item.size = n->need[space];
                item.align = n->align[space];
            } else if (i >= 0 && n->bars[i].size && n->bars[i].space == space) {
                item.size = item.align = n->bars[i].size;
            } else {
                continue;
            }
            if (count == max)
                return count;
            unsigned at = count++;
            while (at > 0 && items[at - 1].align < item.align) {
                items[at] = items[at - 1];
                at--;
            }
            items[at] = item;
        }
    }
    return count;
}

static void size_window(struct assignment *a, struct node *bridge, enum space space,
                        struct item *items)
{
    unsigned count = bus_items(a, bridge, space, items, MAX_FUNCTIONS);
    uint64_t end = 0, align = granule[space];
    for (unsigned i = 0; i < count; i++) {
        end = ALIGN_UP(end, items[i].align) + items[i].size;
        align = MAX(align, items[i].align);
    }
    bridge->need[space] = count ? ALIGN_UP(end, granule[space]) : 0;
    if (bridge->has_slot && bridge->need[space] < hotplug_reserve[space] &&
        (space != SPACE_PREF || a->have_pref))
        bridge->need[space] = hotplug_reserve[space];
    bridge->align[space] = align;
}

/* ---- 3. Placement, top down ---- */

static void fail_subtree(struct assignment *a, struct node *bridge, enum space space);

static void fail_item(struct assignment *a, const struct item *item, enum space space,
                      const char *why)
{
    char name[16];
    name_of(a, item->owner, name, sizeof(name));
    if (item->bar >= 0) {
        pr_warn("%s: BAR %d (%llu bytes of %s) %s: device left unassigned\n", name, item->bar,
                (unsigned long long)item->size, space_names[space], why);
        item->owner->failed = true;
        a->stats->failed_bars++;
    } else {
        pr_warn("%s: bridge %s window (%llu bytes) %s: devices behind it left unassigned\n", name,
                space_names[space], (unsigned long long)item->size, why);
        fail_subtree(a, item->owner, space);
    }
}

static void fail_subtree(struct assignment *a, struct node *bridge, enum space space)
{
    struct item *items = kcalloc(MAX_FUNCTIONS, sizeof(*items));
    if (!items)
        return;
    unsigned count = bus_items(a, bridge, space, items, MAX_FUNCTIONS);
    for (unsigned i = 0; i < count; i++)
        fail_item(a, &items[i], space, "has no window above it");
    kfree(items);
}

/* Places the bus's items of one space in [base, base + size) (PCI addresses). */
static void place_bus(struct assignment *a, struct node *bridge, enum space space, uint64_t base,
                      uint64_t size, struct item *items)
{
    unsigned count = bus_items(a, bridge, space, items, MAX_FUNCTIONS);
    /* Address 0 is never handed out: a BAR of 0 means "unassigned" to the rest of RayOS. */
    uint64_t next = base ? base : granule[space], end = base + size;
    for (unsigned i = 0; i < count; i++) {
        const struct item *item = &items[i];
        uint64_t start = ALIGN_UP(next, item->align);
        if (start < next || start > end || item->size > end - start) {
            fail_item(a, item, space, "does not fit the space left");
            continue;
        }
        next = start + item->size;
        if (item->bar >= 0) {
            item->owner->bars[item->bar].base = start;
            item->owner->bars[item->bar].placed = true;
        } else {
            item->owner->window[space] = start;
            item->owner->window_placed[space] = true;
        }
    }
}

/* ---- Programming ---- */

static void program_bridge(struct assignment *a, struct node *n)
{
    uint16_t command = PCI_COMMAND_MASTER;
    if (n->window_placed[SPACE_IO]) {
        uint64_t base = n->window[SPACE_IO], limit = base + n->need[SPACE_IO] - 1;
        cfg_write(a, n, PCI_IO_BASE, 1, (uint32_t)(base >> 8) & 0xf0);
        cfg_write(a, n, PCI_IO_LIMIT, 1, (uint32_t)(limit >> 8) & 0xf0);
        cfg_write(a, n, PCI_IO_BASE_UPPER16, 2, (uint32_t)(base >> 16));
        cfg_write(a, n, PCI_IO_LIMIT_UPPER16, 2, (uint32_t)(limit >> 16));
        command |= PCI_COMMAND_IO;
    }
    if (n->window_placed[SPACE_MEM]) {
        uint64_t base = n->window[SPACE_MEM], limit = base + n->need[SPACE_MEM] - 1;
        cfg_write(a, n, PCI_MEMORY_BASE, 2, (uint32_t)(base >> 16) & 0xfff0);
        cfg_write(a, n, PCI_MEMORY_LIMIT, 2, (uint32_t)(limit >> 16) & 0xfff0);
        command |= PCI_COMMAND_MEMORY;
    }
    if (n->window_placed[SPACE_PREF]) {
        uint64_t base = n->window[SPACE_PREF], limit = base + n->need[SPACE_PREF] - 1;
        cfg_write(a, n, PCI_PREF_MEMORY_BASE, 2, ((uint32_t)(base >> 16) & 0xfff0) | PREF_64BIT);
        cfg_write(a, n, PCI_PREF_MEMORY_LIMIT, 2, ((uint32_t)(limit >> 16) & 0xfff0) | PREF_64BIT);
        cfg_write(a, n, PCI_PREF_BASE_UPPER32, 4, (uint32_t)(base >> 32));
        cfg_write(a, n, PCI_PREF_LIMIT_UPPER32, 4, (uint32_t)(limit >> 32));
        command |= PCI_COMMAND_MEMORY;
    }
    if (!n->numbered)
        command = 0;
    cfg_write(a, n, PCI_COMMAND, 2, (cfg_read(a, n, PCI_COMMAND, 2) & ~7u) | command);
}

static void program_function(struct assignment *a, struct node *n)
{
    if (n->keep)
        return;
    uint16_t command = 0;
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (!n->bars[i].size)
            continue;
        uint16_t offset = (uint16_t)(PCI_BAR0 + 4 * i);
        uint64_t base = n->failed ? 0 : n->bars[i].base;
        uint32_t low_bits = cfg_read(a, n, offset, 4) & (n->bars[i].space == SPACE_IO ? 3u : 0xfu);
        cfg_write(a, n, offset, 4, (uint32_t)base | low_bits);
        if (n->bars[i].is64)
            cfg_write(a, n, offset + 4, 4, (uint32_t)(base >> 32));
        if (!n->failed) {
            a->stats->assigned_bars++;
            command |= n->bars[i].space == SPACE_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
        }
    }
    if (n->bridge) {
        program_bridge(a, n);
        return;
    }
    /* A failed function keeps decoding off: drivers find no address and do not bind. */
    if (!n->failed)
        cfg_write(a, n, PCI_COMMAND, 2, (cfg_read(a, n, PCI_COMMAND, 2) & ~3u) | command);
    else
        a->stats->failed_functions++;
}

/* The host window a space is placed in: I/O, the 32-bit window, the 64-bit one. */
static const struct pci_host_window *host_window(const struct pci_host_bridge_desc *host,
                                                 enum space space)
{
    const struct pci_host_window *found = NULL;
    for (unsigned i = 0; i < host->window_count && i < PCI_HOST_MAX_WINDOWS; i++) {
        const struct pci_host_window *w = &host->windows[i];
        bool wanted = (space == SPACE_IO && w->kind == PCI_WINDOW_IO) ||
                      (space == SPACE_MEM && w->kind == PCI_WINDOW_MEM32) ||
                      (space == SPACE_PREF && w->kind == PCI_WINDOW_MEM64);
        /* Of several, the largest (non-prefetchable for plain memory). */
        if (wanted && (!found || w->size > found->size) &&
            !(space == SPACE_MEM && w->prefetchable && found && !found->prefetchable))
            found = w;
    }
    return found;
}

int pci_assign_all(const struct pci_config_access *access, const struct pci_host_bridge_desc *host,
                   struct pci_assign_stats *stats)
{
    struct assignment a = {access, host, stats, NULL, NULL, 0, host->bus_first, false};
    memset(stats, 0, sizeof(*stats));
    a.tail = &a.first;
    a.have_pref = host_window(host, SPACE_PREF) != NULL;
    struct item *items = kcalloc(MAX_FUNCTIONS, sizeof(*items));
    if (!items)
        return -ENOMEM;
    a.next_bus = host->bus_first + 1u;
    enumerate_bus(&a, host->bus_first, NULL);
    /* Bottom up: children come after their bridge in the list, so walk it backwards. */
    struct node **order = kcalloc(a.count ? a.count : 1, sizeof(*order));
    if (!order) {
        kfree(items);
        return -ENOMEM;
    }
    unsigned count = 0;
    for (struct node *n = a.first; n; n = n->next)
        order[count++] = n;
    for (unsigned i = count; i-- > 0;)
        if (order[i]->bridge && order[i]->numbered)
            for (enum space s = 0; s < SPACES; s++)
                size_window(&a, order[i], s, items);
    for (enum space s = 0; s < SPACES; s++) {
        const struct pci_host_window *w = host_window(host, s);
        if (w) {
            place_bus(&a, NULL, s, w->pci_address, w->size, items);
        } else {
            unsigned n = bus_items(&a, NULL, s, items, MAX_FUNCTIONS);
            for (unsigned i = 0; i < n; i++)
                fail_item(&a, &items[i], s, "has no host window");
        }
        for (unsigned i = 0; i < count; i++)
            if (order[i]->bridge && order[i]->window_placed[s])
                place_bus(&a, order[i], s, order[i]->window[s], order[i]->need[s], items);
    }
    for (unsigned i = 0; i < count; i++)
        program_function(&a, order[i]);
    pr_info("%s: assigned %u buses, %u bridges, %u BARs of %u functions; %u BARs and %u "
            "bridges did not fit\n",
            host->name, stats->buses, stats->bridges, stats->assigned_bars, stats->functions,
            stats->failed_bars, stats->failed_bridges);
    for (unsigned i = 0; i < count; i++)
        kfree(order[i]);
    kfree(order);
    kfree(items);
    return 0;
}
