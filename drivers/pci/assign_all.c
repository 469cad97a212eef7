/* Resource assignment where no firmware did it (a device tree machine booted straight into the
 * kernel, or pci=assign-all): bus numbers for every bridge, then BARs and bridge windows.
 *
 * It runs on raw configuration space before the scan, in two passes per bus, depth first:
 *   sizing  - every function's BARs are sized (decoding off); each bridge gets the next bus
 *             number, its subtree is sized, and becomes one request per kind of space (its
 *             window: I/O in 4 KiB, memory and prefetchable memory in 1 MiB units, at least
 *             a hot-plug reserve when its slot is hot-plug capable);
 *   placing - each bus's requests, largest alignment first, are packed from the start of the
 *             window the parent gives it; bridges get their windows programmed and their
 *             subtree placed inside.
 * 64-bit prefetchable BARs go to the host's 64-bit prefetchable window when there is one, all
 * other memory BARs below 4 GiB.  Whatever does not fit (or has no window) is left at 0 with
 * its decoding off, and a warning names the function and BAR; the scan then reports the BAR as
 * unassigned and drivers do not bind. */
#define pr_fmt(fmt) "pci: " fmt
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "pci_core.h"

#define IO_GRANULE  0x1000ULL
#define MEM_GRANULE 0x100000ULL
#define HOTPLUG_MEM (2 * MEM_GRANULE)
#define REQUESTS_MAX 256

enum space { SPACE_IO, SPACE_MEM, SPACE_PREF, SPACE_COUNT };
static const char *const space_names[] = {"I/O", "memory", "prefetchable memory"};

struct bus_plan;

struct request {
    enum space space;
    uint64_t size, align;
    uint8_t slot, function;
    int bar;                /* BAR index (the first of a 64-bit pair), or -1: a bridge window */
    bool is64;
    struct bus_plan *child; /* for a bridge window: the bus behind it */
};

struct window {
    uint64_t next, end; /* [next, end) still free; end 0: no window */
};

struct bus_plan {
    uint8_t bus;
    uint8_t bridge_slot, bridge_fn; /* the bridge leading here */
    struct window placed[SPACE_COUNT]; /* the windows the bridge got */
    unsigned count;
    struct request *requests;
    uint64_t need[SPACE_COUNT], align[SPACE_COUNT];
    struct bus_plan *children; /* list of the bridges' buses */
    struct bus_plan *next_sibling;
};

struct assign {
    const struct pci_config_access *access;
    uint16_t segment;
    unsigned next_bus, last_bus;
    bool have_pref64;
    unsigned warnings;
};

static uint32_t rd(struct assign *a, uint8_t bus, uint8_t slot, uint8_t fn, uint16_t off, unsigned w)
{
    return pci_access_read(a->access, a->segment, bus, slot, fn, off, w);
}

static void wr(struct assign *a, uint8_t bus, uint8_t slot, uint8_t fn, uint16_t off, unsigned w,
               uint32_t v)
{
    pci_access_write(a->access, a->segment, bus, slot, fn, off, w, v);
}

static bool add_request(struct assign *a, struct bus_plan *plan, struct request r)
{
    if (plan->count == REQUESTS_MAX) {
        pr_warn("bus %02x: more than %u resources to place; the rest stay unassigned\n",
                plan->bus, REQUESTS_MAX);
        a->warnings++;
        return false;
    }
    plan->requests[plan->count++] = r;
    return true;
}

/* Sizes BAR index (and its upper half) of a function whose decoding is off; 0 if unused. */
static uint64_t size_bar(struct assign *a, uint8_t bus, uint8_t slot, uint8_t fn, unsigned index,
                         bool *io, bool *is64, bool *prefetchable)
{
    uint16_t off = (uint16_t)(PCI_BAR0 + index * 4);
    uint32_t original = rd(a, bus, slot, fn, off, 4);
    wr(a, bus, slot, fn, off, 4, 0xffffffff);
    uint32_t mask = rd(a, bus, slot, fn, off, 4);
    wr(a, bus, slot, fn, off, 4, original);
    *io = original & 1;
    *is64 = !*io && ((original >> 1) & 3) == 2;
    *prefetchable = !*io && (original & 8);
    if (*io) {
        uint32_t bits = mask & ~3u & 0xffff;
        return bits ? (uint64_t)(~bits & 0xffff) + 1 : 0;
    }
    uint64_t bits = mask & ~0xfULL;
    if (!*is64 && !bits)
        return 0; /* not implemented */
    if (*is64) {
        uint32_t upper = rd(a, bus, slot, fn, off + 4, 4);
        wr(a, bus, slot, fn, off + 4, 4, 0xffffffff);
        bits |= (uint64_t)rd(a, bus, slot, fn, off + 4, 4) << 32;
        wr(a, bus, slot, fn, off + 4, 4, upper);
    } else {
        bits |= 0xffffffff00000000ULL;
    }
    return bits & ~0xfULL ? ~(bits & ~0xfULL) + 1 : 0;
}

