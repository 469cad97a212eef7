/* VirtIO block devices (type 2 on the virtio bus, over any transport).  With VIRTIO_BLK_F_MQ
 * one request virtqueue per CPU (up to what the device offers), each the block layer's
 * hardware queue of the same number, with its own lock, slots and (on PCI) MSI-X vector aimed
 * at its CPU; without it one queue.  Each request is header + data segments + status byte, in
 * one indirect descriptor when the device offers indirect tables.  The header's sector is
 * always in 512-byte units, whatever the logical block size. */
#define pr_fmt(fmt) "virtio-blk: " fmt
#include <rayos/block.h>
#include <rayos/cmdline.h>
#include <rayos/devres.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/init.h>
#include <rayos/lock.h>
#include <rayos/module.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include <rayos/virtio.h>

/* Feature bits (VirtIO 1.x, 5.2.3). */
#define BLK_F_SIZE_MAX     1
#define BLK_F_SEG_MAX      2
#define BLK_F_RO           5
#define BLK_F_BLK_SIZE     6
#define BLK_F_FLUSH        9
#define BLK_F_TOPOLOGY     10
#define BLK_F_MQ           12
#define BLK_F_DISCARD      13
#define BLK_F_WRITE_ZEROES 14

/* Device configuration offsets. */
#define CONFIG_CAPACITY         0
#define CONFIG_SIZE_MAX         8
#define CONFIG_SEG_MAX          12
#define CONFIG_BLK_SIZE         20
#define CONFIG_PHYSICAL_EXP     24
#define CONFIG_NUM_QUEUES       34
#define CONFIG_MAX_DISCARD      36
#define CONFIG_MAX_WRITE_ZEROES 48

#define REQ_IN           0
#define REQ_OUT          1
#define REQ_FLUSH        4
#define REQ_DISCARD      11
#define REQ_WRITE_ZEROES 13

#define STATUS_OK     0
#define STATUS_IOERR  1
#define STATUS_UNSUPP 2
#define STATUS_UNSET  0xff

#define QUEUE_SIZE_MAX  256
#define DATA_SEGMENTS   64 /* per request through an indirect table */
#define MAX_TRANSFER    (1024 * 1024)
#define REQUEST_TIMEOUT (10 * NSEC_PER_SEC)

struct blk_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct blk_range {
    uint64_t sector;
    uint32_t sector_count;
    uint32_t flags;
};

/* Per-slot DMA memory the device reads the header from and writes the status to. */
struct slot_dma {
    struct blk_header header;
    struct blk_range range;
    uint8_t status;
    uint8_t padding[31];
};

struct vblk_queue;

struct vblk_slot {
    struct block_request *req;
    struct vblk_queue *queue;
    unsigned index;
};

/* One request virtqueue and what its requests need; the lock guards all of it. */
struct vblk_queue {
    struct vblk *vb;
    struct virtqueue vq;
    struct spinlock lock;
    struct slot_dma *slot_dma;
    phys_addr_t slot_dma_phys;
    size_t slot_dma_bytes;
    struct vblk_slot *slots;
    unsigned *free_slots;
    unsigned free_count, slot_count;
    struct virtq_buffer *buffers; /* scratch for building one chain */
    bool stopped;                 /* a reset is in progress: submissions wait */
    uint64_t interrupts;
    uint64_t interrupts_elsewhere; /* arrived on a CPU other than the queue's own */
    uint64_t stall_kicks;          /* notifications sent again by vblk_poll */
};

struct vblk {
    struct virtio_device *vdev;
    struct block_device *disk;
    uint64_t features;
    unsigned queue_count;
    struct vblk_queue queues[VIRTIO_QUEUES_MAX];
    unsigned max_chain;
    volatile bool needs_reset; /* DEVICE_NEEDS_RESET or a broken ring: reset at the next drain */
    volatile bool dead;        /* a reset failed or the device is gone: every request fails */
    bool resetting;            /* one reset at a time (atomic) */
    uint64_t resets;
};

static bool has(const struct vblk *vb, unsigned bit)
{
    return vb->features & (1ull << bit);
}

static uint32_t config32(struct vblk *vb, unsigned offset)
{
    return vb->vdev->ops->config_read(vb->vdev, offset, 4);
}

static int translate_status(uint8_t status)
{
    switch (status) {
    case STATUS_OK:
        return 0;
    case STATUS_UNSUPP:
        return -EOPNOTSUPP;
    default:
        return -EIO;
    }
}

