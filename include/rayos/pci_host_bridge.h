/* A PCI host bridge as firmware describes it (a device tree's pci-host-ecam-generic node, or
 * ACPI on x86): where configuration space is, which buses it decodes, the address windows it
 * forwards to PCI and how INTx pins reach the interrupt controller.  The PCI core consumes it
 * to number buses and assign BARs when firmware did not (drivers/pci/assign_all.c). */
#ifndef RAYOS_PCI_HOST_BRIDGE_H
#define RAYOS_PCI_HOST_BRIDGE_H

#include <rayos/types.h>

enum pci_window_kind {
    PCI_WINDOW_IO,    /* I/O space */
    PCI_WINDOW_MEM32, /* memory below 4 GiB on the PCI side */
    PCI_WINDOW_MEM64, /* memory anywhere in 64 bits */
};

struct pci_host_window {
    enum pci_window_kind kind;
    bool prefetchable;
    uint64_t cpu_address; /* where the CPU reaches the window */
    uint64_t pci_address; /* the same bytes as PCI addresses (what BARs and windows hold) */
    uint64_t size;
};

/* One interrupt-map entry: a function whose (devfn << 8) & device_mask equals device and whose
 * pin & pin_mask equals pin raises line (the controller's number, as RESOURCE_IRQ start). */
struct pci_intx_route {
    uint32_t device, pin;
    uint32_t line;
    unsigned flags;
};

/* One msi-map entry: requester IDs [rid_base, rid_base + length) become the MSI controller's
 * device IDs from device_id_base on. */
struct pci_msi_map_entry {
    uint32_t rid_base, device_id_base, length;
};

#define PCI_HOST_MAX_WINDOWS  8
#define PCI_HOST_MAX_ROUTES   64
#define PCI_HOST_MAX_MSI_MAPS 16

struct pci_host_bridge_desc {
    char name[32]; /* the firmware's name for it ("pcie@10000000") */
    uint16_t segment;
    uint64_t ecam_base, ecam_size;
    uint8_t bus_first, bus_last;
    bool dma_coherent;
    bool firmware_assigned; /* false: nobody numbered buses or assigned BARs */
    unsigned window_count;
    struct pci_host_window windows[PCI_HOST_MAX_WINDOWS];
    uint32_t device_mask, pin_mask; /* interrupt-map-mask (device: phys.hi bits) */
    unsigned route_count;           /* 0: INTx not routed */
    struct pci_intx_route routes[PCI_HOST_MAX_ROUTES];
    /* msi-map: the device ID an MSI of a requester ID (bus << 8 | device << 3 | function)
     * carries to the MSI controller (an ITS tells devices apart by it).  msi_map_count 0: no map,
     * the device ID is the requester ID.  msi_map_broken: a map that could not be read, so no
     * device ID is known and the bridge's functions get no MSIs (INTx still works). */
    uint32_t msi_map_mask; /* msi-map-mask (0xffff when absent) */
    unsigned msi_map_count;
    bool msi_map_broken;
    struct pci_msi_map_entry msi_map[PCI_HOST_MAX_MSI_MAPS];
};

/* INTx of a function on the host's root bus (pin 1-4 = INTA-INTD): 0 with line and flags, or
 * -ENOENT when the map has no entry. */
int pci_host_intx_route(const struct pci_host_bridge_desc *host, uint8_t slot, uint8_t function,
                        uint8_t pin, uint32_t *line, unsigned *flags);
/* The MSI controller's device ID for a requester ID under this host bridge: 0 with *device_id,
 * or -ENOENT when its msi-map has no entry for it (or could not be read). */
int pci_host_msi_device_id(const struct pci_host_bridge_desc *host, uint32_t requester_id,
                           uint32_t *device_id);
/* The pin a function's INTx arrives on at the bridge above it: the standard rotation by the
 * slot number (PCI-to-PCI Bridge Architecture 9.1).  Applied bridge by bridge up to the root
 * bus, it gives the pin and slot pci_host_intx_route() takes. */
uint8_t pci_swizzle_pin(uint8_t pin, uint8_t slot);

#endif
