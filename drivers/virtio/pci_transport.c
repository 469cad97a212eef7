/* VirtIO over PCI: the "virtio-pci" driver binds to VirtIO functions (1af4:1000-107f) and
 * registers the VirtIO device it finds as their child on the virtio bus.  Modern devices describe
 * their register blocks with vendor-specific capabilities (common, notify, ISR, device config) in
 * any BAR; transitional devices without them (disable-modern=on) use the legacy layout in I/O BAR
 * 0, whose device config moves from offset 20 to 24 once MSI-X is on. */
#define pr_fmt(fmt) "virtio-pci: " fmt
#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/module.h>
#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/time.h>
#include <rayos/virtio.h>

/* Capability cfg_type values and field offsets (VirtIO 1.x, 4.1.4). */
#define CAP_COMMON       1
#define CAP_NOTIFY       2
#define CAP_ISR          3
#define CAP_DEVICE       4
#define CAP_FIELD_TYPE   3
#define CAP_FIELD_BAR    4
#define CAP_FIELD_OFFSET 8
#define CAP_FIELD_LENGTH 12
#define CAP_NOTIFY_MULT  16
#define CAP_MIN_LENGTH   16

/* Common configuration structure. */
#define COMMON_DFSELECT    0x00
#define COMMON_DF          0x04
#define COMMON_GFSELECT    0x08
#define COMMON_GF          0x0c
#define COMMON_MSIX_CONFIG 0x10
#define COMMON_NUM_QUEUES  0x12
#define COMMON_STATUS      0x14
#define COMMON_GENERATION  0x15
#define COMMON_Q_SELECT    0x16
#define COMMON_Q_SIZE      0x18
#define COMMON_Q_MSIX      0x1a
#define COMMON_Q_ENABLE    0x1c
#define COMMON_Q_NOFF      0x1e
#define COMMON_Q_DESC      0x20
#define COMMON_Q_DRIVER    0x28
#define COMMON_Q_DEVICE    0x30
#define COMMON_MIN_LENGTH  0x38

/* Legacy I/O layout. */
#define LEGACY_HOST_FEATURES  0x00
#define LEGACY_GUEST_FEATURES 0x04
#define LEGACY_QUEUE_PFN      0x08
#define LEGACY_QUEUE_SIZE     0x0c
#define LEGACY_QUEUE_SELECT   0x0e
#define LEGACY_QUEUE_NOTIFY   0x10
#define LEGACY_STATUS         0x12
#define LEGACY_ISR            0x13
#define LEGACY_MSIX_CONFIG    0x14
#define LEGACY_MSIX_QUEUE     0x16
#define LEGACY_CONFIG         20
#define LEGACY_CONFIG_MSIX    24

#define NO_VECTOR 0xffff

struct virtio_pci;

struct queue_vector {
    struct virtio_pci *vp;
    unsigned queue;
};

struct virtio_pci {
    struct virtio_device vdev;
    struct pci_device *pdev;
    /* modern */
    volatile uint8_t *common, *isr, *device_config, *notify;
    uint32_t device_config_length, notify_length, notify_multiplier;
    /* legacy */
    uint16_t io;

    bool msix; /* MSI-X enabled: vectors programmed, legacy config at offset 24 */
    unsigned queue_count;
    void (*handler)(struct virtio_device *vdev, unsigned queue);
    struct queue_vector vectors[VIRTIO_QUEUES_MAX];
    int intx_irq;
};

#define to_vp(v) container_of(v, struct virtio_pci, vdev)

/* --- modern --- */

static uint8_t modern_get_status(struct virtio_device *vdev)
{
    return mmio_read8(to_vp(vdev)->common + COMMON_STATUS);
}

static void modern_set_status(struct virtio_device *vdev, uint8_t status)
{
    mmio_write8(to_vp(vdev)->common + COMMON_STATUS, status);
}

static void wait_for_reset(struct virtio_device *vdev)
{
    /* Reset completes when the status reads back 0; bounded so a dead device cannot hang us. */
    uint64_t deadline = time_ns() + 1000 * NSEC_PER_MSEC;
    while (vdev->ops->get_status(vdev) != 0 && time_ns() < deadline)
        cpu_relax();
}

static void modern_reset(struct virtio_device *vdev)
{
    modern_set_status(vdev, 0);
    wait_for_reset(vdev);
}

