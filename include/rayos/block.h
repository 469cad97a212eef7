/* Block devices: one interface every storage driver implements and every filesystem uses.
 *
 * A driver allocates a device with block_device_alloc(), fills geometry, limits, ops and the
 * number of hardware queues, and registers it under its own device.  Requests are asynchronous:
 * blk_submit() checks them, splits them to the device's limits, queues them on the hardware queue
 * of the submitting CPU (in the spirit of Linux's blk-mq), keeps at most limits.queue_depth in
 * flight per queue and calls req->complete once with 0 or a negative error.
 * blk_read/blk_write/blk_flush wrap that synchronously, bouncing caller buffers that are not
 * DMA-able.  Errors: -EIO from the device, -EROFS on a read-only device, -EINVAL for a range past
 * the end or a length that is not a whole number of blocks, -ENODEV once the device has been
 * removed, -EOPNOTSUPP when the device lacks the operation. */
#ifndef RAYOS_BLOCK_H
#define RAYOS_BLOCK_H

#include <rayos/block_io.h>
#include <rayos/device.h>
#include <rayos/list.h>
#include <rayos/lock.h>
#include <rayos/types.h>
#include <rayos/timer.h>
#include <rayos/work.h>

struct block_device;
struct block_request;
struct block_hw_queue;

enum block_op {
    BLOCK_OP_READ,
    BLOCK_OP_WRITE,
    BLOCK_OP_FLUSH,
    BLOCK_OP_DISCARD,
    BLOCK_OP_WRITE_ZEROES,
};

/* One physically contiguous piece of a transfer. */
struct block_segment {
    void *virt;
    phys_addr_t phys;
    uint32_t length;
};

typedef void (*block_complete_t)(struct block_request *req, int status);

struct block_request {
    enum block_op op;
    uint64_t lba;         /* in the device's logical blocks */
    uint32_t block_count; /* DISCARD/WRITE_ZEROES only; READ/WRITE derive it from segments */
    unsigned segment_count;
    struct block_segment *segments;
    block_complete_t complete; /* called once, possibly from interrupt context */
    void *context;             /* the caller's */

    /* Owned by the block layer and the driver while the request is in flight. */
    struct block_device *device;
    struct block_hw_queue *hw_queue; /* the queue it runs on: drivers use hw_queue->index */
    struct list_node queue_node;
    uint64_t submit_time_ns;
    void *driver_data;
};

/* One hardware queue of a device (blk-mq's hardware context).  CPU c submits to queue
 * c % hw_queue_count; a driver with several queues delivers queue q's completions to CPU q
 * (blk_hw_queue_cpu), so a request is usually submitted and completed on one CPU and CPUs on
 * different queues share no lock.  The lock guards the lists, the counts and the dispatch flags. */
struct block_hw_queue {
    struct spinlock lock;
    struct block_device *device;
    unsigned index;
    struct list_node pending;        /* accepted, waiting for room on the device */
    struct list_node in_flight_list; /* started, oldest first */
    unsigned in_flight;
    bool dispatch_running, dispatch_again;
    uint64_t completed_requests, failed_requests;
    /* Timeouts fire on their own: a timer armed while requests are in flight queues the check
     * (and the device reset it may need) on the system work queue. */
    struct timer timeout_timer;
    struct work timeout_work;
};

struct block_limits {
    unsigned max_segments;            /* scatter-gather entries per request */
    uint32_t max_segment_size;        /* bytes per entry */
    uint32_t max_transfer;            /* bytes per request */
    unsigned queue_depth;             /* requests in flight at once, per hardware queue */
    uint32_t max_discard_blocks;      /* per DISCARD request; 0: no limit */
    uint32_t max_write_zeroes_blocks; /* per WRITE_ZEROES request; 0: no limit */
};

