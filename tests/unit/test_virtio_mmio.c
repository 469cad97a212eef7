/* The virtio-mmio transport against a register model of a device (VirtIO 1.2, 4.2.2), through
 * the device model: a "virtio,mmio" platform device, the transport bound to it, the virtio
 * device it registers, and a small driver that brings that device up through the transport
 * interface.  Version 2 and legacy version 1, and the ways it can go wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "block_fakes.h"

/* The transport's own source, for its static registration function. */
#include "drivers/virtio/mmio_transport.c"

#include <rayos/string.h>

#include <stdlib.h>

#define WINDOW_BASE 0x10000000u
#define WINDOW_SIZE 0x200u
#define FAKE_LINE   48
#define QUEUES      2

/* ---- the register model ---- */

struct fake_queue {
    uint32_t num_max, num, ready, align, pfn;
    uint64_t desc, driver, device;
};

static struct fake {
    uint32_t magic, version, device_id, vendor_id;
    uint64_t offered;
    uint32_t offered_sel, accepted_sel;
    uint32_t accepted[2];
    bool accepted_written[2];
    uint32_t guest_page_size;
    uint32_t queue_sel;
    struct fake_queue queues[QUEUES];
    uint32_t status;
    bool refuse_features_ok;
    uint32_t interrupt_status, acked;
    unsigned notifications;
    uint32_t last_notified;
    uint8_t config[WINDOW_SIZE - MMIO_CONFIG];
    uint32_t generation;
    unsigned change_on_config_reads; /* the device changes the capacity during this many reads */
    uint8_t status_log[16];
    unsigned status_writes;
} fake;

static struct fake_queue *selected(void)
{
    return fake.queue_sel < QUEUES ? &fake.queues[fake.queue_sel] : NULL;
}

static void fake_reset(void)
{
    fake.status = 0;
    fake.interrupt_status = 0;
    fake.accepted[0] = fake.accepted[1] = 0;
    for (unsigned i = 0; i < QUEUES; i++) {
        fake.queues[i].ready = 0;
        fake.queues[i].pfn = 0;
    }
}

static uint32_t read_register(uintptr_t offset)
{
    struct fake_queue *q = selected();
    switch (offset) {
    case MMIO_MAGIC:
        return fake.magic;
    case MMIO_VERSION:
        return fake.version;
    case MMIO_DEVICE_ID:
        return fake.device_id;
    case MMIO_VENDOR_ID:
        return fake.vendor_id;
    case MMIO_DEVICE_FEATURES:
        return fake.offered_sel > 1 ? 0 : (uint32_t)(fake.offered >> (32 * fake.offered_sel));
    case MMIO_QUEUE_NUM_MAX:
        return q ? q->num_max : 0;
    case MMIO_QUEUE_READY:
        return q ? q->ready : 0;
    case MMIO_QUEUE_PFN:
        return q ? q->pfn : 0;
    case MMIO_INTERRUPT_STATUS:
        return fake.interrupt_status;
    case MMIO_STATUS:
        return fake.status;
    case MMIO_CONFIG_GENERATION:
        return fake.generation;
    }
    fail_msg("read of register 0x%lx", (unsigned long)offset);
    return 0;
}

static void write_low_high(uint64_t *field, uintptr_t offset, uint32_t value)
{
    if (offset % 8 == 0)
        *field = (*field & ~0xffffffffull) | value;
    else
        *field = (*field & 0xffffffffull) | (uint64_t)value << 32;
}