static uint64_t modern_get_features(struct virtio_device *vdev)
{
    volatile uint8_t *common = to_vp(vdev)->common;
    mmio_write32(common + COMMON_DFSELECT, 0);
    uint64_t low = mmio_read32(common + COMMON_DF);
    mmio_write32(common + COMMON_DFSELECT, 1);
    uint64_t high = mmio_read32(common + COMMON_DF);
    return high << 32 | low;
}

static void modern_set_features(struct virtio_device *vdev, uint64_t features)
{
    volatile uint8_t *common = to_vp(vdev)->common;
    mmio_write32(common + COMMON_GFSELECT, 0);
    mmio_write32(common + COMMON_GF, (uint32_t)features);
    mmio_write32(common + COMMON_GFSELECT, 1);
    mmio_write32(common + COMMON_GF, (uint32_t)(features >> 32));
}

static uint32_t modern_config_generation(struct virtio_device *vdev)
{
    return mmio_read8(to_vp(vdev)->common + COMMON_GENERATION);
}

static uint32_t modern_config_read(struct virtio_device *vdev, unsigned offset, unsigned width)
{
    struct virtio_pci *vp = to_vp(vdev);
    if (offset + width > vp->device_config_length)
        return 0;
    volatile uint8_t *p = vp->device_config + offset;
    switch (width) {
    case 1:
        return mmio_read8(p);
    case 2:
        return mmio_read16(p);
    default:
        return mmio_read32(p);
    }
}

static uint16_t modern_queue_max_size(struct virtio_device *vdev, unsigned index)
{
    volatile uint8_t *common = to_vp(vdev)->common;
    if (index >= mmio_read16(common + COMMON_NUM_QUEUES))
        return 0;
    mmio_write16(common + COMMON_Q_SELECT, (uint16_t)index);
    return mmio_read16(common + COMMON_Q_SIZE);
}

static void modern_notify(struct virtio_device *vdev, struct virtqueue *vq)
{
    (void)vdev;
    mmio_write16((volatile uint8_t *)vq->transport_data, (uint16_t)vq->index);
}

static void write64_split(volatile uint8_t *p, uint64_t value)
{
    mmio_write32(p, (uint32_t)value);
    mmio_write32(p + 4, (uint32_t)(value >> 32));
}

static int modern_queue_activate(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_pci *vp = to_vp(vdev);
    volatile uint8_t *common = vp->common;
    mmio_write16(common + COMMON_Q_SELECT, (uint16_t)vq->index);
    mmio_write16(common + COMMON_Q_SIZE, vq->size);
    if (vp->msix) {
        uint16_t vector = (uint16_t)(1 + vq->index);
        mmio_write16(common + COMMON_Q_MSIX, vector);
        if (mmio_read16(common + COMMON_Q_MSIX) != vector) {
            pr_err("%s: queue %u refused MSI-X vector %u\n", pci_name(vp->pdev), vq->index, vector);
            return -EIO;
        }
    }
    uint64_t notify_offset = (uint64_t)mmio_read16(common + COMMON_Q_NOFF) * vp->notify_multiplier;
    if (notify_offset + 2 > vp->notify_length) {
        pr_err("%s: queue %u notify offset %llu outside the notify area\n", pci_name(vp->pdev),
               vq->index, (unsigned long long)notify_offset);
        return -EIO;
    }
    vq->transport_data = (void *)(vp->notify + notify_offset);
    write64_split(common + COMMON_Q_DESC, vq->desc_phys);
    write64_split(common + COMMON_Q_DRIVER, vq->avail_phys);
    write64_split(common + COMMON_Q_DEVICE, vq->used_phys);
    mmio_write16(common + COMMON_Q_ENABLE, 1);
    return 0;
}

static uint8_t modern_read_isr(struct virtio_pci *vp)
{
    return mmio_read8(vp->isr);
}

/* --- legacy --- */

static uint8_t legacy_get_status(struct virtio_device *vdev)
{
    return io_read8(to_vp(vdev)->io + LEGACY_STATUS);
}

static void legacy_set_status(struct virtio_device *vdev, uint8_t status)
{
    io_write8(to_vp(vdev)->io + LEGACY_STATUS, status);
}

static void legacy_reset(struct virtio_device *vdev)
{
    legacy_set_status(vdev, 0);
    wait_for_reset(vdev);
}

static uint64_t legacy_get_features(struct virtio_device *vdev)
{
    return io_read32(to_vp(vdev)->io + LEGACY_HOST_FEATURES);
}

static void legacy_set_features(struct virtio_device *vdev, uint64_t features)
{
    io_write32(to_vp(vdev)->io + LEGACY_GUEST_FEATURES, (uint32_t)features);
}

