/* Name lookups in the generated pci.ids table. */
#include <rayos/types.h>

#include "pci_core.h"
#include "pci_ids_table.h"

static const struct pci_ids_vendor *find_vendor(uint16_t vendor)
{
    unsigned low = 0, high = pci_ids_vendor_count;
    while (low < high) {
        unsigned middle = low + (high - low) / 2;
        if (pci_ids_vendors[middle].id == vendor)
            return &pci_ids_vendors[middle];
        if (pci_ids_vendors[middle].id < vendor)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

static const struct pci_ids_device *find_device(uint16_t vendor, uint16_t device)
{
    const struct pci_ids_vendor *v = find_vendor(vendor);
    if (!v)
        return NULL;
    unsigned low = v->first_device, high = v->first_device + v->device_count;
    while (low < high) {
        unsigned middle = low + (high - low) / 2;
        if (pci_ids_devices[middle].id == device)
            return &pci_ids_devices[middle];
        if (pci_ids_devices[middle].id < device)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

const char *pci_ids_vendor(uint16_t vendor)
{
    const struct pci_ids_vendor *v = find_vendor(vendor);
    return v ? pci_ids_strings + v->name : NULL;
}

const char *pci_ids_device(uint16_t vendor, uint16_t device)
{
    const struct pci_ids_device *d = find_device(vendor, device);
    return d ? pci_ids_strings + d->name : NULL;
}

const char *pci_ids_subsystem(uint16_t vendor, uint16_t device, uint16_t subvendor,
                              uint16_t subdevice)
{
    const struct pci_ids_device *d = find_device(vendor, device);
    if (!d)
        return NULL;
    for (uint32_t i = d->first_subsystem; i < d->first_subsystem + d->subsystem_count; i++) {
        const struct pci_ids_subsystem *s = &pci_ids_subsystems[i];
        if (s->subvendor == subvendor && s->subdevice == subdevice)
            return pci_ids_strings + s->name;
    }
    return NULL;
}

static const char *find_class(unsigned level, uint8_t class_code, uint8_t subclass, uint8_t prog_if)
{
    for (unsigned i = 0; i < pci_ids_class_count; i++) {
        const struct pci_ids_class *c = &pci_ids_classes[i];
        if (c->level == level && c->class_code == class_code &&
            (level < 2 || c->subclass == subclass) && (level < 3 || c->prog_if == prog_if))
            return pci_ids_strings + c->name;
    }
    return NULL;
}

const char *pci_ids_class(uint8_t class_code)
{
    return find_class(1, class_code, 0, 0);
}
const char *pci_ids_subclass(uint8_t class_code, uint8_t subclass)
{
    return find_class(2, class_code, subclass, 0);
}
const char *pci_ids_prog_if(uint8_t class_code, uint8_t subclass, uint8_t prog_if)
{
    return find_class(3, class_code, subclass, prog_if);
}