static void write_register(uintptr_t offset, uint32_t value)
{
    struct fake_queue *q = selected();
    switch (offset) {
    case MMIO_DEVICE_FEATURES_SEL:
        fake.offered_sel = value;
        return;
    case MMIO_DRIVER_FEATURES_SEL:
        fake.accepted_sel = value;
        return;
    case MMIO_DRIVER_FEATURES:
        assert_true(fake.accepted_sel < 2);
        fake.accepted[fake.accepted_sel] = value;
        fake.accepted_written[fake.accepted_sel] = true;
        return;
    case MMIO_GUEST_PAGE_SIZE:
        fake.guest_page_size = value;
        return;
    case MMIO_QUEUE_SEL:
        fake.queue_sel = value;
        return;
    case MMIO_STATUS:
        if (fake.status_writes < sizeof(fake.status_log))
            fake.status_log[fake.status_writes++] = (uint8_t)value;
        if (value == 0) {
            fake_reset();
            return;
        }
        if (fake.refuse_features_ok)
            value &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
        fake.status = value;
        return;
    case MMIO_QUEUE_NOTIFY:
        fake.notifications++;
        fake.last_notified = value;
        return;
    case MMIO_INTERRUPT_ACK:
        fake.acked |= value;
        fake.interrupt_status &= ~value;
        return;
    }
    assert_non_null(q); /* the rest are per-queue registers */
    switch (offset) {
    case MMIO_QUEUE_NUM:
        q->num = value;
        return;
    case MMIO_QUEUE_READY:
        q->ready = value;
        return;
    case MMIO_QUEUE_ALIGN:
        q->align = value;
        return;
    case MMIO_QUEUE_PFN:
        q->pfn = value;
        return;
    case MMIO_QUEUE_DESC:
    case MMIO_QUEUE_DESC + 4:
        write_low_high(&q->desc, offset, value);
        return;
    case MMIO_QUEUE_DRIVER:
    case MMIO_QUEUE_DRIVER + 4:
        write_low_high(&q->driver, offset, value);
        return;
    case MMIO_QUEUE_DEVICE:
    case MMIO_QUEUE_DEVICE + 4:
        write_low_high(&q->device, offset, value);
        return;
    }
    fail_msg("write of register 0x%lx", (unsigned long)offset);
}

static uint64_t model_read(uintptr_t offset, unsigned width)
{
    if (offset >= MMIO_CONFIG) {
        size_t at = offset - MMIO_CONFIG;
        if (fake.change_on_config_reads) {
            /* The capacity moves on while the driver reads it: the generation says so. */
            fake.change_on_config_reads--;
            fake.config[0]++;
            fake.config[4]++;
            fake.generation++;
        }
        uint32_t value = 0;
        memcpy(&value, &fake.config[at], width);
        return value;
    }
    assert_int_equal(width, 4); /* registers are 32 bits wide */
    return read_register(offset);
}

static void model_write(uintptr_t offset, unsigned width, uint64_t value)
{
    assert_int_equal(width, 4);
    assert_true(offset < MMIO_CONFIG); /* nothing here writes the device configuration */
    write_register(offset, (uint32_t)value);
}

static struct host_mmio_model model = {WINDOW_BASE, WINDOW_SIZE, model_read, model_write};

/* ---- what the transport asks of the kernel ---- */

void *map_phys(phys_addr_t phys, size_t size, enum map_attr attr)
{
    (void)size;
    assert_int_equal(attr, MAP_UNCACHED);
    return (void *)(uintptr_t)phys;
}

void unmap_phys(void *virt, size_t size)
{
    (void)virt;
    (void)size;
}

static struct {
    irq_handler_t handler;
    void *context;
    unsigned line;
    enum irq_trigger trigger;
    int claimed, released;
} line;

int irq_claim(const struct irq_spec *spec, irq_handler_t handler, void *context, const char *name)
{
    (void)name;
    line.line = spec->line;
    line.trigger = spec->trigger;
    line.handler = handler;
    line.context = context;
    line.claimed++;
    return 7;
}

void irq_release(int irq)
{
    assert_int_equal(irq, 7);
    line.released++;
    line.handler = NULL;
}

/* ---- a driver for the model's device, written against the transport interface ---- */

#define WANTED_LOW  (1ull << 9)
#define WANTED_HIGH (1ull << 40)
#define NOT_OFFERED (1ull << 5)

static struct {
    int negotiate, activate;
    uint64_t features;
    uint16_t max_size;
    struct virtqueue vq;
    bool fake_low_rings; /* legacy: rings at bus addresses below 2^44 */
    phys_addr_t ring_phys;
    unsigned handled[QUEUES];
    uint64_t capacity;
} drv;

static void queue_handler(struct virtio_device *vdev, unsigned queue)
{
    (void)vdev;
    drv.handled[queue]++;
}

static void free_queue(void *vq)
{
    virtqueue_destroy(vq);
}

