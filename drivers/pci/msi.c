/* Interrupts for PCI functions: legacy INTx, MSI and MSI-X on top of <rayos/irq.h>. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/pci.h>
#include <rayos/printk.h>

#include "pci_core.h"

static int msi_device_id(struct pci_device *pdev, uint32_t *out)
{
    if (pdev->access && pdev->access->msi_device_id)
        return pdev->access->msi_device_id(pdev->access->context, pdev, out);
    *out = pci_requester_id(pdev);
    return 0;
}

/* ---- INTx ---- */

int pci_intx_irq(struct pci_device *pdev, irq_handler_t handler, void *context, const char *name)
{
    if (pdev->intx_irq >= 0)
        return -EBUSY;
    if (pdev->interrupt_pin == 0) {
        pr_err("%s: has no interrupt pin\n", pci_name(pdev));
        return -ENODEV;
    }
    struct irq_spec spec;
    if (!pdev->access || !pdev->access->intx_spec) {
        pr_err("%s: its host bridge routes no INTx\n", pci_name(pdev));
        return -ENODEV;
    }
    int error = pdev->access->intx_spec(pdev->access->context, pdev, pdev->interrupt_pin, &spec);
    if (error)
        return error;
    int irq = irq_claim(&spec, handler, context, name ? name : pci_name(pdev));
    if (irq < 0) {
        pr_err("%s: cannot claim interrupt line %u: %d\n", pci_name(pdev), spec.line, irq);
        return irq;
    }
    pdev->intx_irq = irq;
    pci_intx_enable(pdev, true);
    return irq;
}

void pci_intx_release(struct pci_device *pdev)
{
    if (pdev->intx_irq < 0)
        return;
    pci_intx_enable(pdev, false);
    irq_release(pdev->intx_irq);
    pdev->intx_irq = -1;
}

/* ---- MSI ---- */