static uint32_t legacy_config_read(struct virtio_device *vdev, unsigned offset, unsigned width)
{
    struct virtio_pci *vp = to_vp(vdev);
    uint16_t port = (uint16_t)(vp->io + (vp->msix ? LEGACY_CONFIG_MSIX : LEGACY_CONFIG) + offset);
    switch (width) {
    case 1:
        return io_read8(port);
    case 2:
        return io_read16(port);
    default:
        return io_read32(port);
    }
}

static uint16_t legacy_queue_max_size(struct virtio_device *vdev, unsigned index)
{
    struct virtio_pci *vp = to_vp(vdev);
    io_write16(vp->io + LEGACY_QUEUE_SELECT, (uint16_t)index);
    return io_read16(vp->io + LEGACY_QUEUE_SIZE);
}

static void legacy_notify(struct virtio_device *vdev, struct virtqueue *vq)
{
    (void)vdev;
    io_write16((uint16_t)(uintptr_t)vq->transport_data, (uint16_t)vq->index);
}

static int legacy_queue_activate(struct virtio_device *vdev, struct virtqueue *vq)
{
    struct virtio_pci *vp = to_vp(vdev);
    io_write16(vp->io + LEGACY_QUEUE_SELECT, (uint16_t)vq->index);
    if (io_read16(vp->io + LEGACY_QUEUE_SIZE) != vq->size)
        return -EINVAL; /* the legacy queue size is the device's, not ours */
    if (vq->desc_phys >> 44) {
        pr_err("%s: ring above the legacy 44-bit limit\n", pci_name(vp->pdev));
        return -EINVAL;
    }
    if (vp->msix) {
        uint16_t vector = (uint16_t)(1 + vq->index);
        io_write16(vp->io + LEGACY_MSIX_QUEUE, vector);
        if (io_read16(vp->io + LEGACY_MSIX_QUEUE) != vector)
            return -EIO;
    }
    vq->transport_data = (void *)(uintptr_t)(vp->io + LEGACY_QUEUE_NOTIFY);
    io_write32(vp->io + LEGACY_QUEUE_PFN, (uint32_t)(vq->desc_phys >> 12));
    return 0;
}

/* --- interrupts --- */

static void queue_interrupt(void *context)
{
    struct queue_vector *qv = context;
    qv->vp->handler(&qv->vp->vdev, qv->queue);
}

static void config_interrupt(void *context)
{
    struct virtio_pci *vp = context;
    /* The driver's queue handler sees the flag and resets. */
    if (virtio_check_needs_reset(&vp->vdev))
        vp->handler(&vp->vdev, 0);
}

static void intx_interrupt(void *context)
{
    struct virtio_pci *vp = context;
    /* Reading the ISR acknowledges it (and tells whether this shared line was us). */
    uint8_t isr = vp->vdev.modern ? modern_read_isr(vp) : io_read8(vp->io + LEGACY_ISR);
    if (isr & 2)
        config_interrupt(vp);
    if (isr & 1) {
        for (unsigned q = 0; q < vp->queue_count; q++)
            vp->handler(&vp->vdev, q);
    }
}

static bool set_config_vector(struct virtio_pci *vp, uint16_t vector)
{
    if (vp->vdev.modern) {
        mmio_write16(vp->common + COMMON_MSIX_CONFIG, vector);
        return mmio_read16(vp->common + COMMON_MSIX_CONFIG) == vector;
    }
    io_write16(vp->io + LEGACY_MSIX_CONFIG, vector);
    return io_read16(vp->io + LEGACY_MSIX_CONFIG) == vector;
}

static int try_msix(struct virtio_pci *vp, unsigned queue_count, const unsigned *queue_cpus)
{
    int table = pci_msix_table_size(vp->pdev);
    if (table < (int)(queue_count + 1))
        return -ENODEV;
    struct pci_msix_vector vectors[VIRTIO_QUEUES_MAX + 1];
    vectors[0] = (struct pci_msix_vector){config_interrupt, vp, "virtio-config", 0};
    for (unsigned q = 0; q < queue_count; q++) {
        vp->vectors[q] = (struct queue_vector){vp, q};
        vectors[1 + q] = (struct pci_msix_vector){queue_interrupt, &vp->vectors[q], "virtio-queue",
                                                  queue_cpus ? queue_cpus[q] : 0};
    }
    int status = pci_enable_msix(vp->pdev, vectors, queue_count + 1);
    if (status < 0)
        return status;
    vp->msix = true;
    if (!set_config_vector(vp, 0)) {
        pci_disable_msix(vp->pdev);
        vp->msix = false;
        return -EIO;
    }
    return 0;
}