static int model_probe(struct virtio_device *vdev)
{
    int status = devm_add_action(&vdev->dev, free_queue, &drv.vq, "virtqueue");
    if (status == 0)
        status = devm_virtio_quiesce(vdev);
    if (status < 0)
        return status;
    drv.negotiate = virtio_negotiate(vdev, WANTED_LOW | WANTED_HIGH | NOT_OFFERED, &drv.features);
    if (drv.negotiate < 0)
        return drv.negotiate;
    drv.capacity = virtio_config_read64(vdev, 0);
    drv.max_size = vdev->ops->queue_max_size(vdev, 0);
    uint16_t size = drv.max_size ? (drv.max_size < 8 ? drv.max_size : 8) : 8;
    status = virtqueue_create(&drv.vq, 0, size, 4096, 0, false);
    if (status < 0)
        return status;
    if (drv.fake_low_rings) {
        phys_addr_t shift = drv.vq.desc_phys - drv.ring_phys;
        drv.vq.desc_phys -= shift;
        drv.vq.avail_phys -= shift;
        drv.vq.used_phys -= shift;
    }
    drv.activate = virtio_queue_activate(vdev, &drv.vq);
    if (drv.activate < 0) {
        virtio_fail(vdev, "queue activation failed");
        return drv.activate;
    }
    vdev->ops->setup_interrupts(vdev, 1, NULL, queue_handler);
    virtio_driver_ok(vdev);
    return 0;
}

static const struct virtio_device_id model_ids[] = {{2, VIRTIO_ANY_VENDOR}, {0, 0}};
static struct virtio_driver model_driver = {
    .name = "model-blk",
    .id_table = model_ids,
    .probe = model_probe,
};

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    static bool registered;
    if (!registered) {
        assert_int_equal(virtio_mmio_init(), 0);
        assert_int_equal(virtio_register_driver(&model_driver), 0);
        registered = true;
    }
    memset(&fake, 0, sizeof(fake));
    memset(&drv, 0, sizeof(drv));
    memset(&line, 0, sizeof(line));
    fake.magic = MMIO_MAGIC_VALUE;
    fake.version = 2;
    fake.device_id = 2;
    fake.vendor_id = 0x554d4551; /* "QEMU" */
    fake.offered = 1ull << VIRTIO_F_VERSION_1 | WANTED_LOW | WANTED_HIGH | 1ull << 3;
    fake.queues[0].num_max = 256;
    fake.generation = 1;
    uint64_t capacity = 0x0000000500000004ull;
    memcpy(fake.config, &capacity, sizeof(capacity));
    host_mmio_model = &model;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    host_mmio_model = NULL;
    return 0;
}

static struct platform_device *add_slot(const char *name)
{
    const struct irq_spec level = {FAKE_LINE, IRQ_LEVEL_HIGH};
    struct resource resources[] = {
        {RESOURCE_MEM, WINDOW_BASE, WINDOW_SIZE, 0},
        resource_from_irq_spec(&level),
    };
    struct platform_device *pdev = platform_device_create(name, "virtio,mmio", resources, 2);
    assert_non_null(pdev);
    return pdev;
}

static struct virtio_device *child_of(struct platform_device *pdev)
{
    if (list_empty(&pdev->dev.children))
        return NULL;
    struct device *child = list_entry(pdev->dev.children.next, struct device, sibling);
    assert_ptr_equal(child->bus, &virtio_bus_type);
    return to_virtio_device(child);
}

/* ---- tests ---- */

