/* A host bridge's maps from its functions to interrupts (portable): INTx through its interrupt
 * map, MSI device IDs through its msi-map. */
#include <rayos/errno.h>
#include <rayos/pci_host_bridge.h>

uint8_t pci_swizzle_pin(uint8_t pin, uint8_t slot)
{
    if (pin < 1 || pin > 4)
        return pin;
    return (uint8_t)((pin - 1 + slot) % 4 + 1);
}

int pci_host_intx_route(const struct pci_host_bridge_desc *host, uint8_t slot, uint8_t function,
                        uint8_t pin, uint32_t *line, unsigned *flags)
{
    if (pin < 1 || pin > 4)
        return -ENOENT;
    uint32_t device =
        ((uint32_t)(slot & 0x1f) << 11 | (uint32_t)(function & 7) << 8) & host->device_mask;
    uint32_t masked_pin = pin & host->pin_mask;
    for (unsigned i = 0; i < host->route_count && i < PCI_HOST_MAX_ROUTES; i++) {
        const struct pci_intx_route *route = &host->routes[i];
        if (route->device == device && route->pin == masked_pin) {
            *line = route->line;
            *flags = route->flags;
            return 0;
        }
    }
    return -ENOENT;
}

int pci_host_msi_device_id(const struct pci_host_bridge_desc *host, uint32_t requester_id,
                           uint32_t *device_id)
{
    if (host->msi_map_broken)
        return -ENOENT;
    if (host->msi_map_count == 0) {
        *device_id = requester_id;
        return 0;
    }
    uint32_t rid = requester_id & host->msi_map_mask;
    for (unsigned i = 0; i < host->msi_map_count && i < PCI_HOST_MAX_MSI_MAPS; i++) {
        const struct pci_msi_map_entry *e = &host->msi_map[i];
        if (rid >= e->rid_base && rid - e->rid_base < e->length) {
            *device_id = e->device_id_base + (rid - e->rid_base);
            return 0;
        }
    }
    return -ENOENT;
}
