/* Capability lists.  Both lists come from the device, so every pointer is checked: the
 * standard list lives in 0x40-0xff, the extended one in 0x100-0xfff, and a list that revisits
 * an offset is cut there. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "pci_core.h"

#define CAP_FIRST 0x40
/* Set by a reporting walk that had to cut a list. */
static bool walk_cut;
#define EXT_CAP_FIRST 0x100

/* Ends a walk over a malformed list; a reporting walk says why (format takes the offset). */
static void __printf(3, 0)
    cut_list(struct pci_device *pdev, bool report, const char *format, unsigned offset)
{
    if (!report)
        return;
    walk_cut = true;
    char why[80];
    snprintf(why, sizeof(why), format, offset);
    pr_warn("%s: %s, list cut\n", pci_name(pdev), why);
}

/* Marks the dword at offset visited in a one-bit-per-dword set; true if it already was. */
static bool seen_before(uint8_t *seen, unsigned offset)
{
    unsigned dword = offset / 4;
    bool was = seen[dword / 8] & (1u << (dword % 8));
    seen[dword / 8] |= (uint8_t)(1u << (dword % 8));
    return was;
}

/* Calls visit(id, offset) for each capability in order until it returns true; returns the
 * offset it stopped at, or 0. */
static uint8_t walk_standard(struct pci_device *pdev, bool report,
                             bool (*visit)(uint8_t id, uint8_t offset, void *context),
                             void *context)
{
    if (!(pci_read_config16(pdev, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    uint8_t seen[256 / 32] = {0}; /* one bit per dword */
    /* A CardBus bridge keeps its pointer at 0x14 (0x34 is part of its I/O windows). */
    unsigned pointer =
        pdev->header_type == PCI_HEADER_CARDBUS ? PCI_CB_CAPABILITY_LIST : PCI_CAPABILITY_LIST;
    uint8_t offset = pci_read_config8(pdev, pointer) & 0xfc;
    while (offset) {
        if (offset < CAP_FIRST) {
            cut_list(pdev, report, "capability pointer 0x%02x inside the header", offset);
            return 0;
        }
        if (seen_before(seen, offset)) {
            cut_list(pdev, report, "capability list loops back to 0x%02x", offset);
            return 0;
        }
        uint16_t header = pci_read_config16(pdev, offset);
        uint8_t id = header & 0xff;
        if (id == 0xff) {
            cut_list(pdev, report, "capability at 0x%02x reads all ones", offset);
            return 0;
        }
        if (visit(id, offset, context))
            return offset;
        offset = (header >> 8) & 0xfc;
    }
    return 0;
}

static uint16_t walk_extended(struct pci_device *pdev, bool report,
                              bool (*visit)(uint16_t id, uint16_t offset, void *context),
                              void *context)
{
    if (pdev->config_size <= EXT_CAP_FIRST)
        return 0;
    uint8_t seen[4096 / 32] = {0};
    uint16_t offset = EXT_CAP_FIRST;
    while (offset) {
        if (offset < EXT_CAP_FIRST || offset + 4 > pdev->config_size) {
            cut_list(pdev, report, "extended capability pointer 0x%03x out of range", offset);
            return 0;
        }
        if (seen_before(seen, offset)) {
            cut_list(pdev, report, "extended capability list loops back to 0x%03x", offset);
            return 0;
        }
        uint32_t header = pci_read_config32(pdev, offset);
        /* An empty list reads as 0 (or all ones where nothing decodes) at 0x100. */
        if (header == 0 || header == 0xffffffffu)
            return 0;
        uint16_t id = header & 0xffff;
        if (visit(id, offset, context))
            return offset;
        offset = (uint16_t)((header >> 20) & 0xffc);
    }
    return 0;
}

struct cap_search {
    unsigned after; /* skip capabilities up to and including this offset */
    bool passed;    /* the start point was reached (or none was given) */
    unsigned id;
};

static bool match_standard(uint8_t id, uint8_t offset, void *context)
{
    struct cap_search *search = context;
    if (!search->passed) {
        search->passed = offset == search->after;
        return false;
    }
    return id == search->id;
}

static bool match_extended(uint16_t id, uint16_t offset, void *context)
{
    struct cap_search *search = context;
    if (!search->passed) {
        search->passed = offset == search->after;
        return false;
    }
    return id == search->id;
}

uint8_t pci_walk_capabilities(struct pci_device *pdev, uint8_t after, uint8_t cap_id, bool report)
{
    struct cap_search search = {after, after == 0, cap_id};
    return walk_standard(pdev, report, match_standard, &search);
}

uint16_t pci_walk_ext_capabilities(struct pci_device *pdev, uint16_t after, uint16_t cap_id,
                                   bool report)
{
    struct cap_search search = {after, after == 0, cap_id};
    return walk_extended(pdev, report, match_extended, &search);
}

uint8_t pci_find_capability(struct pci_device *pdev, uint8_t cap_id)
{
    return pci_walk_capabilities(pdev, 0, cap_id, false);
}
uint8_t pci_find_next_capability(struct pci_device *pdev, uint8_t pos, uint8_t cap_id)
{
    return pci_walk_capabilities(pdev, pos, cap_id, false);
}
uint16_t pci_find_ext_capability(struct pci_device *pdev, uint16_t cap_id)
{
    return pci_walk_ext_capabilities(pdev, 0, cap_id, false);
}
uint16_t pci_find_next_ext_capability(struct pci_device *pdev, uint16_t pos, uint16_t cap_id)
{
    return pci_walk_ext_capabilities(pdev, pos, cap_id, false);
}

struct cap_collect {
    uint8_t *ids8;
    uint16_t *ids16;
    void *offsets;
    unsigned count, max;
};

static bool collect_standard(uint8_t id, uint8_t offset, void *context)
{
    struct cap_collect *collect = context;
    collect->ids8[collect->count] = id;
    ((uint8_t *)collect->offsets)[collect->count] = offset;
    return ++collect->count == collect->max;
}

static bool collect_extended(uint16_t id, uint16_t offset, void *context)
{
    struct cap_collect *collect = context;
    collect->ids16[collect->count] = id;
    ((uint16_t *)collect->offsets)[collect->count] = offset;
    return ++collect->count == collect->max;
}

unsigned pci_list_capabilities(struct pci_device *pdev, uint8_t *ids, uint8_t *offsets,
                               unsigned max)
{
    struct cap_collect collect = {ids, NULL, offsets, 0, max};
    if (max)
        walk_standard(pdev, false, collect_standard, &collect);
    return collect.count;
}

unsigned pci_list_ext_capabilities(struct pci_device *pdev, uint16_t *ids, uint16_t *offsets,
                                   unsigned max)
{
    struct cap_collect collect = {NULL, ids, offsets, 0, max};
    if (max)
        walk_extended(pdev, false, collect_extended, &collect);
    return collect.count;
}

static bool visit_none(uint8_t id, uint8_t offset, void *context)
{
    return false;
}

static bool visit_none_extended(uint16_t id, uint16_t offset, void *context)
{
    return false;
}

unsigned pci_check_capability_lists(struct pci_device *pdev)
{
    unsigned cut = 0;
    walk_cut = false;
    walk_standard(pdev, true, visit_none, NULL);
    cut += walk_cut;
    walk_cut = false;
    walk_extended(pdev, true, visit_none_extended, NULL);
    cut += walk_cut;
    return cut;
}