static void test_modern_device_comes_up_through_the_transport(void **state)
{
    (void)state;
    struct platform_device *pdev = add_slot("mmio-modern");
    assert_int_equal(pdev->dev.state, DEVICE_BOUND);
    struct virtio_device *vdev = child_of(pdev);
    assert_non_null(vdev);
    assert_int_equal(vdev->dev.state, DEVICE_BOUND);
    assert_string_equal(vdev->dev.driver->name, "model-blk");
    assert_int_equal(vdev->device_id, 2);
    assert_int_equal(vdev->vendor_id, 0x554d4551);
    assert_string_equal(vdev->transport_name, "mmio");
    assert_true(vdev->modern);

    /* Reset, ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, in that order. */
    const uint8_t sequence[] = {0, 1, 3, 11, 15};
    assert_int_equal(fake.status_writes, sizeof(sequence));
    assert_memory_equal(fake.status_log, sequence, sizeof(sequence));
    assert_int_equal(fake.status, 15);

    /* Offered & wanted, VERSION_1 added, both halves written. */
    assert_int_equal(drv.negotiate, 0);
    uint64_t expected = 1ull << VIRTIO_F_VERSION_1 | WANTED_LOW | WANTED_HIGH;
    assert_true(drv.features == expected);
    assert_true(((uint64_t)fake.accepted[1] << 32 | fake.accepted[0]) == expected);
    assert_true(drv.capacity == 0x0000000500000004ull);

    /* Queue 0: size, the three ring addresses, ready. */
    struct fake_queue *q = &fake.queues[0];
    assert_int_equal(drv.max_size, 256);
    assert_int_equal(q->num, 8);
    assert_true(q->desc == drv.vq.desc_phys);
    assert_true(q->driver == drv.vq.avail_phys);
    assert_true(q->device == drv.vq.used_phys);
    assert_int_equal(q->ready, 1);
    assert_int_equal(fake.guest_page_size, 0); /* legacy only */

    /* Notify writes the queue index to QueueNotify. */
    drv.vq.notify(&drv.vq);
    assert_int_equal(fake.notifications, 1);
    assert_int_equal(fake.last_notified, 0);

    /* The one line: claimed with the resource's trigger; the cause read and acknowledged. */
    assert_int_equal(line.claimed, 1);
    assert_int_equal(line.line, FAKE_LINE);
    assert_int_equal(line.trigger, IRQ_LEVEL_HIGH);
    assert_string_equal(vdev->interrupt_name, "line");
    line.handler(line.context); /* nothing pending: another device's interrupt */
    assert_int_equal(drv.handled[0], 0);
    fake.interrupt_status = INTERRUPT_USED_BUFFER;
    line.handler(line.context);
    assert_int_equal(drv.handled[0], 1);
    assert_int_equal(fake.acked, INTERRUPT_USED_BUFFER);
    assert_int_equal(fake.interrupt_status, 0);
    fake.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    fake.interrupt_status = INTERRUPT_CONFIG;
    line.handler(line.context);
    assert_true(vdev->needs_reset);
    assert_int_equal(drv.handled[0], 2);

    /* Removing the slot removes the virtio device: interrupt released, device reset. */
    device_unregister(&pdev->dev);
    assert_int_equal(line.released, 1);
    assert_int_equal(fake.status, 0);
    assert_int_equal(fake.queues[0].ready, 0);
}

static void test_features_ok_not_kept_fails_the_device(void **state)
{
    (void)state;
    fake.refuse_features_ok = true;
    struct platform_device *pdev = add_slot("mmio-refuse");
    assert_int_equal(pdev->dev.state, DEVICE_BOUND); /* the transport is fine */
    struct virtio_device *vdev = child_of(pdev);
    assert_non_null(vdev);
    assert_int_equal(drv.negotiate, -ENODEV);
    /* -ENODEV leaves the virtio device unbound; FAILED was set before the reset on release. */
    assert_int_equal(vdev->dev.state, DEVICE_PRESENT);
    assert_true(memchr(fake.status_log, 3 | VIRTIO_STATUS_FAILED, fake.status_writes) != NULL);
    assert_int_equal(fake.queues[0].ready, 0);
    device_unregister(&pdev->dev);
}

static void test_queue_size_zero_is_refused(void **state)
{
    (void)state;
    fake.queues[0].num_max = 0;
    struct platform_device *pdev = add_slot("mmio-noqueue");
    struct virtio_device *vdev = child_of(pdev);
    assert_non_null(vdev);
    assert_int_equal(drv.max_size, 0);
    assert_int_equal(drv.activate, -EINVAL);
    assert_int_equal(vdev->dev.state, DEVICE_PROBE_FAILED);
    assert_int_equal(vdev->dev.probe_error, -EINVAL);
    assert_int_equal(fake.queues[0].ready, 0);
    assert_int_equal(line.claimed, 0);
    device_unregister(&pdev->dev);
}

