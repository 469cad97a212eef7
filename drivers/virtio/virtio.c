/* Transport-independent device initialisation (VirtIO 1.x, 3.1): reset, ACKNOWLEDGE, DRIVER,
 * feature negotiation, FEATURES_OK (modern only) read back. */
#define pr_fmt(fmt) "virtio: " fmt
#include <rayos/errno.h>
#include <rayos/printk.h>
#include <rayos/virtio.h>

void virtio_fail(struct virtio_device *vdev, const char *why)
{
    pr_err("%s device: %s\n", vdev->transport_name, why);
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
