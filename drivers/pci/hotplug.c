/* PCI Express native hot-plug (the slot registers of root and downstream ports).
 *
 * Slot status is polled from the idle loop: a presence change with a card present powers the
 * slot on if needed, enumerates it (assigning BARs from the port's windows) and lets drivers
 * bind; an attention button press (QEMU's device_del) unbinds and removes everything behind
 * the port and powers the slot off, which is what lets the emulator finish the removal.
 * The status bits are write-1-to-clear and are cleared before acting, so an event arriving
 * meanwhile is seen on the next poll. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/work.h>

#include "pci_core.h"

#define SLTCAP_HPC      (1u << 6)
#define SLTSTA_ABP      (1u << 0)
#define SLTSTA_PDC      (1u << 3)
#define SLTSTA_PDS      (1u << 6)
#define SLTSTA_DLLSC    (1u << 8)
#define SLTCTL_PIC_MASK (3u << 8)
#define SLTCTL_PIC_ON   (1u << 8)
#define SLTCTL_PIC_OFF  (3u << 8)
#define SLTCTL_PCC      (1u << 10) /* 1: power off */

bool pci_is_hotplug_port(struct pci_device *pdev)
{
    if (!pdev->cap_pcie || pdev->header_type != PCI_HEADER_BRIDGE ||
        (pdev->pcie_type != PCI_EXP_TYPE_ROOT_PORT && pdev->pcie_type != PCI_EXP_TYPE_DOWNSTREAM) ||
        pdev->dev.state == DEVICE_REMOVED)
        return false;
    uint16_t flags = pci_read_config16(pdev, pdev->cap_pcie + PCI_EXP_FLAGS);
    if (!(flags & PCI_EXP_FLAGS_SLOT))
        return false;
    return pci_read_config32(pdev, pdev->cap_pcie + PCI_EXP_SLTCAP) & SLTCAP_HPC;
}

static bool has_children(struct pci_device *port)
{
    return !list_empty(&port->dev.children);
}

static int unregister_child(struct device *dev, void *context)
{
    device_unregister(dev);
    return 0;
}

static void slot_control(struct pci_device *port, uint16_t set, uint16_t clear)
{
    unsigned offset = port->cap_pcie + PCI_EXP_SLTCTL;
    uint16_t control = pci_read_config16(port, offset);
    pci_write_config16(port, offset, (uint16_t)((control & ~clear) | set));
}

static void slot_insert(struct pci_device *port)
{
    pr_info("%s: hot-plug: card present in slot\n", pci_name(port));
    if (pci_read_config16(port, port->cap_pcie + PCI_EXP_SLTCTL) & SLTCTL_PCC) {
        slot_control(port, SLTCTL_PIC_ON, SLTCTL_PCC | SLTCTL_PIC_MASK);
        pr_info("%s: hot-plug: slot powered on\n", pci_name(port));
    }
    struct pci_scan_stats stats = {0};
    int added = pci_scan_behind_bridge(port, &stats);
    if (added <= 0)
        pr_warn("%s: hot-plug: no function answers behind the slot\n", pci_name(port));
    else
        pr_info("%s: hot-plug: %d functions added\n", pci_name(port), added);
}

static void slot_remove(struct pci_device *port, bool power_off)
{
    device_for_each_child(&port->dev, unregister_child, NULL);
    pr_info("%s: hot-plug: functions behind the slot removed\n", pci_name(port));
    if (power_off) {
        slot_control(port, SLTCTL_PCC | SLTCTL_PIC_OFF, SLTCTL_PIC_MASK);
        pr_info("%s: hot-plug: slot powered off\n", pci_name(port));
    }
}

bool pci_hotplug_check_port(struct pci_device *port)
{
    unsigned offset = port->cap_pcie + PCI_EXP_SLTSTA;
    uint16_t status = pci_read_config16(port, offset);
    uint16_t events = status & (SLTSTA_ABP | SLTSTA_PDC | SLTSTA_DLLSC);
    if (status == 0xffff || !events)
        return false;
    pci_write_config16(port, offset, events);
    bool present = status & SLTSTA_PDS;
    if ((events & (SLTSTA_PDC | SLTSTA_DLLSC)) && present && !has_children(port)) {
        slot_insert(port);
    } else if ((events & (SLTSTA_PDC | SLTSTA_DLLSC)) && !present && has_children(port)) {
        pr_info("%s: hot-plug: card gone from slot (surprise removal)\n", pci_name(port));
        slot_remove(port, false);
    } else if ((events & SLTSTA_ABP) && has_children(port)) {
        pr_info("%s: hot-plug: attention button pressed: removing\n", pci_name(port));
        slot_remove(port, true);
    } else if (events & SLTSTA_ABP) {
        pr_info("%s: hot-plug: attention button pressed on an empty slot\n", pci_name(port));
    }
    return true;
}

static int poll_port(struct device *dev, void *context)
{
    if (dev_is_pci(dev) && pci_is_hotplug_port(to_pci_device(dev)))
        pci_hotplug_check_port(to_pci_device(dev));
    return 0;
}

static void pci_hotplug_poll(void)
{
    if (pci_bus_type.registered)
        device_for_each(poll_port, NULL);
}
PERIODIC_WORK(pci_hotplug_poll, 100);
