/* Layout of the generated pci.ids table (build/generated/pci_ids.c).  Names are offsets into
 * pci_ids_strings; vendors are sorted by ID, each vendor's devices by ID, each device's
 * subsystems by (subvendor, subdevice). */
#ifndef DRIVERS_PCI_PCI_IDS_TABLE_H
#define DRIVERS_PCI_PCI_IDS_TABLE_H

#include <rayos/types.h>

struct pci_ids_vendor {
    uint16_t id;
    uint32_t name;
    uint32_t first_device;
    uint32_t device_count;
};
struct pci_ids_device {
    uint16_t id;
    uint32_t name;
    uint32_t first_subsystem;
    uint32_t subsystem_count;
};
struct pci_ids_subsystem {
    uint16_t subvendor, subdevice;
    uint32_t name;
};
struct pci_ids_class {
    uint8_t level; /* 1 class, 2 subclass, 3 programming interface */
    uint8_t class_code, subclass, prog_if;
    uint32_t name;
};

extern const char pci_ids_strings[];
extern const struct pci_ids_vendor pci_ids_vendors[];
extern const unsigned pci_ids_vendor_count;
extern const struct pci_ids_device pci_ids_devices[];
extern const struct pci_ids_subsystem pci_ids_subsystems[];
extern const struct pci_ids_class pci_ids_classes[];
extern const unsigned pci_ids_class_count;

#endif