struct block_driver_ops {
    /* Starts req, which already fits the limits.  0 when the device accepted it, -EBUSY when
     * it has no room right now (the queue retries after a completion), else an error. */
    int (*submit)(struct block_device *dev, struct block_request *req);
    /* Reaps completions without interrupts (early boot); optional. */
    void (*poll)(struct block_device *dev);
    /* Resets the device: fails every request it holds with status (via blk_request_done) and
     * brings it back to a working state.  The queue calls it with -ETIMEDOUT when a request
     * has been in flight longer than timeout_ns; `blk reset` with -EIO.  Optional. */
    void (*reset)(struct block_device *dev, int status);
    /* One line about the driver's state for `blk info` (transport, interrupts); optional. */
    void (*describe)(struct block_device *dev, char *buffer, size_t size);
};

enum block_device_type { BLOCK_TYPE_DISK, BLOCK_TYPE_PARTITION };

#define BLOCK_NAME_MAX DEVICE_NAME_MAX

/* A disk or partition is a node of the device model on the "block" bus (no drivers bind
 * there: the block layer drives it): a disk hangs under the device whose driver registered it
 * (a PCI function, a controller, the "virtual" root for loop devices), a partition under its
 * disk.  Its lifetime is the device's: device_get(&dev->dev) and device_put(&dev->dev); the last
 * put frees it.  device_unregister(&dev->dev) takes it away (partitions first): the block layer
 * then fails what is pending or in flight with -ENODEV, as it does all later requests. */
struct block_device {
    struct device dev; /* dev.name is the block device's name ("vda", "vda1") */
    enum block_device_type type;
    uint32_t logical_block_size;  /* 512 or 4096 (a power of two >= 512) */
    uint32_t physical_block_size; /* >= logical_block_size */
    uint64_t block_count;
    bool read_only;
    bool can_flush; /* volatile write cache: FLUSH reaches the device */
    bool can_discard;
    bool can_write_zeroes;
    const char *driver_name;
    struct block_limits limits;
    unsigned hw_queue_count; /* set before registering; 0 means 1 (partitions: the disk's) */
    const struct block_driver_ops *ops;
    void *driver_data;
    uint64_t timeout_ns; /* 0: never time out */

    /* Partitions: where this one lies in its disk (its parent device), and what the table
     * says about it. */
    uint64_t start_lba;
    unsigned partition_number;
    char partition_type[40];
    char partition_label[40];
    char partition_uuid[37]; /* Linux's PARTUUID (partition_uuid() in partition.h); "" for disks */

    /* Block layer state. */
    struct block_hw_queue *hw_queues; /* hw_queue_count of them, from registration on */
    unsigned partition_count;
    unsigned claims;           /* block_device_claim() minus block_device_unclaim() */
    char claim_holders[4][48]; /* what the claims said ("is mounted at /", "backs loop0") */
    bool resetting;            /* a timeout reset is running (one per device at a time) */
};

/* Registration.  block_device_alloc() returns a device holding one reference (the caller's). */
struct block_device *block_device_alloc(void);
/* Adds the device under parent (a disk's controller, a partition's disk), naming it prefix +
 * letter ("vd" -> vda, vdb, ... vdz, vdaa) when its name is empty; the device model holds a
 * reference of its own until the device is unregistered. */
int block_device_register(struct block_device *dev, struct device *parent, const char *prefix);
/* Managed forms for a driver bound to owner (<rayos/devres.h>): the allocation's reference is
 * put, and a registered disk (a child of owner) unregistered, with owner's other managed
 * resources; unregister does that part early (remove() taking the disk away before it stops
 * the hardware). */
struct block_device *devm_block_device_alloc(struct device *owner);
int devm_block_device_register(struct device *owner, struct block_device *disk, const char *prefix);
void devm_block_device_unregister(struct device *owner, struct block_device *disk);
/* The block device a device-model node is, or NULL for a device on another bus. */
struct block_device *to_block_device(struct device *dev);
/* Lookup by name among block devices; the result carries a reference (device_put). */
struct block_device *block_device_find(const char *name);
/* The whole disk: dev itself, or a partition's disk. */
struct block_device *block_device_disk(struct block_device *dev);
/* Has the device been unregistered (its requests fail with -ENODEV)? */
bool block_device_removed(const struct block_device *dev);
/* Visits registered block devices in registration order (a disk before its partitions), each
 * held by a reference and outside the device model's lock, so fn may do I/O; stops when fn
 * returns non-zero. */