static uint32_t request_type(enum block_op op)
{
    switch (op) {
    case BLOCK_OP_READ:
        return REQ_IN;
    case BLOCK_OP_WRITE:
        return REQ_OUT;
    case BLOCK_OP_FLUSH:
        return REQ_FLUSH;
    case BLOCK_OP_DISCARD:
        return REQ_DISCARD;
    case BLOCK_OP_WRITE_ZEROES:
        return REQ_WRITE_ZEROES;
    }
    return REQ_IN;
}

/* Builds header, data and status buffers for req in vb->buffers; returns the out count. */
static unsigned build_chain(struct vblk_queue *q, struct vblk_slot *slot, unsigned *in_count)
{
    struct block_request *req = slot->req;
    struct slot_dma *dma = &q->slot_dma[slot->index];
    phys_addr_t dma_phys = q->slot_dma_phys + (phys_addr_t)slot->index * sizeof(*dma);
    uint32_t sectors_per_block = q->vb->disk->logical_block_size / 512;
    struct virtq_buffer *buffers = q->buffers;
    dma->header.type = request_type(req->op);
    dma->header.reserved = 0;
    dma->header.sector = req->op == BLOCK_OP_FLUSH ? 0 : req->lba * sectors_per_block;
    dma->status = STATUS_UNSET;
    unsigned n = 0, out;
    buffers[n++] = (struct virtq_buffer){dma_phys, sizeof(dma->header)};
    if (req->op == BLOCK_OP_DISCARD || req->op == BLOCK_OP_WRITE_ZEROES) {
        dma->range = (struct blk_range){req->lba * sectors_per_block,
                                        req->block_count * sectors_per_block, 0};
        buffers[n++] =
            (struct virtq_buffer){dma_phys + offsetof(struct slot_dma, range), sizeof(dma->range)};
        out = n;
    } else if (req->op == BLOCK_OP_WRITE) {
        for (unsigned i = 0; i < req->segment_count; i++)
            buffers[n++] = (struct virtq_buffer){req->segments[i].phys, req->segments[i].length};
        out = n;
    } else {
        out = n;
        if (req->op == BLOCK_OP_READ) {
            for (unsigned i = 0; i < req->segment_count; i++)
                buffers[n++] =
                    (struct virtq_buffer){req->segments[i].phys, req->segments[i].length};
        }
    }
    buffers[n++] =
        (struct virtq_buffer){dma_phys + offsetof(struct slot_dma, status), sizeof(dma->status)};
    *in_count = n - out;
    /* The device reads the header and range and writes the status, all in one cache line:
     * the CPU leaves the slot alone until the completion. */
    dma_sync_for_device(dma_phys, sizeof(*dma), DMA_BIDIRECTIONAL);
    return out;
}

static int vblk_submit(struct block_device *dev, struct block_request *req)
{
    struct vblk *vb = dev->driver_data;
    bool ranged = req->op == BLOCK_OP_DISCARD || req->op == BLOCK_OP_WRITE_ZEROES;
    /* Header and status around the data (or the range) in one chain. */
    if (req->segment_count + 2 + (ranged ? 1 : 0) > vb->max_chain)
        return -EINVAL;
    if (vb->dead)
        return -EIO;
    struct vblk_queue *q = &vb->queues[req->hw_queue->index % vb->queue_count];
    irqflags_t flags = spin_lock_irqsave(&q->lock);
    if (q->stopped || vb->needs_reset || q->vq.broken || q->free_count == 0) {
        spin_unlock_irqrestore(&q->lock, flags);
        return -EBUSY; /* a completion or the reset path runs the queue again */
    }
    struct vblk_slot *slot = &q->slots[q->free_slots[--q->free_count]];
    slot->req = req;
    unsigned in_count;
    unsigned out_count = build_chain(q, slot, &in_count);
    int status = virtqueue_add(&q->vq, q->buffers, out_count, in_count, slot);
    if (status < 0) {
        slot->req = NULL;
        q->free_slots[q->free_count++] = slot->index;
        spin_unlock_irqrestore(&q->lock, flags);
        return status == -ENOSPC ? -EBUSY : status;
    }
    bool kick = virtqueue_kick_prepare(&q->vq);
    spin_unlock_irqrestore(&q->lock, flags);
    if (kick)
        q->vq.notify(&q->vq);
    return 0;
}

