/* PCI Express native hot-plug: the "pciehp" driver binds to every root or downstream port
 * whose slot is hot-plug capable.
 *
 * A slot event (presence change, attention button) raises the port's MSI-X or MSI vector,
 * which only marks the port; the idle loop then reads the slot status and acts.  Ports whose
 * interrupt cannot be set up are polled instead.  On a card present the slot is powered on if
 * needed, enumerated (BARs assigned from the port's windows) and drivers bind; on an attention
 * button press (QEMU's device_del) everything behind the port is unbound and removed and the
 * slot powered off, which is what lets the emulator finish the removal.  The status bits are
 * write-1-to-clear and are cleared before acting, so an event arriving meanwhile is not lost. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/work.h>

#include "pci_core.h"

#define SLTCAP_HPC      (1u << 6)
#define SLTSTA_ABP      (1u << 0)
#define SLTSTA_PDC      (1u << 3)
#define SLTSTA_PDS      (1u << 6)
#define SLTSTA_DLLSC    (1u << 8)
#define SLTCTL_ABPE     (1u << 0)
#define SLTCTL_PDCE     (1u << 3)
#define SLTCTL_HPIE     (1u << 5)
#define SLTCTL_PIC_MASK (3u << 8)
#define SLTCTL_PIC_ON   (1u << 8)
#define SLTCTL_PIC_OFF  (3u << 8)
#define SLTCTL_PCC      (1u << 10) /* 1: power off */
#define SLTCTL_DLLSCE   (1u << 12)

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
    device_unregister_children(&port->dev);
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

/* ---- the pciehp driver ---- */

struct hotplug_port {
    struct pci_device *port;
    struct list_node node;
    volatile bool event; /* set by the slot interrupt */
    bool interrupt;      /* false: polled */
};

static LIST_HEAD(hotplug_ports);

static void slot_interrupt(void *context)
{
    struct hotplug_port *hp = context;
    hp->event = true;
}

static int pciehp_probe(struct pci_device *port, const struct pci_device_id *id)
{
    if (!pci_is_hotplug_port(port))
        return -ENODEV;
    struct hotplug_port *hp = pci_get_drvdata(port);
    hp->port = port;
    struct pci_msix_vector vector = {slot_interrupt, hp, "pciehp", 0};
    int irq = devm_pci_enable_msix(port, &vector, 1);
    if (irq < 0)
        irq = devm_pci_enable_msi(port, slot_interrupt, hp, "pciehp");
    hp->interrupt = irq >= 0;
    /* The port forwards its own MSI and the DMA of what is behind it. */
    pci_enable_bus_master(port);
    uint16_t enable = SLTCTL_ABPE | SLTCTL_PDCE | SLTCTL_DLLSCE;
    slot_control(port, hp->interrupt ? enable | SLTCTL_HPIE : enable, 0);
    list_add_tail(&hotplug_ports, &hp->node);
    pr_info("%s: hot-plug slot, events by %s\n", pci_name(port),
            !hp->interrupt     ? "polling"
            : port->msix_count ? "MSI-X"
                               : "MSI");
    hp->event = true; /* look at the slot once: events may predate the driver */
    return 0;
}

/* Stops the slot's events; the core then releases the interrupt and the private data. */
static void pciehp_remove(struct pci_device *port)
{
    struct hotplug_port *hp = pci_get_drvdata(port);
    slot_control(port, 0, SLTCTL_HPIE | SLTCTL_ABPE | SLTCTL_PDCE | SLTCTL_DLLSCE);
    list_remove(&hp->node);
}

static const struct pci_device_id pciehp_ids[] = {
    {PCI_DEVICE_CLASS(0x060400, 0xffff00)}, /* PCI-to-PCI bridges; probe keeps the slots */
    {0},
};

static struct pci_driver pciehp_driver = {
    .name = "pciehp",
    .id_table = pciehp_ids,
    .priv_size = sizeof(struct hotplug_port),
    .probe = pciehp_probe,
    .remove = pciehp_remove,
};

static void pciehp_work(void)
{
    struct list_node *pos, *next;
    list_for_each_safe(pos, next, &hotplug_ports)
    {
        struct hotplug_port *hp = list_entry(pos, struct hotplug_port, node);
        if (hp->interrupt && !hp->event)
            continue;
        hp->event = false;
        /* Handling an event may remove ports (a switch behind this one): start over next time. */
        if (pci_hotplug_check_port(hp->port))
            break;
    }
}
PERIODIC_WORK(pciehp_work, 50);

static int pciehp_init(void)
{
    return pci_register_driver(&pciehp_driver);
}
INITCALL(pciehp_init, INIT_DRIVER);