static void test_bad_magic_and_version_leave_the_slot_unbound(void **state)
{
    (void)state;
    fake.magic = 0x12345678;
    struct platform_device *pdev = add_slot("mmio-magic");
    assert_int_equal(pdev->dev.state, DEVICE_PROBE_FAILED);
    assert_int_equal(pdev->dev.probe_error, -EINVAL);
    assert_null(child_of(pdev));
    device_unregister(&pdev->dev);

    fake.magic = MMIO_MAGIC_VALUE;
    fake.version = 3;
    pdev = add_slot("mmio-version");
    assert_int_equal(pdev->dev.state, DEVICE_PROBE_FAILED);
    assert_int_equal(pdev->dev.probe_error, -EINVAL);
    assert_null(child_of(pdev));
    assert_int_equal(fake.status_writes, 0); /* never touched */
    device_unregister(&pdev->dev);
}

static void test_empty_slot_is_skipped_quietly(void **state)
{
    (void)state;
    fake.device_id = 0;
    struct platform_device *pdev = add_slot("mmio-empty");
    assert_int_equal(pdev->dev.state, DEVICE_PRESENT);
    assert_int_equal(pdev->dev.probe_error, 0);
    assert_null(child_of(pdev));
    assert_int_equal(fake.status_writes, 0);
    device_unregister(&pdev->dev);
}

static void test_legacy_version_1(void **state)
{
    (void)state;
    fake.version = 1;
    fake.offered = WANTED_LOW | WANTED_HIGH; /* the high half is never read */
    drv.fake_low_rings = true;
    drv.ring_phys = 0x7ff000;
    struct platform_device *pdev = add_slot("mmio-legacy");
    struct virtio_device *vdev = child_of(pdev);
    assert_non_null(vdev);
    assert_int_equal(vdev->dev.state, DEVICE_BOUND);
    assert_string_equal(vdev->transport_name, "mmio-legacy");
    assert_false(vdev->modern);
    /* No FEATURES_OK step; 32 feature bits. */
    const uint8_t sequence[] = {0, 1, 3, 7};
    assert_int_equal(fake.status_writes, sizeof(sequence));
    assert_memory_equal(fake.status_log, sequence, sizeof(sequence));
    assert_true(drv.features == WANTED_LOW);
    assert_true(fake.accepted_written[0]);
    assert_false(fake.accepted_written[1]);
    /* No generation counter: two agreeing reads. */
    assert_true(drv.capacity == 0x0000000500000004ull);
    /* One page frame number for the rings, used ring on the next 4096 boundary. */
    struct fake_queue *q = &fake.queues[0];
    assert_int_equal(fake.guest_page_size, 4096);
    assert_int_equal(q->align, 4096);
    assert_int_equal(q->num, 8);
    assert_int_equal(q->pfn, 0x7ff);
    assert_int_equal(q->ready, 0); /* a version 2 register */
    device_unregister(&pdev->dev);
    assert_int_equal(fake.queues[0].pfn, 0);
}

static void test_legacy_rings_above_44_bits_are_refused(void **state)
{
    (void)state;
    fake.version = 1;
    drv.fake_low_rings = true;
    drv.ring_phys = 1ull << 44;
    struct platform_device *pdev = add_slot("mmio-high");
    struct virtio_device *vdev = child_of(pdev);
    assert_int_equal(drv.activate, -EINVAL);
    assert_int_equal(vdev->dev.state, DEVICE_PROBE_FAILED);
    assert_int_equal(fake.queues[0].pfn, 0);
    device_unregister(&pdev->dev);
}

static void test_config_read_retries_while_the_generation_changes(void **state)
{
    (void)state;
    fake.change_on_config_reads = 2; /* the first two 32-bit reads each see a change */
    struct platform_device *pdev = add_slot("mmio-generation");
    /* Both halves from one generation: the value after the last change, 4+2 and 5+2. */
    assert_true(drv.capacity == 0x0000000700000006ull);
    device_unregister(&pdev->dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modern_device_comes_up_through_the_transport, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_features_ok_not_kept_fails_the_device, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_size_zero_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_magic_and_version_leave_the_slot_unbound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_slot_is_skipped_quietly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_rings_above_44_bits_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_read_retries_while_the_generation_changes,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
