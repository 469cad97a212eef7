/* Transport-independent device initialisation (VirtIO 1.x, 3.1): reset, ACKNOWLEDGE, DRIVER,
 * feature negotiation, FEATURES_OK (modern only) read back, queue activation and DRIVER_OK,
 * configuration reads that do not tear, and the quiesce that stops a device. */
#define pr_fmt(fmt) "virtio: " fmt
#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/printk.h>
#include <rayos/virtio.h>

void virtio_fail(struct virtio_device *vdev, const char *why)
{
    pr_err("%s: %s transport: %s\n", vdev->dev.name, vdev->transport_name, why);
    vdev->ops->set_status(vdev, vdev->ops->get_status(vdev) | VIRTIO_STATUS_FAILED);
}

int virtio_negotiate(struct virtio_device *vdev, uint64_t wanted, uint64_t *negotiated)
{
    const struct virtio_transport_ops *ops = vdev->ops;
    ops->reset(vdev);
    ops->set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE);
    ops->set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = ops->get_features(vdev);
    if (vdev->modern) {
        if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
            virtio_fail(vdev, "modern transport without VERSION_1");
            return -ENODEV;
        }
        wanted |= 1ull << VIRTIO_F_VERSION_1;
    } else {
        wanted &= 0xffffffffull; /* the legacy interface has 32 feature bits */
    }
    uint64_t accepted = offered & wanted;
    ops->set_features(vdev, accepted);
    if (vdev->modern) {
        uint8_t status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
        ops->set_status(vdev, status | VIRTIO_STATUS_FEATURES_OK);
        if (!(ops->get_status(vdev) & VIRTIO_STATUS_FEATURES_OK)) {
            virtio_fail(vdev, "features not accepted (FEATURES_OK did not stick)");
            return -ENODEV;
        }
    }
    *negotiated = accepted;
    return 0;
}

bool virtio_check_needs_reset(struct virtio_device *vdev)
{
    if (!(vdev->ops->get_status(vdev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        return false;
    pr_err("%s: device needs a reset\n", vdev->dev.name);
    vdev->needs_reset = true;
    return true;
}

static void notify_queue(struct virtqueue *vq)
{
    vq->owner->ops->notify(vq->owner, vq);
}

int virtio_queue_activate(struct virtio_device *vdev, struct virtqueue *vq)
{
    vq->owner = vdev;
    vq->notify = notify_queue;
    return vdev->ops->queue_activate(vdev, vq);
}

void virtio_driver_ok(struct virtio_device *vdev)
{
    vdev->ops->set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                    (vdev->modern ? VIRTIO_STATUS_FEATURES_OK : 0) |
                                    VIRTIO_STATUS_DRIVER_OK);
}

static uint64_t read64(struct virtio_device *vdev, unsigned offset)
{
    uint64_t low = vdev->ops->config_read(vdev, offset, 4);
    return low | (uint64_t)vdev->ops->config_read(vdev, offset + 4, 4) << 32;
}

uint64_t virtio_config_read64(struct virtio_device *vdev, unsigned offset)
{
    /* The device may change the field between the two halves (a disk resized). */
    for (int attempt = 0; attempt < 4; attempt++) {
        if (vdev->ops->config_generation) {
            uint32_t before = vdev->ops->config_generation(vdev);
            uint64_t value = read64(vdev, offset);
            if (vdev->ops->config_generation(vdev) == before)
                return value;
        } else {
            uint64_t first = read64(vdev, offset);
            if (read64(vdev, offset) == first)
                return first;
        }
    }
    pr_warn("%s: configuration at %u kept changing\n", vdev->dev.name, offset);
    return 0;
}

void virtio_quiesce(struct virtio_device *vdev)
{
    vdev->ops->release_interrupts(vdev);
    vdev->ops->reset(vdev);
}

static void quiesce_action(void *vdev)
{
    virtio_quiesce(vdev);
}

int devm_virtio_quiesce(struct virtio_device *vdev)
{
    return devm_add_action(&vdev->dev, quiesce_action, vdev, "virtio quiesce");
}
