/* VirtIO over MMIO (VirtIO 1.2, 4.2): the "virtio-mmio" driver binds to "virtio,mmio" platform
 * devices (a register window and one interrupt line, from the device tree) and registers the
 * VirtIO device it finds as their child on the virtio bus.
 *
 * Version 2 is the modern interface (64 feature bits, FEATURES_OK, three ring addresses,
 * QueueReady).  Version 1, the legacy interface QEMU offers unless started with
 * `-global virtio-mmio.force-legacy=false`, is driven too: 32 feature bits, no FEATURES_OK, and
 * one page frame number for the rings laid out with the used ring on a 4096-byte boundary, so
 * the rings must lie below 2^44.  A slot whose device ID is 0 is empty: it is skipped without a
 * word.  Every register access is 32 bits wide except the device configuration's. */
#define pr_fmt(fmt) "virtio-mmio: " fmt
#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/module.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/time.h>
#include <rayos/virtio.h>

/* Register offsets (4.2.2; the legacy-only ones from 4.2.4). */
#define MMIO_MAGIC               0x000
#define MMIO_VERSION             0x004
#define MMIO_DEVICE_ID           0x008
#define MMIO_VENDOR_ID           0x00c
#define MMIO_DEVICE_FEATURES     0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES     0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_GUEST_PAGE_SIZE     0x028 /* legacy */
#define MMIO_QUEUE_SEL           0x030
#define MMIO_QUEUE_NUM_MAX       0x034
#define MMIO_QUEUE_NUM           0x038
#define MMIO_QUEUE_ALIGN         0x03c /* legacy */
#define MMIO_QUEUE_PFN           0x040 /* legacy */
#define MMIO_QUEUE_READY         0x044
#define MMIO_QUEUE_NOTIFY        0x050
#define MMIO_INTERRUPT_STATUS    0x060
#define MMIO_INTERRUPT_ACK       0x064
#define MMIO_STATUS              0x070
#define MMIO_QUEUE_DESC          0x080 /* low, high at +4 */
#define MMIO_QUEUE_DRIVER        0x090
#define MMIO_QUEUE_DEVICE        0x0a0
#define MMIO_CONFIG_GENERATION   0x0fc
#define MMIO_CONFIG              0x100

#define MMIO_MAGIC_VALUE      0x74726976 /* "virt" */
#define INTERRUPT_USED_BUFFER 1
#define INTERRUPT_CONFIG      2
#define LEGACY_PAGE_SIZE      4096

struct virtio_mmio {
    struct virtio_device vdev;
    volatile uint8_t *base;
    size_t window; /* bytes of the register window, device configuration included */

    const struct resource *irq_line;
    int irq; /* claimed interrupt handle, -1 when none */
    unsigned queue_count;
    void (*handler)(struct virtio_device *vdev, unsigned queue);
};

#define to_vm(v) container_of(v, struct virtio_mmio, vdev)

static uint32_t reg_read(struct virtio_device *vdev, unsigned offset)
{
    return mmio_read32(to_vm(vdev)->base + offset);
}

static void reg_write(struct virtio_device *vdev, unsigned offset, uint32_t value)
{
    mmio_write32(to_vm(vdev)->base + offset, value);
}

static uint8_t get_status(struct virtio_device *vdev)
{
    return (uint8_t)reg_read(vdev, MMIO_STATUS);
}

static void set_status(struct virtio_device *vdev, uint8_t status)
{
    reg_write(vdev, MMIO_STATUS, status);
}

static void reset(struct virtio_device *vdev)
{
    set_status(vdev, 0);
    /* Reset completes when the status reads back 0; bounded so a dead device cannot hang us. */
    uint64_t deadline = time_ns() + 1000 * NSEC_PER_MSEC;
    while (get_status(vdev) != 0 && time_ns() < deadline)
        cpu_relax();
}

