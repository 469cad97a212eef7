/* INTx routing through a host bridge's interrupt map (portable). */
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