static void size_function_bars(struct assign *a, struct bus_plan *plan, uint8_t slot, uint8_t fn,
                               unsigned bar_count)
{
    uint16_t command = (uint16_t)rd(a, plan->bus, slot, fn, PCI_COMMAND, 2);
    wr(a, plan->bus, slot, fn, PCI_COMMAND, 2,
       command & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    for (unsigned i = 0; i < bar_count; i++) {
        bool io, is64, prefetchable;
        uint64_t size = size_bar(a, plan->bus, slot, fn, i, &io, &is64, &prefetchable);
        if (size) {
            enum space space = io                                      ? SPACE_IO
                               : is64 && prefetchable && a->have_pref64 ? SPACE_PREF
                                                                        : SPACE_MEM;
            add_request(a, plan, (struct request){space, size, size, slot, fn, (int)i, is64,
                                                  NULL});
        }
        if (is64)
            i++;
    }
}

/* A PCIe port whose slot is hot-plug capable gets room for what may be plugged in later. */
static bool hotplug_slot(struct assign *a, uint8_t bus, uint8_t slot, uint8_t fn)
{
    if (!(rd(a, bus, slot, fn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return false;
    uint8_t cap = (uint8_t)rd(a, bus, slot, fn, PCI_CAPABILITY_LIST, 1) & ~3;
    for (unsigned guard = 0; cap >= 0x40 && guard < 48; guard++) {
        if (rd(a, bus, slot, fn, cap, 1) == PCI_CAP_ID_EXP) {
            uint16_t flags = (uint16_t)rd(a, bus, slot, fn, cap + 2, 2);
            uint32_t slot_caps = rd(a, bus, slot, fn, cap + PCI_EXP_SLTCAP, 4);
            return (flags & PCI_EXP_FLAGS_SLOT) && (slot_caps & (1u << 6)); /* HPC */
        }
        cap = (uint8_t)rd(a, bus, slot, fn, cap + 1, 1) & ~3;
    }
    return false;
}

static struct bus_plan *size_bus(struct assign *a, uint8_t bus, unsigned depth);
static void close_windows(struct assign *a, uint8_t bus, uint8_t slot, uint8_t fn);

/* Numbers the bridge, sizes what is behind it and asks for its windows. */
static void size_bridge(struct assign *a, struct bus_plan *plan, uint8_t slot, uint8_t fn,
                        unsigned depth)
{
    if (a->next_bus > a->last_bus || depth >= 32) {
        pr_warn("%04x:%02x:%02x.%u: no bus number left for the bridge (buses up to %02x); what "
                "is behind it is not reached\n",
                a->segment, plan->bus, slot, fn, a->last_bus);
        a->warnings++;
        wr(a, plan->bus, slot, fn, PCI_PRIMARY_BUS, 4, 0);
        return;
    }
    uint8_t secondary = (uint8_t)a->next_bus++;
    /* Subordinate at the top while the subtree is numbered, so deeper buses are forwarded. */
    wr(a, plan->bus, slot, fn, PCI_PRIMARY_BUS, 4,
       (rd(a, plan->bus, slot, fn, PCI_PRIMARY_BUS, 4) & 0xff000000u) | (uint32_t)a->last_bus << 16 |
           (uint32_t)secondary << 8 | plan->bus);
    size_function_bars(a, plan, slot, fn, 2);
    close_windows(a, plan->bus, slot, fn);
    struct bus_plan *child = size_bus(a, secondary, depth + 1);
    wr(a, plan->bus, slot, fn, PCI_SUBORDINATE_BUS, 1, a->next_bus - 1);
    if (!child)
        return;
    child->bridge_slot = slot;
    child->bridge_fn = fn;
    child->next_sibling = plan->children;
    plan->children = child;
    bool hotplug = hotplug_slot(a, plan->bus, slot, fn);
    for (enum space s = 0; s < SPACE_COUNT; s++) {
        uint64_t granule = s == SPACE_IO ? IO_GRANULE : MEM_GRANULE;
        uint64_t need = child->need[s];
        if (hotplug && s != SPACE_IO && (s == SPACE_MEM || a->have_pref64))
            need = MAX(need, HOTPLUG_MEM);
        if (!need)
            continue;
        uint64_t align = MAX(granule, child->align[s]);
        add_request(a, plan, (struct request){s, ALIGN_UP(need, granule), align, slot, fn, -1,
                                              s == SPACE_PREF, child});
    }
}

/* Largest alignment first, so packing wastes nothing between power-of-two BARs. */
static void sort_requests(struct bus_plan *plan)
{
    for (unsigned i = 1; i < plan->count; i++) {
        struct request r = plan->requests[i];
        unsigned j = i;
        for (; j > 0 && plan->requests[j - 1].align < r.align; j--)
            plan->requests[j] = plan->requests[j - 1];
        plan->requests[j] = r;
    }
}

static struct bus_plan *size_bus(struct assign *a, uint8_t bus, unsigned depth)
{
    struct bus_plan *plan = kzalloc(sizeof(*plan));
    struct request *requests = kmalloc(REQUESTS_MAX * sizeof(*requests));
    if (!plan || !requests) {
        kfree(plan);
        kfree(requests);
        pr_err("bus %02x: out of memory for resource assignment\n", bus);
        return NULL;
    }
    plan->bus = bus;
    plan->requests = requests;
    for (uint8_t slot = 0; slot < 32; slot++) {
        for (uint8_t fn = 0; fn < 8; fn++) {
            uint32_t id = rd(a, bus, slot, fn, PCI_VENDOR_ID, 4);
            if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
                if (fn == 0)
                    break;
                continue;
            }
            uint8_t header = (uint8_t)rd(a, bus, slot, fn, PCI_HEADER_TYPE, 1);
            if ((header & PCI_HEADER_TYPE_MASK) == PCI_HEADER_BRIDGE)
                size_bridge(a, plan, slot, fn, depth);
            else if ((header & PCI_HEADER_TYPE_MASK) == PCI_HEADER_NORMAL)
                size_function_bars(a, plan, slot, fn, 6);
            if (fn == 0 && !(header & PCI_HEADER_MULTIFUNCTION))
                break;
        }
    }
    sort_requests(plan);
    for (unsigned i = 0; i < plan->count; i++) {
        struct request *r = &plan->requests[i];
        plan->need[r->space] = ALIGN_UP(plan->need[r->space], r->align) + r->size;
        plan->align[r->space] = MAX(plan->align[r->space], r->align);
    }
    return plan;
}

static void program_bar(struct assign *a, uint8_t bus, const struct request *r, uint64_t address)
{
    uint16_t off = (uint16_t)(PCI_BAR0 + r->bar * 4);
    uint32_t low = rd(a, bus, r->slot, r->function, off, 4);
    uint32_t flags = r->space == SPACE_IO ? (low & 3) : (low & 0xf);
    wr(a, bus, r->slot, r->function, off, 4, (uint32_t)address | flags);
    if (r->is64)
        wr(a, bus, r->slot, r->function, off + 4, 4, (uint32_t)(address >> 32));
    uint16_t command = (uint16_t)rd(a, bus, r->slot, r->function, PCI_COMMAND, 2);
    command |= r->space == SPACE_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    wr(a, bus, r->slot, r->function, PCI_COMMAND, 2, command);
}

static void program_window(struct assign *a, uint8_t bus, uint8_t slot, uint8_t fn,
                           enum space s, uint64_t base, uint64_t size)
{
    uint64_t limit = base + size - 1;
    if (s == SPACE_IO) {
        wr(a, bus, slot, fn, PCI_IO_BASE, 1, (uint32_t)(base >> 8) & 0xf0);
        wr(a, bus, slot, fn, PCI_IO_LIMIT, 1, (uint32_t)(limit >> 8) & 0xf0);
        wr(a, bus, slot, fn, PCI_IO_BASE_UPPER16, 4, (uint32_t)(limit >> 16) << 16 |
                                                         (uint32_t)(base >> 16));
    } else if (s == SPACE_MEM) {
        wr(a, bus, slot, fn, PCI_MEMORY_BASE, 2, (uint32_t)(base >> 16) & 0xfff0);
        wr(a, bus, slot, fn, PCI_MEMORY_LIMIT, 2, (uint32_t)(limit >> 16) & 0xfff0);
    } else {
        wr(a, bus, slot, fn, PCI_PREF_MEMORY_BASE, 2, ((uint32_t)(base >> 16) & 0xfff0) | 1);
        wr(a, bus, slot, fn, PCI_PREF_MEMORY_LIMIT, 2, ((uint32_t)(limit >> 16) & 0xfff0) | 1);
        wr(a, bus, slot, fn, PCI_PREF_BASE_UPPER32, 4, (uint32_t)(base >> 32));
        wr(a, bus, slot, fn, PCI_PREF_LIMIT_UPPER32, 4, (uint32_t)(limit >> 32));
    }
}

/* A bridge's windows start closed (base above limit); placing opens the ones it uses. */
static void close_windows(struct assign *a, uint8_t bus, uint8_t slot, uint8_t fn)
{
    wr(a, bus, slot, fn, PCI_IO_BASE, 1, 0xf0);
    wr(a, bus, slot, fn, PCI_IO_LIMIT, 1, 0);
    wr(a, bus, slot, fn, PCI_IO_BASE_UPPER16, 4, 0);
    wr(a, bus, slot, fn, PCI_MEMORY_BASE, 2, 0xfff0);
    wr(a, bus, slot, fn, PCI_MEMORY_LIMIT, 2, 0);
    wr(a, bus, slot, fn, PCI_PREF_MEMORY_BASE, 2, 0xfff1);
    wr(a, bus, slot, fn, PCI_PREF_MEMORY_LIMIT, 2, 1);
    wr(a, bus, slot, fn, PCI_PREF_BASE_UPPER32, 4, 0xffffffff);
    wr(a, bus, slot, fn, PCI_PREF_LIMIT_UPPER32, 4, 0);
}

static void place_bus(struct assign *a, struct bus_plan *plan, struct window windows[SPACE_COUNT])
{
    for (unsigned i = 0; i < plan->count; i++) {
        const struct request *r = &plan->requests[i];
        struct window *w = &windows[r->space];
        uint64_t start = ALIGN_UP(w->next, r->align);
        if (!w->end || start < w->next || start + r->size > w->end || start + r->size < start) {
            if (r->bar >= 0)
                pr_warn("%04x:%02x:%02x.%u: BAR %d (%llu KiB of %s) does not fit the window "
                        "it belongs in; left unassigned\n",
                        a->segment, plan->bus, r->slot, r->function, r->bar,
                        (unsigned long long)(r->size >> 10), space_names[r->space]);
            else
                pr_warn("%04x:%02x:%02x.%u: bridge window of %llu KiB of %s does not fit; what "
                        "is behind it gets none\n",
                        a->segment, plan->bus, r->slot, r->function,
                        (unsigned long long)(r->size >> 10), space_names[r->space]);
            a->warnings++;
            continue;
        }
        w->next = start + r->size;
        if (r->bar >= 0) {
            program_bar(a, plan->bus, r, start);
        } else {
            program_window(a, plan->bus, r->slot, r->function, r->space, start, r->size);
            r->child->placed[r->space] = (struct window){start, start + r->size};
        }
    }
    for (struct bus_plan *child = plan->children; child; child = child->next_sibling) {
        uint16_t command = (uint16_t)rd(a, plan->bus, child->bridge_slot, child->bridge_fn,
                                        PCI_COMMAND, 2);
        wr(a, plan->bus, child->bridge_slot, child->bridge_fn, PCI_COMMAND, 2,
           command | PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        place_bus(a, child, child->placed);
    }
}

static void free_plan(struct bus_plan *plan)
{
    while (plan) {
        struct bus_plan *next = plan->next_sibling;
        free_plan(plan->children);
        kfree(plan->requests);
        kfree(plan);
        plan = next;
    }
}

int pci_assign_all(const struct pci_config_access *access, uint16_t segment, unsigned first_bus,
                   unsigned last_bus, const struct pci_host_windows *host)
{
    struct assign a = {access, segment, first_bus + 1, last_bus, host->pref64.size != 0, 0};
    struct bus_plan *root = size_bus(&a, (uint8_t)first_bus, 0);
    if (!root)
        return -ENOMEM;
    struct window windows[SPACE_COUNT] = {
        [SPACE_IO] = {host->io.base, host->io.base + host->io.size},
        [SPACE_MEM] = {host->mem32.base, host->mem32.base + host->mem32.size},
        [SPACE_PREF] = {host->pref64.base, host->pref64.base + host->pref64.size},
    };
    place_bus(&a, root, windows);
    pr_info("%04x:%02x: assigned buses %02x-%02x and the resources of their functions%s\n",
            segment, first_bus, first_bus, a.next_bus - 1,
            a.warnings ? " (some left unassigned, see above)" : "");
    free_plan(root);
    return (int)a.warnings;
}