static int setup_interrupts(struct virtio_device *vdev, unsigned queue_count,
                            const unsigned *queue_cpus,
                            void (*handler)(struct virtio_device *vdev, unsigned queue))
{
    struct virtio_pci *vp = to_vp(vdev);
    if (queue_count == 0 || queue_count > VIRTIO_QUEUES_MAX)
        return -EINVAL;
    vp->queue_count = queue_count;
    vp->handler = handler;
    if (try_msix(vp, queue_count, queue_cpus) == 0) {
        pr_info("%s: MSI-X, %u vectors\n", pci_name(vp->pdev), queue_count + 1);
        vdev->interrupt_name = "MSI-X";
        return 0;
    }
    int irq = pci_intx_irq(vp->pdev, intx_interrupt, vp, "virtio");
    if (irq < 0) {
        pr_warn("%s: no interrupt (MSI-X or INTx): %d; polling only\n", pci_name(vp->pdev), irq);
        return irq;
    }
    vp->intx_irq = irq;
    vdev->interrupt_name = "INTx";
    pr_info("%s: INTx\n", pci_name(vp->pdev));
    return 0;
}

static void release_interrupts(struct virtio_device *vdev)
{
    struct virtio_pci *vp = to_vp(vdev);
    if (vp->msix) {
        set_config_vector(vp, NO_VECTOR);
        pci_disable_msix(vp->pdev);
        vp->msix = false;
    }
    if (vp->intx_irq >= 0) {
        pci_intx_release(vp->pdev);
        vp->intx_irq = -1;
    }
    vdev->interrupt_name = "none";
}

static int restore_interrupts(struct virtio_device *vdev)
{
    if (to_vp(vdev)->msix && !set_config_vector(to_vp(vdev), 0))
        return -EIO;
    return 0;
}

static const struct virtio_transport_ops modern_ops = {
    .get_status = modern_get_status,
    .set_status = modern_set_status,
    .reset = modern_reset,
    .get_features = modern_get_features,
    .set_features = modern_set_features,
    .config_read = modern_config_read,
    .config_generation = modern_config_generation,
    .queue_max_size = modern_queue_max_size,
    .queue_activate = modern_queue_activate,
    .notify = modern_notify,
    .setup_interrupts = setup_interrupts,
    .release_interrupts = release_interrupts,
    .restore_interrupts = restore_interrupts,
};

static const struct virtio_transport_ops legacy_ops = {
    .get_status = legacy_get_status,
    .set_status = legacy_set_status,
    .reset = legacy_reset,
    .get_features = legacy_get_features,
    .set_features = legacy_set_features,
    .config_read = legacy_config_read,
    .queue_max_size = legacy_queue_max_size,
    .queue_activate = legacy_queue_activate,
    .notify = legacy_notify,
    .setup_interrupts = setup_interrupts,
    .release_interrupts = release_interrupts,
    .restore_interrupts = restore_interrupts,
};

/* --- discovery --- */

struct cap_region {
    volatile uint8_t *base;
    uint32_t length;
    uint8_t position;
};

/* Maps the region a capability describes; false when it lies outside its BAR. */
static bool map_cap(struct pci_device *pdev, uint8_t position, struct cap_region *out)
{
    uint8_t bar = pci_read_config8(pdev, position + CAP_FIELD_BAR);
    uint32_t offset = pci_read_config32(pdev, position + CAP_FIELD_OFFSET);
    uint32_t length = pci_read_config32(pdev, position + CAP_FIELD_LENGTH);
    if (bar >= PCI_NUM_BARS)
        return false; /* reserved BAR numbers: skip the capability (spec 4.1.4) */
    const struct pci_bar *info = &pdev->bars[bar];
    if (info->type != PCI_BAR_MEM32 && info->type != PCI_BAR_MEM64)
        return false;
    if ((uint64_t)offset + length > info->size || length == 0)
        return false;
    volatile uint8_t *base = pci_map_bar(pdev, bar);
    if (!base)
        return false;
    *out = (struct cap_region){base + offset, length, position};
    return true;
}