/* Collected completions, finished outside the lock (completion callbacks submit more). */
struct done_batch {
    unsigned count;
    struct block_request *reqs[32];
    int statuses[32];
};

static void finish(struct done_batch *batch)
{
    for (unsigned i = 0; i < batch->count; i++)
        blk_request_done(batch->reqs[i], batch->statuses[i]);
    batch->count = 0;
}

static bool reap_one(struct vblk_queue *q, struct done_batch *batch)
{
    struct vblk_slot *slot = virtqueue_get_used(&q->vq, NULL);
    if (!slot)
        return false;
    phys_addr_t slot_phys = q->slot_dma_phys + (phys_addr_t)slot->index * sizeof(struct slot_dma);
    dma_sync_for_cpu(slot_phys + offsetof(struct slot_dma, status), 1, DMA_FROM_DEVICE);
    uint8_t status = *(volatile uint8_t *)&q->slot_dma[slot->index].status;
    int result = translate_status(status);
    if (result < 0)
        pr_err("%s: %s at block %llu failed: device status %u\n", q->vb->disk->dev.name,
               block_op_name(slot->req->op), (unsigned long long)slot->req->lba, status);
    batch->reqs[batch->count] = slot->req;
    batch->statuses[batch->count++] = result;
    slot->req = NULL;
    q->free_slots[q->free_count++] = slot->index;
    return true;
}

static void vblk_reset(struct vblk *vb, int status);

static void drain(struct vblk_queue *q)
{
    struct vblk *vb = q->vb;
    struct done_batch batch = {0};
    for (;;) {
        irqflags_t flags = spin_lock_irqsave(&q->lock);
        virtqueue_disable_callbacks(&q->vq);
        while (batch.count < ARRAY_SIZE(batch.reqs) && reap_one(q, &batch))
            ;
        bool more = batch.count == ARRAY_SIZE(batch.reqs) || virtqueue_enable_callbacks(&q->vq);
        bool broken = q->vq.broken || vb->needs_reset;
        spin_unlock_irqrestore(&q->lock, flags);
        finish(&batch);
        if (broken && !vb->dead) {
            vblk_reset(vb, -EIO);
            return;
        }
        if (!more)
            return;
    }
}

static void vblk_interrupt(struct virtio_device *vdev, unsigned queue)
{
    struct vblk *vb = vdev->dev.driver_data;
    if (queue >= vb->queue_count)
        return;
    struct vblk_queue *q = &vb->queues[queue];
    __atomic_add_fetch(&q->interrupts, 1, __ATOMIC_RELAXED);
    if (cpu_id() != blk_hw_queue_cpu(queue))
        __atomic_add_fetch(&q->interrupts_elsewhere, 1, __ATOMIC_RELAXED);
    if (vdev->needs_reset) {
        vdev->needs_reset = false;
        vb->needs_reset = true;
    }
    drain(q);
}

/* Waiters poll every tick.  Besides reaping completions whose interrupt went missing, this
 * notifies again when the device sits on outstanding chains without completing any: a kick
 * suppressed through EVENT_IDX is only safe if our avail idx store and avail_event load stay
 * ordered against the device, and under QEMU TCG with one vCPU (before 8.1) our mfence between
 * them orders nothing on the host, so the device can go idle right after we decided not to
 * notify it. */
static void vblk_poll(struct block_device *dev)
{
    struct vblk *vb = dev->driver_data;
    for (unsigned i = 0; i < vb->queue_count; i++) {
        struct vblk_queue *q = &vb->queues[i];
        drain(q);
        irqflags_t flags = spin_lock_irqsave(&q->lock);
        bool stalled =
            !vb->dead && !vb->needs_reset && !q->stopped && virtqueue_poll_stalled(&q->vq);
        if (stalled)
            q->stall_kicks++;
        spin_unlock_irqrestore(&q->lock, flags);
        if (stalled)
            q->vq.notify(&q->vq);
    }
}

/* Stops submissions on every queue; the device may still own their chains. */
static void stop_queues(struct vblk *vb, bool stopped)
{
    for (unsigned i = 0; i < vb->queue_count; i++) {
        struct vblk_queue *q = &vb->queues[i];
        irqflags_t flags = spin_lock_irqsave(&q->lock);
        q->stopped = stopped;
        spin_unlock_irqrestore(&q->lock, flags);
    }
}

