/* The "pci" bus in the device model: match tables, typed probe/remove, lookups. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "pci_core.h"

static bool id_table_end(const struct pci_device_id *id)
{
    return id->vendor == 0 && id->device == 0 && id->subvendor == 0 && id->subdevice == 0 &&
           id->class_mask == 0;
}

static bool field_matches(uint32_t wanted, uint16_t actual)
{
    return wanted == PCI_ANY_ID || wanted == actual;
}

/* Specificity: an exact device beats a vendor, which beats any class match; subsystem IDs
 * refine a device match; more class bits beat fewer.  0 means no match. */
static int id_score(const struct pci_device_id *id, const struct pci_device *pdev)
{
    if (!field_matches(id->vendor, pdev->vendor_id) ||
        !field_matches(id->device, pdev->device_id) ||
        !field_matches(id->subvendor, pdev->subsystem_vendor_id) ||
        !field_matches(id->subdevice, pdev->subsystem_id) ||
        ((pci_class24(pdev) ^ id->class_code) & id->class_mask & 0xffffff))
        return 0;
    int score = 1;
    score += id->vendor != PCI_ANY_ID ? 1000 : 0;
    score += id->device != PCI_ANY_ID ? 2000 : 0;
    score += id->subvendor != PCI_ANY_ID ? 200 : 0;
    score += id->subdevice != PCI_ANY_ID ? 400 : 0;
    for (uint32_t mask = id->class_mask & 0xffffff; mask; mask &= mask - 1)
        score++; /* one per class bit compared */
    return score;
}

const struct pci_device_id *pci_match_id(const struct pci_device_id *table,
                                         const struct pci_device *pdev, int *score)
{
    const struct pci_device_id *best = NULL;
    int best_score = 0;
    for (unsigned i = 0; table && !id_table_end(&table[i]) && i < 4096; i++) {
        int s = id_score(&table[i], pdev);
        if (s > best_score) {
            best = &table[i];
            best_score = s;
        }
    }
    if (score)
        *score = best_score;
    return best;
}

static int pci_bus_match(struct device *dev, struct driver *drv)
{
    struct pci_driver *pdrv = container_of(drv, struct pci_driver, driver);
    int score;
    pci_match_id(pdrv->id_table, to_pci_device(dev), &score);
    return score;
}

static int pci_bus_probe(struct device *dev, struct driver *drv)
{
    struct pci_driver *pdrv = container_of(drv, struct pci_driver, driver);
    struct pci_device *pdev = to_pci_device(dev);
    const struct pci_device_id *id = pci_match_id(pdrv->id_table, pdev, NULL);
    if (!id)
        return -ENODEV;
    return pdrv->probe ? pdrv->probe(pdev, id) : 0;
}

static void pci_bus_remove(struct device *dev, struct driver *drv)
{
    struct pci_driver *pdrv = container_of(drv, struct pci_driver, driver);
    struct pci_device *pdev = to_pci_device(dev);
    if (pdrv->remove)
        pdrv->remove(pdev);
    /* Whatever the driver left enabled is turned off so a rebind starts clean; a bridge keeps
     * bus mastering, which the functions behind it need for their DMA (a CardBus card's too). */
    pci_release_irqs(pdev);
    if (pdev->header_type != PCI_HEADER_BRIDGE && pdev->header_type != PCI_HEADER_CARDBUS)
        pci_disable_bus_master(pdev);
}

static void pci_bus_describe(struct device *dev, char *buffer, size_t size)
{
    struct pci_device *pdev = to_pci_device(dev);
    const char *class_name = pci_ids_subclass(pdev->class_code, pdev->subclass);
    if (!class_name)
        class_name = pci_ids_class(pdev->class_code);
    snprintf(buffer, size, "%04x:%04x %s", pdev->vendor_id, pdev->device_id,
             class_name ? class_name : "unknown class");
}

/* The form mk/modpost.py writes patterns in (as Linux's pci: aliases). */
static void pci_bus_modalias(struct device *dev, char *buffer, size_t size)
{
    struct pci_device *pdev = to_pci_device(dev);
    snprintf(buffer, size, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", pdev->vendor_id,
             pdev->device_id, pdev->subsystem_vendor_id, pdev->subsystem_id, pdev->class_code,
             pdev->subclass, pdev->prog_if);
}

struct bus_type pci_bus_type = {
    .name = "pci",
    .modalias = pci_bus_modalias,
    .match = pci_bus_match,
    .probe = pci_bus_probe,
    .remove = pci_bus_remove,
    .describe = pci_bus_describe,
};

/* Roots of hierarchies ("pci0000:00", "platform"): no driver ever matches them. */
static int root_match(struct device *dev, struct driver *drv)
{
    return 0;
}

static struct bus_type root_bus_type = {
    .name = "root",
    .match = root_match,
};

static void root_release(struct device *dev)
{
    kfree(dev);
}

struct device *root_device_create(const char *name)
{
    if (pci_core_init() != 0)
        return NULL;
    struct device *dev = kzalloc(sizeof(*dev));
    if (!dev)
        return NULL;
    device_initialize(dev, &root_bus_type, NULL, name);
    dev->release = root_release;
    if (device_register(dev) != 0) {
        device_put(dev);
        return NULL;
    }
    return dev;
}

int pci_core_init(void)
{
    if (!pci_bus_type.registered) {
        int error = bus_register(&pci_bus_type);
        if (error)
            return error;
    }
    if (!root_bus_type.registered)
        return bus_register(&root_bus_type);
    return 0;
}

int pci_register_driver(struct pci_driver *drv)
{
    int error = pci_core_init();
    if (error)
        return error;
    drv->driver.name = drv->name;
    drv->driver.bus = &pci_bus_type;
    drv->driver.priv_size = drv->priv_size;
    drv->driver.owner = drv->owner;
    drv->driver.probe = NULL;
    drv->driver.remove = NULL;
    return driver_register(&drv->driver);
}

void pci_unregister_driver(struct pci_driver *drv)
{
    driver_unregister(&drv->driver);
}

struct find_address {
    uint16_t segment;
    uint8_t bus, slot, function;
    struct pci_device *found;
};

static int match_address(struct device *dev, void *context)
{
    struct find_address *want = context;
    if (!dev_is_pci(dev))
        return 0;
    struct pci_device *pdev = to_pci_device(dev);
    if (pdev->segment != want->segment || pdev->bus != want->bus || pdev->slot != want->slot ||
        pdev->function != want->function)
        return 0;
    want->found = to_pci_device(device_get(dev));
    return 1;
}

struct pci_device *pci_find_device(uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function)
{
    struct find_address want = {segment, bus, slot, function, NULL};
    device_for_each(match_address, &want);
    return want.found;
}
