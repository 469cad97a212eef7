/* VirtIO: the split virtqueue (portable, host-tested against a simulated device) and the
 * transport interface the device drivers use (PCI modern or legacy underneath).
 * Rings are little-endian; RayOS only runs on little-endian CPUs, so fields are native. */
#ifndef RAYOS_VIRTIO_H
#define RAYOS_VIRTIO_H

#include <rayos/types.h>

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

/* Device-independent feature bits. */
#define VIRTIO_F_NOTIFY_ON_EMPTY    24
#define VIRTIO_F_ANY_LAYOUT         27
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33

/* Split ring layout (VirtIO 1.x, 2.7). */
#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[]; /* size entries, then used_event */
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[]; /* size entries, then avail_event */
};

/* One buffer of a chain: the device reads "out" buffers and writes "in" buffers. */
struct virtq_buffer {
    phys_addr_t phys;
    uint32_t length;
};

/* Queues a driver may use on one device (virtio-blk: one request queue per CPU up to this). */
#define VIRTIO_QUEUES_MAX 16

struct virtqueue;
typedef void (*virtqueue_notify_t)(struct virtqueue *vq);

struct virtqueue_slot {
    void *token;           /* the caller's, non-NULL while the chain is in flight */
    uint16_t chain_length; /* descriptors taken from the free list */
};

struct virtqueue {
    unsigned index;
    uint16_t size; /* a power of two */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    phys_addr_t desc_phys, avail_phys, used_phys;
    void *ring_memory;
    size_t ring_bytes;

    uint16_t free_head;
    uint16_t free_count;
    uint16_t *next_free;          /* our own copy of the chain links: never read back from RAM */
    struct virtqueue_slot *slots; /* by head descriptor */
    uint16_t avail_idx;           /* what we published */
    uint16_t kicked_avail_idx;    /* avail idx at the last notification */
    uint16_t last_used;           /* next used entry to consume */
    uint16_t polled_used_idx;     /* the device's used idx at the last stall check */

    bool event_idx;
    bool broken;           /* the device misbehaved: stop trusting the ring until reset */
    unsigned indirect_max; /* 0: no indirect descriptors */
    struct virtq_desc *indirect_tables;
    phys_addr_t indirect_phys;

    virtqueue_notify_t notify;
    void *transport_data;
    void *owner;
};

/* Bytes of one allocation holding the three rings; the used ring starts on used_align
 * (4096 for the legacy transport). */
size_t virtqueue_ring_bytes(uint16_t size, size_t used_align);

/* Allocates and lays out the rings (DMA memory).  indirect_max > 0 enables indirect tables of
 * that many entries per chain; event_idx when VIRTIO_F_RING_EVENT_IDX was negotiated. */
int virtqueue_create(struct virtqueue *vq, unsigned index, uint16_t size, size_t used_align,
                     unsigned indirect_max, bool event_idx);
void virtqueue_destroy(struct virtqueue *vq);
/* Forgets everything in flight (after a device reset) and clears the rings. */
void virtqueue_reset(struct virtqueue *vq);

/* Adds a chain of out_count device-readable then in_count device-writable buffers.  Returns 0,
 * -ENOSPC when there are not enough free descriptors, -EIO once the queue is broken. */
int virtqueue_add(struct virtqueue *vq, const struct virtq_buffer *buffers, unsigned out_count,
                  unsigned in_count, void *token);
/* Publishes added chains and tells whether the device wants a notification. */
bool virtqueue_kick_prepare(struct virtqueue *vq);
/* kick_prepare + notify. */
void virtqueue_kick(struct virtqueue *vq);
/* For waiters, once per poll: true when chains are outstanding, the device has completed none
 * since the previous call and (with EVENT_IDX) has not asked to hear about our latest avail
 * idx, so the caller should notify again.  A suppressed kick relies on
 * the device seeing our avail idx store before we load its avail_event (or used flags); hosts
 * that reorder the two (QEMU TCG before 8.1 drops guest fences with one vCPU) can leave the
 * device idle with chains it was never told about. */