static uint64_t get_features(struct virtio_device *vdev)
{
    reg_write(vdev, MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t low = reg_read(vdev, MMIO_DEVICE_FEATURES);
    if (!vdev->modern)
        return low;
    reg_write(vdev, MMIO_DEVICE_FEATURES_SEL, 1);
    return (uint64_t)reg_read(vdev, MMIO_DEVICE_FEATURES) << 32 | low;
}

static void set_features(struct virtio_device *vdev, uint64_t features)
{
    reg_write(vdev, MMIO_DRIVER_FEATURES_SEL, 0);
    reg_write(vdev, MMIO_DRIVER_FEATURES, (uint32_t)features);
    if (!vdev->modern)
        return;
    reg_write(vdev, MMIO_DRIVER_FEATURES_SEL, 1);
    reg_write(vdev, MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

static uint32_t config_read(struct virtio_device *vdev, unsigned offset, unsigned width)
{
    struct virtio_mmio *vm = to_vm(vdev);
    if ((width != 1 && width != 2 && width != 4) || offset % width ||
        MMIO_CONFIG + (size_t)offset + width > vm->window)
        return 0;
    volatile uint8_t *p = vm->base + MMIO_CONFIG + offset;
    return width == 1 ? mmio_read8(p) : width == 2 ? mmio_read16(p) : mmio_read32(p);
}

static uint32_t config_generation(struct virtio_device *vdev)
{
    return reg_read(vdev, MMIO_CONFIG_GENERATION);
}

/* Selects queue index; false (with a message) when the device already has it in use. */
static bool select_idle_queue(struct virtio_device *vdev, unsigned index)
{
    reg_write(vdev, MMIO_QUEUE_SEL, index);
    uint32_t in_use = reg_read(vdev, vdev->modern ? MMIO_QUEUE_READY : MMIO_QUEUE_PFN);
    if (in_use)
        pr_err("%s: queue %u is already in use\n", vdev->dev.name, index);
    return in_use == 0;
}

static uint16_t queue_max_size(struct virtio_device *vdev, unsigned index)
{
    if (!select_idle_queue(vdev, index))
        return 0;
    uint32_t max = reg_read(vdev, MMIO_QUEUE_NUM_MAX);
    return max > 32768 ? 32768 : (uint16_t)max;
}

static void write64(struct virtio_device *vdev, unsigned offset, uint64_t value)
{
    reg_write(vdev, offset, (uint32_t)value);
    reg_write(vdev, offset + 4, (uint32_t)(value >> 32));
}

static int legacy_queue_activate(struct virtio_device *vdev, struct virtqueue *vq)
{
    /* One page frame number for all three rings, the used ring on the next QueueAlign
     * boundary: the layout virtqueue_create gives with used_align 4096. */
    if (vq->desc_phys % LEGACY_PAGE_SIZE || vq->avail_phys != vq->desc_phys + 16 * vq->size ||
        vq->used_phys % LEGACY_PAGE_SIZE) {
        pr_err("%s: queue %u rings not laid out for the legacy interface\n", vdev->dev.name,
               vq->index);
        return -EINVAL;
    }
    if ((vq->desc_phys / LEGACY_PAGE_SIZE) >> 32) {
        pr_err("%s: queue %u rings above the legacy 44-bit limit\n", vdev->dev.name, vq->index);
        return -EINVAL;
    }
    reg_write(vdev, MMIO_GUEST_PAGE_SIZE, LEGACY_PAGE_SIZE);
    reg_write(vdev, MMIO_QUEUE_NUM, vq->size);
    reg_write(vdev, MMIO_QUEUE_ALIGN, LEGACY_PAGE_SIZE);
    reg_write(vdev, MMIO_QUEUE_PFN, (uint32_t)(vq->desc_phys / LEGACY_PAGE_SIZE));
    return 0;
}

static int queue_activate(struct virtio_device *vdev, struct virtqueue *vq)
{
    if (!select_idle_queue(vdev, vq->index))
        return -EBUSY;
    uint32_t max = reg_read(vdev, MMIO_QUEUE_NUM_MAX);
    if (max == 0 || vq->size > max) {
        pr_err("%s: queue %u of %u entries, the device takes at most %u\n", vdev->dev.name,
               vq->index, vq->size, max);
        return -EINVAL;
    }
    if (!vdev->modern)
        return legacy_queue_activate(vdev, vq);
    reg_write(vdev, MMIO_QUEUE_NUM, vq->size);
    write64(vdev, MMIO_QUEUE_DESC, vq->desc_phys);
    write64(vdev, MMIO_QUEUE_DRIVER, vq->avail_phys);
    write64(vdev, MMIO_QUEUE_DEVICE, vq->used_phys);
    reg_write(vdev, MMIO_QUEUE_READY, 1);
    if (reg_read(vdev, MMIO_QUEUE_READY) != 1) {
        pr_err("%s: queue %u did not become ready\n", vdev->dev.name, vq->index);
        return -EIO;
    }
    return 0;
}

static void notify(struct virtio_device *vdev, struct virtqueue *vq)
{
    reg_write(vdev, MMIO_QUEUE_NOTIFY, vq->index);
}

/* The one shared line: the cause is in InterruptStatus, acknowledged by writing it back. */
static void line_interrupt(void *context)
{
    struct virtio_mmio *vm = context;
    uint32_t cause = reg_read(&vm->vdev, MMIO_INTERRUPT_STATUS);
    if (!cause)
        return; /* another device on a shared line */
    reg_write(&vm->vdev, MMIO_INTERRUPT_ACK, cause);
    if ((cause & INTERRUPT_CONFIG) && virtio_check_needs_reset(&vm->vdev))
        vm->handler(&vm->vdev, 0);
    if (cause & INTERRUPT_USED_BUFFER) {
        for (unsigned q = 0; q < vm->queue_count; q++)
            vm->handler(&vm->vdev, q);
    }
}

/* The one place that turns the platform device's interrupt resource into a claim, with the
 * trigger its describer gave (virtio-mmio holds its line until InterruptACK clears it, so a
 * level or a rising edge both work). */
static int claim_line(struct virtio_mmio *vm)
{
    struct irq_spec spec = {(uint32_t)vm->irq_line->start,
                            RESOURCE_IRQ_TRIGGER(vm->irq_line->flags)};
    return irq_claim(&spec, line_interrupt, vm, vm->vdev.dev.name);
}

static int setup_interrupts(struct virtio_device *vdev, unsigned queue_count,
                            const unsigned *queue_cpus,
                            void (*handler)(struct virtio_device *vdev, unsigned queue))
{
    (void)queue_cpus; /* one line, wherever the interrupt controller sends it */
    struct virtio_mmio *vm = to_vm(vdev);
    if (queue_count == 0 || queue_count > VIRTIO_QUEUES_MAX)
        return -EINVAL;
    vm->queue_count = queue_count;
    vm->handler = handler;
    if (!vm->irq_line) {
        pr_warn("%s: no interrupt line; polling only\n", vdev->dev.name);
        return -ENODEV;
    }
    int irq = claim_line(vm);
    if (irq < 0) {
        pr_warn("%s: interrupt %llu not claimed: %d; polling only\n", vdev->dev.name,
                (unsigned long long)vm->irq_line->start, irq);
        return irq;
    }
    vm->irq = irq;
    vdev->interrupt_name = "line";
    return 0;
}

static void release_interrupts(struct virtio_device *vdev)
{
    struct virtio_mmio *vm = to_vm(vdev);
    if (vm->irq >= 0)
        irq_release(vm->irq);
    vm->irq = -1;
    vdev->interrupt_name = "none";
}

static int restore_interrupts(struct virtio_device *vdev)
{
    (void)vdev; /* nothing the device forgets on reset */
    return 0;
}

static const struct virtio_transport_ops mmio_ops = {
    .get_status = get_status,
    .set_status = set_status,
    .reset = reset,
    .get_features = get_features,
    .set_features = set_features,
    .config_read = config_read,
    .config_generation = config_generation,
    .queue_max_size = queue_max_size,
    .queue_activate = queue_activate,
    .notify = notify,
    .setup_interrupts = setup_interrupts,
    .release_interrupts = release_interrupts,
    .restore_interrupts = restore_interrupts,
};

static const struct virtio_transport_ops mmio_legacy_ops = {
    .get_status = get_status,
    .set_status = set_status,
    .reset = reset,
    .get_features = get_features,
    .set_features = set_features,
    .config_read = config_read,
    .config_generation = NULL, /* version 1 has none */
    .queue_max_size = queue_max_size,
    .queue_activate = queue_activate,
    .notify = notify,
    .setup_interrupts = setup_interrupts,
    .release_interrupts = release_interrupts,
    .restore_interrupts = restore_interrupts,
};

static void release_transport(struct device *dev)
{
    kfree(to_vm(to_virtio_device(dev)));
}

/* Checks what the window says it is.  0 and the device type, -ENODEV for an empty slot, or an
 * error after saying what is wrong. */
static int identify(struct platform_device *pdev, volatile uint8_t *base, uint32_t *version,
                    uint32_t *type)
{
    uint32_t magic = mmio_read32(base + MMIO_MAGIC);
    if (magic != MMIO_MAGIC_VALUE) {
        pr_err("%s: bad magic 0x%08x (not a virtio-mmio device)\n", pdev->dev.name, magic);
        return -EINVAL;
    }
    *version = mmio_read32(base + MMIO_VERSION);
    if (*version != 1 && *version != 2) {
        pr_err("%s: unsupported virtio-mmio version %u\n", pdev->dev.name, *version);
        return -EINVAL;
    }
    *type = mmio_read32(base + MMIO_DEVICE_ID);
    return *type == 0 ? -ENODEV : 0;
}

static int virtio_mmio_probe(struct platform_device *pdev)
{
    const struct resource *window = device_resource(&pdev->dev, RESOURCE_MEM, 0);
    if (!window || window->size < MMIO_CONFIG) {
        pr_err("%s: no register window of at least %u bytes\n", pdev->dev.name, MMIO_CONFIG);
        return -EINVAL;
    }
    volatile uint8_t *base = devm_map_phys(&pdev->dev, window->start, window->size, MAP_UNCACHED);
    if (!base)
        return -ENOMEM;
    uint32_t version, type;
    int status = identify(pdev, base, &version, &type);
    if (status < 0)
        return status;
    struct virtio_mmio *vm = kzalloc(sizeof(*vm));
    if (!vm)
        return -ENOMEM;
    vm->base = base;
    vm->window = window->size;
    vm->irq = -1;
    vm->irq_line = device_resource(&pdev->dev, RESOURCE_IRQ, 0);
    vm->vdev.device_id = type;
    vm->vdev.vendor_id = mmio_read32(base + MMIO_VENDOR_ID);
    vm->vdev.modern = version == 2;
    vm->vdev.ops = version == 2 ? &mmio_ops : &mmio_legacy_ops;
    vm->vdev.transport_name = version == 2 ? "mmio" : "mmio-legacy";
    vm->vdev.interrupt_name = "none";
    return devm_virtio_device_add(&pdev->dev, &vm->vdev, release_transport);
}

static const char *const virtio_mmio_types[] = {"virtio,mmio", NULL};

static struct platform_driver virtio_mmio_driver = {
    .owner = THIS_MODULE,
    .name = "virtio-mmio",
    .types = virtio_mmio_types,
    .probe = virtio_mmio_probe,
};

MODULE_ALIAS("platform:virtio,mmio");

static int virtio_mmio_init(void)
{
    return platform_register_driver(&virtio_mmio_driver);
}
INITCALL(virtio_mmio_init, INIT_DRIVER);

static void virtio_mmio_exit(void)
{
    platform_unregister_driver(&virtio_mmio_driver);
}
MODULE_EXIT(virtio_mmio_exit);
