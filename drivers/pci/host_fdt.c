/* PCI host bridges a device tree describes (pci-host-ecam-generic, read by
 * drivers/platform/fdt_pci_host.c): their ECAM windows for host.c, the first one's I/O window
 * for the port accessors, INTx through its interrupt map with the swizzle across bridges, and
 * resource assignment (nobody numbered buses or placed BARs before the kernel ran). */
#define pr_fmt(fmt) "pci: " fmt
#include <rayos/device_tree.h>
#include <rayos/errno.h>
#include <rayos/fdt_devices.h>
#include <rayos/io.h>
#include <rayos/pci_host_bridge.h>
#include <rayos/printk.h>
#include <rayos/time.h>

#include "pci_core.h"
#include "pci_host_fdt.h"

#define TREE_HOSTS_MAX 4

static struct pci_host_bridge_desc hosts[TREE_HOSTS_MAX];
static unsigned host_count;

static const struct pci_host_bridge_desc *host_of(uint16_t segment, uint8_t bus)
{
    for (unsigned i = 0; i < host_count; i++)
        if (hosts[i].segment == segment && bus >= hosts[i].bus_first && bus <= hosts[i].bus_last)
            return &hosts[i];
    return NULL;
}

int pci_fdt_intx_spec(void *context, struct pci_device *pdev, unsigned pin, struct irq_spec *out)
{
    (void)context;
    uint8_t root_pin = (uint8_t)pin;
    struct pci_device *root = pdev;
    while (root->dev.parent && dev_is_pci(root->dev.parent)) {
        root_pin = pci_swizzle_pin(root_pin, root->slot);
        root = to_pci_device(root->dev.parent);
    }
    const struct pci_host_bridge_desc *host = host_of(root->segment, root->bus);
    uint32_t line;
    unsigned flags;
    if (!host || pci_host_intx_route(host, root->slot, root->function, root_pin, &line, &flags)) {
        pr_err("%s: INT%c is not in the host bridge's interrupt-map\n", pci_name(pdev),
               'A' + (int)(pin - 1) % 4);
        return -ENODEV;
    }
    *out = (struct irq_spec){line, RESOURCE_IRQ_TRIGGER(flags)}; /* flags: FDT_IRQ_FLAGS */
    return 0;
}

/* The host bridge a function is under: the one whose buses hold its root bus. */
static const struct pci_host_bridge_desc *host_above(struct pci_device *pdev)
{
    struct pci_device *root = pdev;
    while (root->dev.parent && dev_is_pci(root->dev.parent))
        root = to_pci_device(root->dev.parent);
    return host_of(root->segment, root->bus);
}

int pci_fdt_msi_device_id(void *context, struct pci_device *pdev, uint32_t *out)
{
    (void)context;
    const struct pci_host_bridge_desc *host = host_above(pdev);
    uint32_t rid = pci_requester_id(pdev);
    if (!host || pci_host_msi_device_id(host, rid, out) != 0) {
        pr_err("%s: requester ID %#x has no device ID in the host bridge's msi-map: no MSIs\n",
               pci_name(pdev), rid);
        return -ENODEV;
    }
    return 0;
}

/* The first bridge's I/O window becomes where port accessors go (its PCI addresses from 0). */
static void map_io_window(const struct pci_host_bridge_desc *host)
{
    for (unsigned i = 0; i < host->window_count; i++) {
        const struct pci_host_window *w = &host->windows[i];
        if (w->kind != PCI_WINDOW_IO)
            continue;
        void *io = w->pci_address == 0 && w->size <= 0x10000
                       ? map_phys(w->cpu_address, w->size, MAP_UNCACHED)
                       : NULL;
        if (io)
            io_port_window(io, (uint32_t)w->size);
        else
            pr_warn("%s: I/O window at %#llx not usable for port I/O\n", host->name,
                    (unsigned long long)w->cpu_address);
        return;
    }
}

unsigned pci_fdt_ecam_windows(struct acpi_mcfg_window *out, unsigned max)
{
    const struct fdt *fdt = device_tree();
    host_count = fdt ? fdt_pci_host_bridges(fdt, hosts, TREE_HOSTS_MAX) : 0;
    unsigned count = 0;
    for (unsigned i = 0; i < host_count && count < max; i++) {
        const struct pci_host_bridge_desc *h = &hosts[i];
        out[count++] = (struct acpi_mcfg_window){h->ecam_base - ((uint64_t)h->bus_first << 20),
                                                 h->segment, h->bus_first, h->bus_last};
        if (i == 0)
            map_io_window(h);
        pr_info("%s: ECAM at %#llx for buses %02x-%02x, %u INTx routes\n", h->name,
                (unsigned long long)h->ecam_base, h->bus_first, h->bus_last, h->route_count);
    }
    return count;
}

void pci_fdt_assign(const struct pci_config_access *access)
{
    uint64_t start = time_ns();
    for (unsigned i = 0; i < host_count; i++) {
        struct pci_assign_stats stats;
        if (!hosts[i].firmware_assigned && pci_assign_all(access, &hosts[i], &stats) != 0)
            pr_err("%s: out of memory for resource assignment\n", hosts[i].name);
    }
    if (host_count)
        pr_info("assigned in %llu us\n", (unsigned long long)((time_ns() - start) / 1000));
}