int pci_enable_msi(struct pci_device *pdev, irq_handler_t handler, void *context, const char *name)
{
    unsigned cap = pdev->cap_msi;
    if (!cap)
        return -ENODEV;
    if (pdev->msi_irq >= 0 || pdev->msix_count)
        return -EBUSY;
    struct msi_message message;
    uint32_t device_id;
    int irq = msi_device_id(pdev, &device_id);
    if (irq == 0)
        irq = irq_alloc_msi(device_id, handler, context, name ? name : pci_name(pdev), 0, &message);
    if (irq < 0) {
        pr_err("%s: no MSI vector: %d\n", pci_name(pdev), irq);
        return irq;
    }
    uint16_t flags = pci_read_config16(pdev, cap + PCI_MSI_FLAGS);
    bool is_64 = flags & PCI_MSI_FLAGS_64BIT;
    pci_write_config32(pdev, cap + PCI_MSI_ADDRESS_LO, (uint32_t)message.address);
    if (is_64) {
        pci_write_config32(pdev, cap + PCI_MSI_ADDRESS_HI, (uint32_t)(message.address >> 32));
        pci_write_config16(pdev, cap + PCI_MSI_DATA_64, (uint16_t)message.data);
    } else if (message.address >> 32) {
        pr_err("%s: MSI address above 4 GiB for a 32-bit capability\n", pci_name(pdev));
        irq_release(irq);
        return -EINVAL;
    } else {
        pci_write_config16(pdev, cap + PCI_MSI_DATA_32, (uint16_t)message.data);
    }
    if (flags & PCI_MSI_FLAGS_MASKBIT) {
        unsigned mask_offset = cap + (is_64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
        pci_write_config32(pdev, mask_offset, pci_read_config32(pdev, mask_offset) & ~1u);
    }
    pci_intx_enable(pdev, false);
    flags &= (uint16_t)~PCI_MSI_FLAGS_QSIZE; /* one message */
    pci_write_config16(pdev, cap + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
    pdev->msi_irq = irq;
    return irq;
}

void pci_disable_msi(struct pci_device *pdev)
{
    if (pdev->msi_irq < 0)
        return;
    uint16_t flags = pci_read_config16(pdev, pdev->cap_msi + PCI_MSI_FLAGS);
    pci_write_config16(pdev, pdev->cap_msi + PCI_MSI_FLAGS,
                       (uint16_t)(flags & ~PCI_MSI_FLAGS_ENABLE));
    irq_release(pdev->msi_irq);
    pdev->msi_irq = -1;
}

/* ---- MSI-X ---- */

int pci_msix_table_size(struct pci_device *pdev)
{
    if (!pdev->cap_msix)
        return -ENODEV;
    uint16_t flags = pci_read_config16(pdev, pdev->cap_msix + PCI_MSIX_FLAGS);
    return (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
}

static volatile uint8_t *msix_map_table(struct pci_device *pdev, unsigned entries)
{
    uint32_t table = pci_read_config32(pdev, pdev->cap_msix + PCI_MSIX_TABLE);
    unsigned bir = table & PCI_MSIX_BIR_MASK;
    uint32_t offset = table & ~PCI_MSIX_BIR_MASK;
    if (bir >= PCI_NUM_BARS) {
        pr_err("%s: MSI-X table in BAR %u, which does not exist\n", pci_name(pdev), bir);
        return NULL;
    }
    const struct pci_bar *bar = &pdev->bars[bir];
    if ((uint64_t)offset + (uint64_t)entries * PCI_MSIX_ENTRY_SIZE > bar->size) {
        pr_err("%s: MSI-X table (offset 0x%x, %u entries) outside BAR %u (%llu bytes)\n",
               pci_name(pdev), offset, entries, bir, (unsigned long long)bar->size);
        return NULL;
    }
    volatile uint8_t *base = pci_map_bar(pdev, bir);
    return base ? base + offset : NULL;
}

static void msix_set_control(struct pci_device *pdev, uint16_t set, uint16_t clear)
{
    unsigned offset = pdev->cap_msix + PCI_MSIX_FLAGS;
    uint16_t flags = pci_read_config16(pdev, offset);
    pci_write_config16(pdev, offset, (uint16_t)((flags & ~clear) | set));
}

static void msix_entry_mask(volatile uint8_t *table, unsigned entry, bool masked)
{
    volatile uint8_t *control = table + entry * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL;
    uint32_t value = mmio_read32(control);
    /* Only the mask bit is ours; the reserved bits are written back as read. */
    value = masked ? value | PCI_MSIX_ENTRY_CTRL_MASKBIT : value & ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
    mmio_write32(control, value);
}

int pci_enable_msix(struct pci_device *pdev, const struct pci_msix_vector *vectors, unsigned count)
{
    int size = pci_msix_table_size(pdev);
    if (size < 0)
        return size;
    if (pdev->msi_irq >= 0 || pdev->msix_count)
        return -EBUSY;
    if (count == 0 || count > (unsigned)size)
        return -EINVAL;
    uint32_t device_id;
    int error = msi_device_id(pdev, &device_id);
    if (error)
        return error;
    volatile uint8_t *table = msix_map_table(pdev, (unsigned)size);
    if (!table)
        return -ENOMEM;
    int *irqs = kcalloc(count, sizeof(int));
    if (!irqs)
        return -ENOMEM;

    /* Function-masked while the entries change, so no half-written entry can fire. */
    msix_set_control(pdev, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 0);
    for (unsigned i = 0; i < count; i++) {
        struct msi_message message;
        int irq = irq_alloc_msi(device_id, vectors[i].handler, vectors[i].context,
                                vectors[i].name ? vectors[i].name : pci_name(pdev), vectors[i].cpu,
                                &message);
        if (irq < 0) {
            pr_err("%s: no vector for MSI-X entry %u: %d\n", pci_name(pdev), i, irq);
            while (i-- > 0) {
                msix_entry_mask(table, i, true);
                irq_release(irqs[i]);
            }
            kfree(irqs);
            msix_set_control(pdev, 0, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
            return irq;
        }
        irqs[i] = irq;
        volatile uint8_t *entry = table + i * PCI_MSIX_ENTRY_SIZE;
        msix_entry_mask(table, i, true);
        mmio_write32(entry + PCI_MSIX_ENTRY_ADDR_LO, (uint32_t)message.address);
        mmio_write32(entry + PCI_MSIX_ENTRY_ADDR_HI, (uint32_t)(message.address >> 32));
        mmio_write32(entry + PCI_MSIX_ENTRY_DATA, message.data);
        msix_entry_mask(table, i, false);
    }
    pci_intx_enable(pdev, false);
    pdev->msix_table = table;
    pdev->msix_irqs = irqs;
    pdev->msix_count = count;
    msix_set_control(pdev, 0, PCI_MSIX_FLAGS_MASKALL);
    return (int)count;
}

void pci_disable_msix(struct pci_device *pdev)
{
    if (!pdev->msix_count)
        return;
    msix_set_control(pdev, PCI_MSIX_FLAGS_MASKALL, 0);
    for (unsigned i = 0; i < pdev->msix_count; i++) {
        msix_entry_mask(pdev->msix_table, i, true);
        irq_release(pdev->msix_irqs[i]);
    }
    msix_set_control(pdev, 0, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    kfree(pdev->msix_irqs);
    pdev->msix_irqs = NULL;
    pdev->msix_count = 0;
    pdev->msix_table = NULL;
}

int pci_msix_mask(struct pci_device *pdev, unsigned entry)
{
    if (entry >= pdev->msix_count)
        return -EINVAL;
    msix_entry_mask(pdev->msix_table, entry, true);
    return 0;
}

int pci_msix_unmask(struct pci_device *pdev, unsigned entry)
{
    if (entry >= pdev->msix_count)
        return -EINVAL;
    msix_entry_mask(pdev->msix_table, entry, false);
    return 0;
}

int pci_msix_irq(struct pci_device *pdev, unsigned entry)
{
    if (entry >= pdev->msix_count)
        return -EINVAL;
    return pdev->msix_irqs[entry];
}

void pci_release_irqs(struct pci_device *pdev)
{
    pci_disable_msix(pdev);
    pci_disable_msi(pdev);
    pci_intx_release(pdev);
}

/* ---- managed forms ---- */

static void intx_release_action(void *pdev)
{
    pci_intx_release(pdev);
}

static void msi_release_action(void *pdev)
{
    pci_disable_msi(pdev);
}

static void msix_release_action(void *pdev)
{
    pci_disable_msix(pdev);
}

int devm_pci_intx_irq(struct pci_device *pdev, irq_handler_t handler, void *context,
                      const char *name)
{
    int irq = pci_intx_irq(pdev, handler, context, name);
    if (irq >= 0) {
        int error = devm_add_action(&pdev->dev, intx_release_action, pdev, "intx");
        if (error)
            return error;
    }
    return irq;
}

int devm_pci_enable_msi(struct pci_device *pdev, irq_handler_t handler, void *context,
                        const char *name)
{
    int irq = pci_enable_msi(pdev, handler, context, name);
    if (irq >= 0) {
        int error = devm_add_action(&pdev->dev, msi_release_action, pdev, "msi");
        if (error)
            return error;
    }
    return irq;
}

int devm_pci_enable_msix(struct pci_device *pdev, const struct pci_msix_vector *vectors,
                         unsigned count)
{
    int enabled = pci_enable_msix(pdev, vectors, count);
    if (enabled >= 0) {
        int error = devm_add_action(&pdev->dev, msix_release_action, pdev, "msi-x");
        if (error)
            return error;
    }
    return enabled;
}