static bool find_modern(struct virtio_pci *vp)
{
    struct pci_device *pdev = vp->pdev;
    struct cap_region common = {0}, notify = {0}, isr = {0}, device = {0};
    uint8_t position = 0;
    for (unsigned guard = 0; guard < 48; guard++) {
        position = pci_find_next_capability(pdev, position, PCI_CAP_ID_VNDR);
        if (!position)
            break;
        if (pci_read_config8(pdev, position + 2) < CAP_MIN_LENGTH)
            continue;
        uint8_t type = pci_read_config8(pdev, position + CAP_FIELD_TYPE);
        /* The first usable capability of each type wins. */
        struct cap_region *slot = type == CAP_COMMON   ? &common
                                  : type == CAP_NOTIFY ? &notify
                                  : type == CAP_ISR    ? &isr
                                  : type == CAP_DEVICE ? &device
                                                       : NULL;
        if (!slot || slot->base)
            continue;
        if (type == CAP_NOTIFY && pci_read_config8(pdev, position + 2) < CAP_NOTIFY_MULT + 4)
            continue;
        map_cap(pdev, position, slot);
    }
    if (!common.base || !notify.base || !isr.base || common.length < COMMON_MIN_LENGTH)
        return false;
    vp->common = common.base;
    vp->notify = notify.base;
    vp->notify_length = notify.length;
    vp->notify_multiplier = pci_read_config32(pdev, notify.position + CAP_NOTIFY_MULT);
    vp->isr = isr.base;
    vp->device_config = device.base;
    vp->device_config_length = device.base ? device.length : 0;
    return true;
}

static void release_transport(struct device *dev)
{
    kfree(to_vp(to_virtio_device(dev)));
}

static void disable_bus_master(void *pdev)
{
    pci_disable_bus_master(pdev);
}

/* Finds the register layout the function offers: modern capabilities or the legacy I/O BAR. */
static int find_interface(struct virtio_pci *vp)
{
    struct pci_device *pdev = vp->pdev;
    if (find_modern(vp)) {
        vp->vdev.modern = true;
        vp->vdev.ops = &modern_ops;
        vp->vdev.transport_name = "modern";
        return 0;
    }
    if (pdev->device_id < 0x1040 && pdev->bars[0].type == PCI_BAR_IO) {
        int port = pci_bar_io_port(pdev, 0);
        if (port < 0)
            return port;
        vp->io = (uint16_t)port;
        vp->vdev.ops = &legacy_ops;
        vp->vdev.transport_name = "legacy";
        vp->vdev.queue_size_fixed = true;
        return 0;
    }
    pr_err("%s: neither VirtIO capabilities nor a legacy I/O BAR\n", pci_name(pdev));
    return -ENODEV;
}

static int virtio_pci_probe(struct pci_device *pdev, const struct pci_device_id *id)
{
    (void)id;
    /* 1af4:1000-103f are transitional (the type is the subsystem ID), 1040-107f modern. */
    if (pdev->device_id < 0x1000 || pdev->device_id > 0x107f)
        return -ENODEV;
    uint32_t type =
        pdev->device_id >= 0x1040 ? (uint32_t)pdev->device_id - 0x1040 : pdev->subsystem_id;
    if (type == 0)
        return -ENODEV;
    struct virtio_pci *vp = kzalloc(sizeof(*vp));
    if (!vp)
        return -ENOMEM;
    vp->pdev = pdev;
    vp->intx_irq = -1;
    vp->vdev.device_id = type;
    vp->vdev.vendor_id = pdev->subsystem_vendor_id;
    vp->vdev.interrupt_name = "none";
    int status = find_interface(vp);
    if (status < 0) {
        kfree(vp);
        return status;
    }
    pci_enable_bus_master(pdev);
    status = devm_add_action(&pdev->dev, disable_bus_master, pdev, "bus master");
    if (status < 0) {
        kfree(vp);
        return status;
    }
    /* Recorded after the bus master action, so the child goes before DMA is switched off. */
    return devm_virtio_device_add(&pdev->dev, &vp->vdev, release_transport);
}

static const struct pci_device_id virtio_pci_ids[] = {
    {PCI_DEVICE(0x1af4, PCI_ANY_ID)},
    {0},
};

MODULE_DEVICE_TABLE(pci, virtio_pci_ids);

static struct pci_driver virtio_pci_driver = {
    .owner = THIS_MODULE,
    .name = "virtio-pci",
    .id_table = virtio_pci_ids,
    .probe = virtio_pci_probe,
};

static int virtio_pci_init(void)
{
    return pci_register_driver(&virtio_pci_driver);
}
INITCALL(virtio_pci_init, INIT_DRIVER);

static void virtio_pci_exit(void)
{
    pci_unregister_driver(&virtio_pci_driver);
}
MODULE_EXIT(virtio_pci_exit);