/* After the device was reset (it owns nothing any more): fails every chain it held with status
 * and empties the rings.  Completions run unlocked, a batch at a time; they may submit again,
 * which the stopped queue refuses (the block layer keeps those requests pending). */
static void fail_in_flight(struct vblk *vb, int status)
{
    for (unsigned i = 0; i < vb->queue_count; i++) {
        struct vblk_queue *q = &vb->queues[i];
        struct done_batch batch = {0};
        for (;;) {
            irqflags_t flags = spin_lock_irqsave(&q->lock);
            struct vblk_slot *slot;
            while (batch.count < ARRAY_SIZE(batch.reqs) &&
                   (slot = virtqueue_detach_one(&q->vq)) != NULL) {
                batch.reqs[batch.count] = slot->req;
                batch.statuses[batch.count++] = status;
                slot->req = NULL;
                q->free_slots[q->free_count++] = slot->index;
            }
            bool done = batch.count < ARRAY_SIZE(batch.reqs);
            if (done)
                virtqueue_reset(&q->vq);
            spin_unlock_irqrestore(&q->lock, flags);
            finish(&batch);
            if (done)
                break;
        }
    }
}

static int restart_device(struct vblk *vb);

/* Fails everything in flight with status and brings the device back from reset.  Whoever
 * notices first (an interrupt on any queue's CPU, the timeout work, `blk reset`) does it; the
 * others find it in progress and leave it alone. */
