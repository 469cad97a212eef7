/* VirtIO: the split virtqueue (portable, host-tested against a simulated device) and the
 * virtio bus: transports (PCI, MMIO) and the device drivers written once against them.
 * Rings are little-endian; RayOS only runs on little-endian CPUs, so fields are native. */
#ifndef RAYOS_VIRTIO_H
#define RAYOS_VIRTIO_H

#include <rayos/device.h>
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
struct virtio_device;
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

    virtqueue_notify_t notify;   /* tells the device about new buffers */
    void *transport_data;        /* the transport's per-queue notification address */
    struct virtio_device *owner; /* set by virtio_queue_activate */
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

/* ---- The virtio bus ----
 *
 * A transport driver (virtio-pci on a PCI function, virtio-mmio on a "virtio,mmio" platform
 * device) finds a VirtIO device behind its own device and registers a struct virtio_device as
 * its child on the "virtio" bus; device drivers (virtio-blk) bind to that child by VirtIO device
 * ID and reach the hardware only through vdev->ops, whatever the transport. */

struct virtio_device;

/* What every transport supplies.  All calls come from thread context unless said otherwise. */
struct virtio_transport_ops {
    uint8_t (*get_status)(struct virtio_device *vdev);
    void (*set_status)(struct virtio_device *vdev, uint8_t status);
    /* Writes 0 to the status and waits (bounded) until the device reads back 0. */
    void (*reset)(struct virtio_device *vdev);
    /* The 64 offered feature bits (32 on legacy interfaces) and the accepted ones. */
    uint64_t (*get_features)(struct virtio_device *vdev);
    void (*set_features)(struct virtio_device *vdev, uint64_t features);
    /* Device-specific configuration space: width 1, 2 or 4 bytes at offset; 0 outside it. */
    uint32_t (*config_read)(struct virtio_device *vdev, unsigned offset, unsigned width);
    /* The configuration generation counter, or NULL where the interface has none (legacy):
     * virtio_config_read64 rereads until it is unchanged around a multi-part read. */
    uint32_t (*config_generation)(struct virtio_device *vdev);
    /* Largest size of queue index, 0 when the queue does not exist. */
    uint16_t (*queue_max_size)(struct virtio_device *vdev, unsigned index);
    /* Tells the device vq's size and its three ring addresses (descriptor table, driver area
     * = avail ring, device area = used ring) and enables the queue. */
    int (*queue_activate)(struct virtio_device *vdev, struct virtqueue *vq);
    /* Tells the device that queue vq has new buffers (any context, interrupts included). */
    void (*notify)(struct virtio_device *vdev, struct virtqueue *vq);
    /* Sets up the interrupts and calls handler(vdev, q) in interrupt context when queue q may
     * have completions.  PCI: MSI-X with one vector for configuration changes and one per
     * queue (queue q's delivered to CPU queue_cpus[q], or all to the boot CPU when queue_cpus
     * is NULL), else the shared INTx line; MMIO: the one interrupt line, its cause read from
     * InterruptStatus and acknowledged.  A configuration change with DEVICE_NEEDS_RESET sets
     * vdev->needs_reset and calls handler(vdev, 0).  queue_count is at most
     * VIRTIO_QUEUES_MAX.  On failure the driver can still poll. */
    int (*setup_interrupts)(struct virtio_device *vdev, unsigned queue_count,
                            const unsigned *queue_cpus,
                            void (*handler)(struct virtio_device *vdev, unsigned queue));
    void (*release_interrupts)(struct virtio_device *vdev);
    /* A reset forgets what the device was told about interrupts (MSI-X vector numbers):
     * tells it again. */
    int (*restore_interrupts)(struct virtio_device *vdev);
};

struct virtio_device {
    struct device dev; /* "virtioN" on the virtio bus, child of the transport's device */
    const struct virtio_transport_ops *ops;
    uint32_t device_id; /* VirtIO device type: 2 = block; never 0 (an empty slot) */
    uint32_t vendor_id; /* the subsystem vendor (PCI) or VendorID register (MMIO) */
    /* The VirtIO 1.x interface: VERSION_1 and FEATURES_OK required.  False for legacy
     * interfaces (transitional PCI, virtio-mmio version 1): 32 feature bits, no FEATURES_OK. */
    bool modern;
    /* A queue's size is the device's maximum, not the driver's choice (legacy PCI). */
    bool queue_size_fixed;
    const char *transport_name; /* "modern", "legacy", "mmio", "mmio-legacy" */
    const char *interrupt_name; /* "MSI-X", "INTx", "line" or "none" (polling) */
    volatile bool needs_reset;  /* set by the transport on DEVICE_NEEDS_RESET */
};

#define to_virtio_device(d) container_of(d, struct virtio_device, dev)

/* Driver match table entry: device ID and vendor (VIRTIO_ANY_VENDOR); ends with device 0. */
#define VIRTIO_ANY_VENDOR 0xffffffffu
struct virtio_device_id {
    uint32_t device;
    uint32_t vendor;
};

struct virtio_driver {
    const char *name;
    const struct virtio_device_id *id_table;
    size_t priv_size; /* private data the core allocates before probe (dev.driver_data) */
    int (*probe)(struct virtio_device *vdev);
    void (*remove)(struct virtio_device *vdev);
    struct module *owner; /* THIS_MODULE */
    struct driver driver; /* owned by the virtio bus */
};

extern struct bus_type virtio_bus_type;

int virtio_register_driver(struct virtio_driver *drv);
void virtio_unregister_driver(struct virtio_driver *drv);

/* For transports: names vdev "virtioN", registers it under parent (which the transport's
 * driver is bound to) and records on parent the action that unregisters it, so it goes
 * before the rest of the transport's managed resources.  vdev->dev.release frees the
 * transport's structure once the last reference is gone; on failure it has run already. */
int devm_virtio_device_add(struct device *parent, struct virtio_device *vdev,
                           void (*release)(struct device *dev));

/* For transports, on a configuration-change interrupt: true (with a message and
 * vdev->needs_reset set) when the device reports DEVICE_NEEDS_RESET; the transport then calls
 * the driver's handler so that it resets the device. */
bool virtio_check_needs_reset(struct virtio_device *vdev);

/* ---- for device drivers ---- */

/* The common initialisation (VirtIO 1.x, 3.1.1): reset, ACKNOWLEDGE, DRIVER, negotiate
 * (wanted & offered, plus VERSION_1 on modern interfaces), FEATURES_OK and read back.
 * Returns 0 and the negotiated features, or -ENODEV with the device marked FAILED. */
int virtio_negotiate(struct virtio_device *vdev, uint64_t wanted, uint64_t *negotiated);
/* Activates the queue through the transport; vq->notify then reaches the device. */
int virtio_queue_activate(struct virtio_device *vdev, struct virtqueue *vq);
/* Sets DRIVER_OK (after the queues are activated). */
void virtio_driver_ok(struct virtio_device *vdev);
/* Logs why and sets FAILED. */
void virtio_fail(struct virtio_device *vdev, const char *why);
/* A 64-bit configuration field read whole: again while the generation changes (or, without a
 * generation counter, until two reads agree).  0 if it never settles. */
uint64_t virtio_config_read64(struct virtio_device *vdev, unsigned offset);
/* Releases the interrupts and resets the device. */
void virtio_quiesce(struct virtio_device *vdev);
/* virtio_quiesce recorded on the virtio device at this point (<rayos/devres.h>), so memory the
 * device may use, taken before it, is freed only once the device is reset and its interrupts
 * are gone. */
int devm_virtio_quiesce(struct virtio_device *vdev);

#endif