int block_device_for_each(int (*fn)(struct block_device *dev, void *context), void *context);

/* Exclusive users.  Whoever keeps its own structure over a device's bytes (a mounted
 * filesystem, the file under a loop device) claims the device for as long as it does; raw
 * writers (the `blk` shell commands) ask block_device_busy() first and refuse with -EBUSY
 * unless forced, like Linux's exclusive opens.  holder is a short phrase for messages. */
void block_device_claim(struct block_device *dev, const char *holder);
void block_device_unclaim(struct block_device *dev, const char *holder); /* the same words */
/* Is any device on dev's disk claimed: dev itself, the disk of a partition, any partition of
 * the disk (partition tables are untrusted, so siblings may overlap)?  When so, returns true
 * and describes the first one found in why ("vda1 is mounted at /"). */
bool block_device_busy(struct block_device *dev, char *why, size_t why_size);

/* Reads the disk's partition table and registers each partition as device NAME + number
 * (vda1, nvme0n1p1 for names ending in a digit).  Returns the number registered or an error. */
int block_device_scan_partitions(struct block_device *disk);

/* Requests. */
int blk_submit(struct block_request *req); /* req->device set by the caller */
/* Drivers report a finished request (any context). */
void blk_request_done(struct block_request *req, int status);
/* Polls and checks timeouts once: what waiting loops call. */
void blk_service(struct block_device *dev);
/* Starts waiting requests (a driver that answered -EBUSY has room again). */
void blk_queue_run(struct block_device *dev);
/* Fails every request not yet started with status (removal, device failure). */
void blk_queue_abort(struct block_device *dev, int status);
/* The CPU that should receive hardware queue `index`'s completions (its first mapped CPU). */
unsigned blk_hw_queue_cpu(unsigned index);
/* Sums over the hardware queues, for `blk info` and busy checks. */
struct block_queue_stats {
    uint64_t completed, failed;
    unsigned in_flight;
};
void blk_queue_stats(const struct block_device *dev, struct block_queue_stats *out);
/* Block-layer internal: the hardware queues (made at registration, their timers stopped at
 * removal, freed with the device). */
int blk_queues_init(struct block_device *dev);
void blk_queues_stop(struct block_device *dev);
void blk_queues_free(struct block_device *dev);

/* Synchronous wrappers; buf may be any kernel memory. */
int blk_read(struct block_device *dev, uint64_t lba, uint32_t count, void *buf);
int blk_write(struct block_device *dev, uint64_t lba, uint32_t count, const void *buf);
int blk_flush(struct block_device *dev);
/* Runs one request and waits for it. */
int blk_submit_wait(struct block_request *req);

/* A block_io over dev (for partition tables, filesystems); dev must stay referenced. */
void block_device_io(struct block_device *dev, struct block_io *out);

/* Splitting, exposed for tests: how many bytes of req (starting at byte offset `done`) the
 * next piece takes, filling at most limits->max_segments entries of `pieces`.  Returns the
 * piece count, 0 when nothing is left, or -EINVAL when the limits cannot hold one block. */
int blk_split_next(const struct block_request *req, const struct block_limits *limits,
                   uint32_t block_size, uint64_t done, struct block_segment *pieces,
                   uint32_t *piece_bytes);
uint64_t blk_request_bytes(const struct block_request *req);

const char *block_op_name(enum block_op op);
/* "1.5G", "512M", "32K": human size of bytes. */
void block_format_size(uint64_t bytes, char *out, size_t size);

#endif