static void vblk_reset(struct vblk *vb, int status)
{
    bool idle = false;
    if (!__atomic_compare_exchange_n(&vb->resetting, &idle, true, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    pr_err("%s: resetting the device\n", vb->disk->dev.name);
    vb->resets++;
    stop_queues(vb, true);
    vb->vdev->ops->reset(vb->vdev);
    fail_in_flight(vb, status);
    vb->needs_reset = false;
    int restart = restart_device(vb);
    vb->dead = restart < 0;
    stop_queues(vb, false);
    __atomic_store_n(&vb->resetting, false, __ATOMIC_RELEASE);
    if (restart < 0)
        pr_err("%s: device did not come back after reset: %d\n", vb->disk->dev.name, restart);
    blk_queue_run(vb->disk);
}

static void vblk_reset_op(struct block_device *dev, int status)
{
    vblk_reset(dev->driver_data, status);
}

static void vblk_describe(struct block_device *dev, char *buffer, size_t size)
{
    struct vblk *vb = dev->driver_data;
    uint64_t interrupts = 0, elsewhere = 0, stall_kicks = 0;
    for (unsigned i = 0; i < vb->queue_count; i++) {
        interrupts += __atomic_load_n(&vb->queues[i].interrupts, __ATOMIC_RELAXED);
        elsewhere += __atomic_load_n(&vb->queues[i].interrupts_elsewhere, __ATOMIC_RELAXED);
        stall_kicks += vb->queues[i].stall_kicks;
    }
    struct virtqueue *vq = &vb->queues[0].vq;
    snprintf(buffer, size,
             "virtio-blk %s transport, %s, %u queue%s of %u%s%s, stall kicks %llu, "
             "interrupts %llu (%llu off their queue's CPU), resets %llu%s",
             vb->vdev->transport_name, vb->vdev->interrupt_name, vb->queue_count,
             vb->queue_count == 1 ? "" : "s", vq->size, vq->indirect_max ? ", indirect" : "",
             vq->event_idx ? ", event-idx" : "", (unsigned long long)stall_kicks,
             (unsigned long long)interrupts, (unsigned long long)elsewhere,
             (unsigned long long)vb->resets, vb->dead ? ", failed" : "");
}

static const struct block_driver_ops vblk_ops = {
    .submit = vblk_submit,
    .poll = vblk_poll,
    .reset = vblk_reset_op,
    .describe = vblk_describe,
};

static const uint64_t wanted_features =
    1ull << BLK_F_SIZE_MAX | 1ull << BLK_F_SEG_MAX | 1ull << BLK_F_RO | 1ull << BLK_F_BLK_SIZE |
    1ull << BLK_F_FLUSH | 1ull << BLK_F_TOPOLOGY | 1ull << BLK_F_DISCARD |
    1ull << BLK_F_WRITE_ZEROES | 1ull << BLK_F_MQ | 1ull << VIRTIO_F_RING_INDIRECT_DESC |
    1ull << VIRTIO_F_RING_EVENT_IDX;

/* Queue activation and DRIVER_OK: the last steps of bringing the device up. */
static int activate(struct vblk *vb)
{
    struct virtio_device *vdev = vb->vdev;
    for (unsigned i = 0; i < vb->queue_count; i++) {
        int status = virtio_queue_activate(vdev, &vb->queues[i].vq);
        if (status < 0) {
            virtio_fail(vdev, "queue activation failed");
            return status;
        }
    }
    virtio_driver_ok(vdev);
    return 0;
}

/* After a reset: the same features again, the interrupt vectors the reset cleared, queues. */
static int restart_device(struct vblk *vb)
{
    uint64_t features;
    int status = virtio_negotiate(vb->vdev, wanted_features, &features);
    if (status < 0)
        return status;
    if (features != vb->features)
        return -EIO; /* the device changed under us */
    status = vb->vdev->ops->restore_interrupts(vb->vdev);
    if (status < 0)
        return status;
    return activate(vb);
}

static void read_geometry(struct vblk *vb, struct block_device *disk)
{
    uint64_t sectors = virtio_config_read64(vb->vdev, CONFIG_CAPACITY);
    uint32_t block_size = 512;
    if (has(vb, BLK_F_BLK_SIZE)) {
        uint32_t value = config32(vb, CONFIG_BLK_SIZE);
        if (value >= 512 && value <= 65536 && IS_POWER_OF_2(value))
            block_size = value;
        else
            pr_warn("%s: ignoring bad block size %u\n", vb->vdev->dev.name, value);
    }
    uint32_t physical = block_size;
    if (has(vb, BLK_F_TOPOLOGY)) {
        uint8_t exponent = (uint8_t)vb->vdev->ops->config_read(vb->vdev, CONFIG_PHYSICAL_EXP, 1);
        if (exponent <= 7)
            physical = block_size << exponent;
    }
    disk->logical_block_size = block_size;
    disk->physical_block_size = physical;
    disk->block_count = sectors / (block_size / 512);
    disk->read_only = has(vb, BLK_F_RO);
    disk->can_flush = has(vb, BLK_F_FLUSH);
    disk->can_discard = has(vb, BLK_F_DISCARD) && config32(vb, CONFIG_MAX_DISCARD) != 0;
    disk->can_write_zeroes =
        has(vb, BLK_F_WRITE_ZEROES) && config32(vb, CONFIG_MAX_WRITE_ZEROES) != 0;
}

static void set_limits(struct vblk *vb, struct block_device *disk)
{
    unsigned segments = DATA_SEGMENTS;
    if (has(vb, BLK_F_SEG_MAX)) {
        uint32_t seg_max = config32(vb, CONFIG_SEG_MAX);
        if (seg_max >= 1)
            segments = MIN(segments, seg_max);
    }
    uint32_t segment_size = MAX_TRANSFER;
    if (has(vb, BLK_F_SIZE_MAX)) {
        uint32_t size_max = config32(vb, CONFIG_SIZE_MAX);
        if (size_max >= disk->logical_block_size)
            segment_size = MIN(segment_size, size_max);
    }
    unsigned depth;
    const struct virtqueue *vq = &vb->queues[0].vq; /* every queue has the same size */
    if (vq->indirect_max) {
        segments = MIN(segments, vq->indirect_max - 2);
        depth = vq->size;
    } else {
        /* Without indirect tables a request takes its segments plus header and status. */
        segments = MIN(segments, (unsigned)vq->size / 4 - 2);
        segments = MAX(segments, 1u);
        depth = vq->size / (segments + 2);
    }
    uint32_t sectors_per_block = disk->logical_block_size / 512;
    disk->limits = (struct block_limits){
        .max_segments = segments,
        .max_segment_size = segment_size,
        .max_transfer = MAX_TRANSFER,
        .queue_depth = MAX(depth, 1u),
        .max_discard_blocks =
            disk->can_discard ? MAX(config32(vb, CONFIG_MAX_DISCARD) / sectors_per_block, 1u) : 0,
        .max_write_zeroes_blocks =
            disk->can_write_zeroes
                ? MAX(config32(vb, CONFIG_MAX_WRITE_ZEROES) / sectors_per_block, 1u)
                : 0,
    };
}

/* "virtio_blk.timeout_ms=N" on the command line overrides the request timeout (tests). */
static uint64_t request_timeout(void)
{
    char text[24];
    if (cmdline_get("virtio_blk.timeout_ms", text, sizeof(text))) {
        char *end;
        unsigned long ms = strtoul(text, &end, 10);
        if (*end == 0 && ms > 0)
            return ms * NSEC_PER_MSEC;
        pr_warn("ignoring virtio_blk.timeout_ms=%s\n", text);
    }
    return REQUEST_TIMEOUT;
}

/* "virtio_blk.queues=N" limits the request queues (benchmarks compare one with several). */
static unsigned queue_limit(void)
{
    char text[24];
    if (cmdline_get("virtio_blk.queues", text, sizeof(text))) {
        char *end;
        unsigned long count = strtoul(text, &end, 10);
        if (*end == 0 && count > 0)
            return (unsigned)MIN(count, (unsigned long)VIRTIO_QUEUES_MAX);
        pr_warn("ignoring virtio_blk.queues=%s\n", text);
    }
    return VIRTIO_QUEUES_MAX;
}

/* One request queue per online CPU, up to what the device offers (num_queues, with MQ). */
static unsigned choose_queue_count(struct vblk *vb)
{
    unsigned offered = 1;
    if (has(vb, BLK_F_MQ)) {
        offered = vb->vdev->ops->config_read(vb->vdev, CONFIG_NUM_QUEUES, 2);
        if (offered == 0) {
            pr_warn("%s: device offers 0 queues; using 1\n", vb->vdev->dev.name);
            offered = 1;
        }
    }
    return MIN(MIN(offered, cpu_online_count()), queue_limit());
}

static int alloc_slots(struct vblk_queue *q, unsigned count)
{
    q->slot_count = count;
    q->slot_dma_bytes = count * sizeof(struct slot_dma);
    q->slot_dma = dma_alloc(q->slot_dma_bytes, 64, &q->slot_dma_phys);
    q->slots = kcalloc(count, sizeof(*q->slots));
    q->free_slots = kcalloc(count, sizeof(*q->free_slots));
    if (!q->slot_dma || !q->slots || !q->free_slots)
        return -ENOMEM;
    for (unsigned i = 0; i < count; i++) {
        q->slots[i].index = i;
        q->slots[i].queue = q;
        q->free_slots[i] = count - 1 - i;
    }
    q->free_count = count;
    return 0;
}

static void free_queue_memory(struct vblk_queue *q)
{
    if (q->slot_dma)
        dma_free(q->slot_dma, q->slot_dma_bytes);
    kfree(q->slots);
    kfree(q->free_slots);
    kfree(q->buffers);
    if (q->vq.ring_memory)
        virtqueue_destroy(&q->vq);
}

/* Recorded before the quiesce, so it runs after it: the device is reset and its interrupts
 * are gone before the rings and slots go. */
static void free_queues(void *vb_)
{
    struct vblk *vb = vb_;
    for (unsigned i = 0; i < VIRTIO_QUEUES_MAX; i++)
        free_queue_memory(&vb->queues[i]);
}

/* Creates the request virtqueues, all of one size (the smallest maximum among them). */
static int create_queues(struct vblk *vb)
{
    uint16_t size = QUEUE_SIZE_MAX;
    for (unsigned i = 0; i < vb->queue_count; i++) {
        uint16_t max = vb->vdev->ops->queue_max_size(vb->vdev, i);
        if (max == 0 || !IS_POWER_OF_2(max)) {
            pr_err("%s: bad size %u for queue %u\n", vb->vdev->dev.name, max, i);
            return -ENODEV;
        }
        /* Legacy PCI dictates the size; the others let us choose up to the maximum. */
        size = vb->vdev->queue_size_fixed ? max : MIN(size, max);
    }
    bool indirect = has(vb, VIRTIO_F_RING_INDIRECT_DESC);
    vb->max_chain = indirect ? DATA_SEGMENTS + 2 : size;
    for (unsigned i = 0; i < vb->queue_count; i++) {
        struct vblk_queue *q = &vb->queues[i];
        int status = virtqueue_create(&q->vq, i, size, 4096, indirect ? DATA_SEGMENTS + 2 : 0,
                                      has(vb, VIRTIO_F_RING_EVENT_IDX));
        if (status < 0)
            return status;
        q->buffers = kcalloc(MAX(vb->max_chain, (unsigned)DATA_SEGMENTS + 3), sizeof(*q->buffers));
        if (!q->buffers)
            return -ENOMEM;
    }
    return 0;
}

static int vblk_probe(struct virtio_device *vdev)
{
    struct vblk *vb = vdev->dev.driver_data;
    vb->vdev = vdev;
    for (unsigned i = 0; i < VIRTIO_QUEUES_MAX; i++) {
        vb->queues[i].vb = vb;
        vb->queues[i].lock = (struct spinlock)SPINLOCK_INIT("virtio-blk queue");
    }
    /* Released in the opposite order: the device stops, then its queue memory goes. */
    int status = devm_add_action(&vdev->dev, free_queues, vb, "virtqueues");
    if (status == 0)
        status = devm_virtio_quiesce(vdev);
    if (status < 0)
        goto fail;
    uint64_t features;
    status = virtio_negotiate(vb->vdev, wanted_features, &features);
    if (status < 0)
        goto fail;
    vb->features = features;
    vb->queue_count = choose_queue_count(vb);
    /* Interrupts first: on the legacy transport MSI-X moves the device config.  Queue q's
     * completions go to the CPU that submits to it. */
    unsigned queue_cpus[VIRTIO_QUEUES_MAX];
    for (unsigned i = 0; i < vb->queue_count; i++)
        queue_cpus[i] = blk_hw_queue_cpu(i);
    vb->vdev->ops->setup_interrupts(vb->vdev, vb->queue_count, queue_cpus, vblk_interrupt);
    vb->disk = devm_block_device_alloc(&vdev->dev);
    status = vb->disk ? create_queues(vb) : -ENOMEM;
    if (status < 0)
        goto fail;
    read_geometry(vb, vb->disk);
    set_limits(vb, vb->disk);
    for (unsigned i = 0; i < vb->queue_count && status == 0; i++)
        status = alloc_slots(&vb->queues[i], vb->disk->limits.queue_depth);
    if (status < 0)
        goto fail;
    status = activate(vb);
    if (status < 0)
        goto fail;

    struct block_device *disk = vb->disk;
    disk->driver_name = "virtio-blk";
    disk->ops = &vblk_ops;
    disk->driver_data = vb;
    disk->timeout_ns = request_timeout();
    disk->hw_queue_count = vb->queue_count;
    status = devm_block_device_register(&vdev->dev, disk, "vd");
    if (status < 0)
        goto fail;
    const struct virtqueue *vq = &vb->queues[0].vq;
    pr_info("%s: %s at %s, %s transport, %u queue%s of %u%s%s, %u segments x %u bytes, "
            "depth %u\n",
            disk->dev.name, vdev->dev.name, vdev->dev.parent ? vdev->dev.parent->name : "?",
            vb->vdev->transport_name, vb->queue_count, vb->queue_count == 1 ? "" : "s", vq->size,
            vq->indirect_max ? ", indirect" : "", vq->event_idx ? ", event-idx" : "",
            disk->limits.max_segments, disk->limits.max_segment_size, disk->limits.queue_depth);
    block_device_scan_partitions(disk);
    return 0;

fail:
    pr_err("%s: probe failed: %d\n", vdev->dev.name, status);
    return status;
}

/* Takes the disk away, stops the device and fails what it still held; the core then releases
 * the rest (interrupts, queue memory, transport, private data). */
static void vblk_remove(struct virtio_device *vdev)
{
    struct vblk *vb = vdev->dev.driver_data;
    devm_block_device_unregister(&vdev->dev, vb->disk);
    /* A reset in progress on another CPU finishes first (it may be bringing the device
     * back). */
    bool idle = false;
    while (!__atomic_compare_exchange_n(&vb->resetting, &idle, true, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
        idle = false;
        cpu_relax();
    }
    vb->dead = true;
    stop_queues(vb, true);
    vb->vdev->ops->reset(vb->vdev);
    fail_in_flight(vb, -ENODEV);
}

static const struct virtio_device_id vblk_ids[] = {
    {2, VIRTIO_ANY_VENDOR},
    {0, 0},
};

static struct virtio_driver vblk_driver = {
    .owner = THIS_MODULE,
    .name = "virtio-blk",
    .id_table = vblk_ids,
    .priv_size = sizeof(struct vblk),
    .probe = vblk_probe,
    .remove = vblk_remove,
};

static int vblk_init(void)
{
    return virtio_register_driver(&vblk_driver);
}
INITCALL(vblk_init, INIT_DRIVER);

static void vblk_exit(void)
{
    virtio_unregister_driver(&vblk_driver);
}
MODULE_EXIT(vblk_exit);
