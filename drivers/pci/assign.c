/* Address assignment for functions firmware never saw (hot-plugged behind a bridge): each
 * unassigned BAR gets the next naturally aligned range of the bridge window of its kind. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/pci.h>
#include <rayos/printk.h>

#include "pci_core.h"

void pci_windows_from_bridge(struct pci_windows *windows, const struct pci_device *bridge)
{
    const struct pci_bridge_info *info = &bridge->bridge;
    windows->io.next = info->io_base;
    windows->io.limit = info->io_base <= info->io_limit ? info->io_limit : 0;
    windows->io.usable = info->io_base <= info->io_limit;
    windows->mem.next = info->mem_base;
    windows->mem.limit = info->mem_limit;
    windows->mem.usable = info->mem_base <= info->mem_limit;
    windows->pref.next = info->pref_base;
    windows->pref.limit = info->pref_limit;
    windows->pref.usable = info->pref_base <= info->pref_limit;
}

static bool window_take(struct pci_window *window, uint64_t size, uint64_t *base)
{
    if (!window->usable)
        return false;
    uint64_t start = ALIGN_UP(window->next, size);
    if (start < window->next || start + size - 1 > window->limit || start + size < start)
        return false;
    *base = start;
    window->next = start + size;
    return true;
}

static struct pci_window *window_for(struct pci_windows *windows, const struct pci_bar *bar,
                                     bool *fallback_used)
{
    *fallback_used = false;
    if (bar->type == PCI_BAR_IO)
        return &windows->io;
    /* Prefetchable BARs prefer the prefetchable window; a 32-bit BAR cannot use one above
     * 4 GiB, and anything may fall back to the non-prefetchable window. */
    if (bar->prefetchable && windows->pref.usable &&
        (bar->type == PCI_BAR_MEM64 || windows->pref.limit < 0x100000000ull))
        return &windows->pref;
    *fallback_used = bar->prefetchable;
    return &windows->mem;
}

unsigned pci_assign_bars(struct pci_device *pdev, struct pci_windows *windows)
{
    unsigned assigned = 0;
    windows->failed_mask = 0;
    /* Largest first keeps the alignment padding small. */
    for (;;) {
        int pick = -1;
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            const struct pci_bar *bar = &pdev->bars[i];
            if (bar->type != PCI_BAR_NONE && bar->size && bar->base == 0 &&
                !(windows->failed_mask & (1u << i)) &&
                (pick < 0 || bar->size > pdev->bars[pick].size))
                pick = (int)i;
        }
        if (pick < 0)
            return assigned;
        struct pci_bar *bar = &pdev->bars[pick];
        bool fallback;
        struct pci_window *window = window_for(windows, bar, &fallback);
        uint64_t base;
        if (!window_take(window, bar->size, &base) &&
            !(window == &windows->pref && window_take(&windows->mem, bar->size, &base))) {
            pr_warn("%s: BAR %d (%llu bytes) does not fit the bridge window, left unassigned\n",
                    pci_name(pdev), pick, (unsigned long long)bar->size);
            windows->failed_mask |= 1u << pick;
            continue;
        }
        unsigned offset = PCI_BAR0 + 4 * (unsigned)pick;
        uint32_t low = pci_read_config32(pdev, offset) & (bar->type == PCI_BAR_IO ? 0x3u : 0xfu);
        pci_write_config32(pdev, offset, (uint32_t)base | low);
        if (bar->type == PCI_BAR_MEM64)
            pci_write_config32(pdev, offset + 4, (uint32_t)(base >> 32));
        bar->base = base;
        assigned++;
        pr_info("%s: BAR %d assigned %#llx (%llu bytes)%s\n", pci_name(pdev), pick,
                (unsigned long long)base, (unsigned long long)bar->size,
                fallback ? " from the non-prefetchable window" : "");
    }
}