bool virtqueue_poll_stalled(struct virtqueue *vq);
/* The next completed chain's token (and bytes written to it), or NULL.  A bogus used index or
 * id marks the queue broken and returns NULL. */
void *virtqueue_get_used(struct virtqueue *vq, uint32_t *length);
/* Interrupt suppression.  enable returns true when completions arrived meanwhile, so the
 * caller drains again instead of losing them. */
void virtqueue_disable_callbacks(struct virtqueue *vq);
bool virtqueue_enable_callbacks(struct virtqueue *vq);
/* A token in flight, for failing everything on a reset; NULL when none remain. */
void *virtqueue_detach_one(struct virtqueue *vq);

/* The transport: how a driver talks to its device, whatever the bus. */
struct virtio_device;
struct virtio_transport_ops {
    uint8_t (*get_status)(struct virtio_device *vdev);
    void (*set_status)(struct virtio_device *vdev, uint8_t status);
    void (*reset)(struct virtio_device *vdev);
    uint64_t (*get_features)(struct virtio_device *vdev);
    void (*set_features)(struct virtio_device *vdev, uint64_t features);
    /* Device-specific configuration space. */
    uint32_t (*config_read)(struct virtio_device *vdev, unsigned offset, unsigned width);
    uint16_t (*queue_max_size)(struct virtio_device *vdev, unsigned index);
    /* Tells the device where vq lives and enables it. */
    int (*queue_activate)(struct virtio_device *vdev, struct virtqueue *vq);
    /* Sets up MSI-X (one vector for config, one per queue, queue q's delivered to CPU
     * queue_cpus[q], or all to the boot CPU when queue_cpus is NULL) or INTx; handler runs per
     * interrupt.  queue_count is at most VIRTIO_QUEUES_MAX. */
    int (*setup_interrupts)(struct virtio_device *vdev, unsigned queue_count,
                            const unsigned *queue_cpus,
                            void (*handler)(struct virtio_device *vdev, unsigned queue));
    void (*release_interrupts)(struct virtio_device *vdev);
    /* A reset forgets the device's MSI-X vector numbers: programs them again. */
    int (*restore_interrupts)(struct virtio_device *vdev);
};

struct virtio_device {
    const struct virtio_transport_ops *ops;
    bool modern;
    bool msix;
    uint16_t device_id; /* VirtIO device type: 2 = block */
    const char *transport_name;
    volatile bool needs_reset; /* set by the transport on DEVICE_NEEDS_RESET */
    void *transport;
    void *driver_data;
};

/* VirtIO over PCI (modern 1.x capabilities, or the legacy I/O-port layout for transitional
 * devices without them).  Maps what the device offers and fills *out; virtio_pci_release
 * undoes it (interrupts included). */
struct pci_device;
int virtio_pci_setup(struct pci_device *pdev, struct virtio_device **out);
void virtio_pci_release(struct virtio_device *vdev);
/* Releases the interrupts and resets the device (again and again if asked). */
void virtio_pci_quiesce(struct virtio_device *vdev);
/* Managed forms (<rayos/devres.h>): setup whose release comes with the driver's other managed
 * resources, and a quiesce recorded at this point, so that memory the device may use, taken
 * after it, is freed only once the device is reset and its interrupts are gone. */
int devm_virtio_pci_setup(struct pci_device *pdev, struct virtio_device **out);
int devm_virtio_pci_quiesce(struct pci_device *pdev, struct virtio_device *vdev);

/* The common initialisation: reset, ACKNOWLEDGE, DRIVER, negotiate (wanted & offered, plus
 * VERSION_1 on modern), FEATURES_OK and read back.  Returns negotiated features or an error. */
int virtio_negotiate(struct virtio_device *vdev, uint64_t wanted, uint64_t *negotiated);
void virtio_fail(struct virtio_device *vdev, const char *why);

#endif
