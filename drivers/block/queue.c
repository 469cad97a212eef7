/* The generic request queues: checks requests, splits them to the device's limits, queues them
 * on the submitting CPU's hardware queue and keeps as many in flight per queue as the device
 * allows.  Completions may arrive from interrupt context on any CPU. */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/time.h>

/* A request cut into pieces: the parent completes when the last piece does. */
struct split_parent {
    struct block_request *parent;
    unsigned outstanding;
    int status;
};

struct split_child {
    struct block_request req;
    struct split_parent *split;
    uint64_t length; /* bytes of a transfer, blocks of a range */
    struct block_segment segments[];
};

const char *block_op_name(enum block_op op)
{
    switch (op) {
    case BLOCK_OP_READ:
        return "read";
    case BLOCK_OP_WRITE:
        return "write";
    case BLOCK_OP_FLUSH:
        return "flush";
    case BLOCK_OP_DISCARD:
        return "discard";
    case BLOCK_OP_WRITE_ZEROES:
        return "write-zeroes";
    }
    return "?";
}

static bool op_writes(enum block_op op)
{
    return op == BLOCK_OP_WRITE || op == BLOCK_OP_DISCARD || op == BLOCK_OP_WRITE_ZEROES;
}

/* A request's data belongs to the device from ops->submit until blk_request_done (or until
 * submit turns it away): one hand-off per segment each way (<rayos/dma.h>). */
static void hand_segments(const struct block_request *req, bool to_device)
{
    enum dma_direction direction = req->op == BLOCK_OP_READ ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
    for (unsigned i = 0; i < req->segment_count; i++) {
        const struct block_segment *segment = &req->segments[i];
        if (to_device)
            dma_sync_for_device(segment->phys, segment->length, direction);
        else
            dma_sync_for_cpu(segment->phys, segment->length, direction);
    }
}

static int check_range(const struct block_device *dev, uint64_t lba, uint64_t count)
{
    if (count == 0 || lba >= dev->block_count || count > dev->block_count - lba)
        return -EINVAL;
    return 0;
}

static int check_request(const struct block_request *req)
{
    const struct block_device *dev = req->device;
    if (block_device_removed(dev))
        return -ENODEV;
    if (op_writes(req->op) && dev->read_only)
        return -EROFS;
    switch (req->op) {
    case BLOCK_OP_READ:
    case BLOCK_OP_WRITE: {
        uint64_t bytes = blk_request_bytes(req);
        if (bytes % dev->logical_block_size)
            return -EINVAL;
        return check_range(dev, req->lba, bytes / dev->logical_block_size);
    }
    case BLOCK_OP_DISCARD:
        return dev->can_discard ? check_range(dev, req->lba, req->block_count) : -EOPNOTSUPP;
    case BLOCK_OP_WRITE_ZEROES:
        return dev->can_write_zeroes ? check_range(dev, req->lba, req->block_count) : -EOPNOTSUPP;
    case BLOCK_OP_FLUSH:
        return 0;
    }
    return -EINVAL;
}

/* Blocks one DISCARD/WRITE_ZEROES request may cover (0: any number). */
static uint32_t range_limit(const struct block_request *req, const struct block_limits *limits)
{
    if (req->op == BLOCK_OP_DISCARD)
        return limits->max_discard_blocks;
    if (req->op == BLOCK_OP_WRITE_ZEROES)
        return limits->max_write_zeroes_blocks;
    return 0;
}

static bool fits_limits(const struct block_request *req, const struct block_limits *limits)
{
    if (req->op == BLOCK_OP_FLUSH)
        return true;
    if (req->op == BLOCK_OP_DISCARD || req->op == BLOCK_OP_WRITE_ZEROES) {
        uint32_t limit = range_limit(req, limits);
        return limit == 0 || req->block_count <= limit;
    }
    if (req->segment_count > limits->max_segments)
        return false;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < req->segment_count; i++) {
        if (req->segments[i].length > limits->max_segment_size)
            return false;
        bytes += req->segments[i].length;
    }
    return bytes <= limits->max_transfer;
}

/* Arms the queue's timeout timer for its oldest request in flight (queue lock held). */
static void arm_timeout_locked(struct block_hw_queue *hq)
{
    struct block_device *dev = hq->device;
    if (!dev->timeout_ns || !dev->ops->reset || timer_pending(&hq->timeout_timer) ||
        list_empty(&hq->in_flight_list))
        return;
    uint64_t oldest =
        list_entry(hq->in_flight_list.next, struct block_request, queue_node)->submit_time_ns;
    timer_start_at(&hq->timeout_timer, oldest + dev->timeout_ns);
}

/* Starts pending requests while the queue has room.  One caller loops at a time; a completion
 * arriving meanwhile (even synchronously from ops->submit) only asks it to loop again. */
static void dispatch(struct block_hw_queue *hq)
{
    struct block_device *dev = hq->device;
    irqflags_t flags = spin_lock_irqsave(&hq->lock);
    if (hq->dispatch_running) {
        hq->dispatch_again = true;
        spin_unlock_irqrestore(&hq->lock, flags);
        return;
    }
    hq->dispatch_running = true;
    do {
        hq->dispatch_again = false;
        while (hq->in_flight < dev->limits.queue_depth && !list_empty(&hq->pending)) {
            struct block_request *req =
                list_entry(hq->pending.next, struct block_request, queue_node);
            list_remove(&req->queue_node);
            list_add_tail(&hq->in_flight_list, &req->queue_node);
            hq->in_flight++;
            req->submit_time_ns = time_ns();
            arm_timeout_locked(hq);
            spin_unlock_irqrestore(&hq->lock, flags);
            hand_segments(req, true);
            int status = dev->ops->submit(dev, req);
            if (status < 0)
                hand_segments(req, false);
            flags = spin_lock_irqsave(&hq->lock);
            if (status == -EBUSY) {
                hq->in_flight--;
                list_remove(&req->queue_node);
                list_add_head(&hq->pending, &req->queue_node);
                break;
            }
            if (status < 0) {
                list_remove(&req->queue_node);
                hq->in_flight--;
                hq->failed_requests++;
                spin_unlock_irqrestore(&hq->lock, flags);
                req->complete(req, status);
                flags = spin_lock_irqsave(&hq->lock);
            }
        }
    } while (hq->dispatch_again);
    hq->dispatch_running = false;
    spin_unlock_irqrestore(&hq->lock, flags);
}

void blk_queue_run(struct block_device *dev)
{
    for (unsigned i = 0; dev->hw_queues && i < dev->hw_queue_count; i++)
        dispatch(&dev->hw_queues[i]);
}

void blk_request_done(struct block_request *req, int status)
{
    hand_segments(req, false);
    struct block_hw_queue *hq = req->hw_queue;
    irqflags_t flags = spin_lock_irqsave(&hq->lock);
    list_remove(&req->queue_node);
    if (hq->in_flight)
        hq->in_flight--;
    if (status < 0)
        hq->failed_requests++;
    else
        hq->completed_requests++;
    spin_unlock_irqrestore(&hq->lock, flags);
    req->complete(req, status);
    dispatch(hq);
}

unsigned blk_hw_queue_cpu(unsigned index)
{
    return cpu_is_online(index) ? index : 0;
}

/* blk-mq's default map, simplified: CPU c submits to queue c mod count. */
static struct block_hw_queue *queue_for_this_cpu(struct block_device *dev)
{
    return &dev->hw_queues[cpu_id() % dev->hw_queue_count];
}

/* Queues req on the submitting CPU's hardware queue; returns that queue.  A thread that
 * migrates right after the choice only loses locality, not correctness. */
static struct block_hw_queue *enqueue(struct block_request *req)
{
    struct block_hw_queue *hq = queue_for_this_cpu(req->device);
    req->hw_queue = hq;
    irqflags_t flags = spin_lock_irqsave(&hq->lock);
    list_add_tail(&hq->pending, &req->queue_node);
    spin_unlock_irqrestore(&hq->lock, flags);
    return hq;
}

static void split_release(struct split_parent *split, int status)
{
    int none = 0;
    if (status < 0) /* the first failure wins */
        __atomic_compare_exchange_n(&split->status, &none, status, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    if (__atomic_sub_fetch(&split->outstanding, 1, __ATOMIC_ACQ_REL) == 0) {
        struct block_request *parent = split->parent;
        int final = __atomic_load_n(&split->status, __ATOMIC_ACQUIRE);
        kfree(split);
        parent->complete(parent, final);
    }
}

static void split_child_done(struct block_request *req, int status)
{
    struct split_child *child = container_of(req, struct split_child, req);
    struct split_parent *split = child->split;
    kfree(child);
    split_release(split, status);
}

/* Fills child with the piece of req after `done` (bytes of a transfer, blocks of a range).
 * Returns the segment count (a range piece counts as 1), 0 when nothing is left, or an error. */
static int next_piece(const struct block_request *req, uint64_t done, struct split_child *child)
{
    struct block_device *dev = req->device;
    if (req->op == BLOCK_OP_DISCARD || req->op == BLOCK_OP_WRITE_ZEROES) {
        uint64_t left = req->block_count - done;
        if (left == 0)
            return 0;
        child->req.lba = req->lba + done;
        child->req.block_count = (uint32_t)MIN(left, (uint64_t)range_limit(req, &dev->limits));
        child->length = child->req.block_count;
        return 1;
    }
    uint32_t bytes;
    int count =
        blk_split_next(req, &dev->limits, dev->logical_block_size, done, child->segments, &bytes);
    child->req.lba = req->lba + done / dev->logical_block_size;
    child->length = bytes;
    return count;
}

static int submit_split(struct block_request *req)
{
    struct block_device *dev = req->device;
    const struct block_limits *limits = &dev->limits;
    struct split_parent *split = kzalloc(sizeof(*split));
    if (!split)
        return -ENOMEM;
    split->parent = req;
    split->outstanding = 1; /* held until every piece is queued */

    uint64_t done = 0;
    int status = 0;
    struct block_hw_queue *hq = NULL;
    for (;;) {
        struct split_child *child =
            kzalloc(sizeof(*child) + limits->max_segments * sizeof(struct block_segment));
        if (!child) {
            status = -ENOMEM;
            break;
        }
        int count = next_piece(req, done, child);
        if (count <= 0) {
            kfree(child);
            status = count;
            break;
        }
        child->req.op = req->op;
        child->req.segment_count = (unsigned)count;
        child->req.segments = child->segments;
        child->req.complete = split_child_done;
        child->req.device = dev;
        child->split = split;
        done += child->length;
        __atomic_add_fetch(&split->outstanding, 1, __ATOMIC_ACQ_REL);
        hq = enqueue(&child->req);
    }
    if (status < 0)
        pr_err("%s: cannot split %s of %llu bytes: %d\n", dev->dev.name, block_op_name(req->op),
               (unsigned long long)blk_request_bytes(req), status);
    if (hq)
        dispatch(hq);
    /* Pieces already queued still run; the parent reports the first failure. */
    split_release(split, status);
    return 0;
}

int blk_submit(struct block_request *req)
{
    struct block_device *dev = req->device;
    if (!dev)
        return -ENODEV;
    int status = check_request(req);
    if (status < 0)
        return status;
    if (!dev->hw_queues)
        return -ENODEV; /* not registered yet */
    list_init(&req->queue_node);
    if (req->op == BLOCK_OP_FLUSH && !dev->can_flush) {
        /* No volatile cache: everything written is already durable. */
        req->complete(req, 0);
        return 0;
    }
    if (!fits_limits(req, &dev->limits))
        return submit_split(req);
    dispatch(enqueue(req));
    return 0;
}

/* Fails requests that never started; the driver fails those it holds. */
void blk_queue_abort(struct block_device *dev, int status)
{
    LIST_HEAD(aborted);
    for (unsigned i = 0; dev->hw_queues && i < dev->hw_queue_count; i++) {
        struct block_hw_queue *hq = &dev->hw_queues[i];
        irqflags_t flags = spin_lock_irqsave(&hq->lock);
        while (!list_empty(&hq->pending)) {
            struct list_node *node = hq->pending.next;
            list_remove(node);
            list_add_tail(&aborted, node);
        }
        spin_unlock_irqrestore(&hq->lock, flags);
    }
    while (!list_empty(&aborted)) {
        struct block_request *req = list_entry(aborted.next, struct block_request, queue_node);
        list_remove(&req->queue_node);
        req->complete(req, status);
    }
}

/* Resets the device when the queue's oldest request has been in flight longer than the
 * timeout; one reset per device at a time, whoever notices (a waiter's poll or the work). */
static void check_timeout(struct block_hw_queue *hq)
{
    struct block_device *dev = hq->device;
    if (!dev->timeout_ns || !dev->ops->reset)
        return;
    irqflags_t flags = spin_lock_irqsave(&hq->lock);
    uint64_t oldest = 0;
    if (!list_empty(&hq->in_flight_list))
        oldest =
            list_entry(hq->in_flight_list.next, struct block_request, queue_node)->submit_time_ns;
    spin_unlock_irqrestore(&hq->lock, flags);
    if (!oldest || time_ns() - oldest <= dev->timeout_ns)
        return;
    bool idle = false;
    if (!__atomic_compare_exchange_n(&dev->resetting, &idle, true, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    pr_err("%s: request timed out after %llu ms, resetting the device\n", dev->dev.name,
           (unsigned long long)(dev->timeout_ns / NSEC_PER_MSEC));
    dev->ops->reset(dev, -ETIMEDOUT);
    __atomic_store_n(&dev->resetting, false, __ATOMIC_RELEASE);
}

void blk_service(struct block_device *dev)
{
    dev = block_device_disk(dev);
    if (block_device_removed(dev))
        return; /* the driver may be gone */
    if (dev->ops->poll)
        dev->ops->poll(dev);
    for (unsigned i = 0; dev->hw_queues && i < dev->hw_queue_count; i++)
        check_timeout(&dev->hw_queues[i]);
}

/* Timer (interrupt context): hand the check to a thread, holding a reference until it ran. */
static void timeout_fired(struct timer *timer)
{
    struct block_hw_queue *hq = timer->data;
    device_get(&hq->device->dev);
    if (!queue_work(system_wq, &hq->timeout_work))
        device_put(&hq->device->dev);
}

static void timeout_work(struct work *work)
{
    struct block_hw_queue *hq = container_of(work, struct block_hw_queue, timeout_work);
    struct block_device *dev = hq->device;
    if (!block_device_removed(dev)) {
        check_timeout(hq);
        irqflags_t flags = spin_lock_irqsave(&hq->lock);
        arm_timeout_locked(hq); /* for the request that is now the oldest */
        spin_unlock_irqrestore(&hq->lock, flags);
    }
    device_put(&dev->dev);
}

int blk_queues_init(struct block_device *dev)
{
    if (dev->hw_queue_count == 0)
        dev->hw_queue_count = 1;
    dev->hw_queues = kcalloc(dev->hw_queue_count, sizeof(*dev->hw_queues));
    if (!dev->hw_queues)
        return -ENOMEM;
    for (unsigned i = 0; i < dev->hw_queue_count; i++) {
        struct block_hw_queue *hq = &dev->hw_queues[i];
        hq->lock = (struct spinlock)SPINLOCK_INIT("blk-hw-queue");
        hq->device = dev;
        hq->index = i;
        list_init(&hq->pending);
        list_init(&hq->in_flight_list);
        timer_setup(&hq->timeout_timer, timeout_fired, hq);
        work_init(&hq->timeout_work, timeout_work);
    }
    return 0;
}

void blk_queues_stop(struct block_device *dev)
{
    for (unsigned i = 0; dev->hw_queues && i < dev->hw_queue_count; i++)
        timer_cancel(&dev->hw_queues[i].timeout_timer);
}

void blk_queues_free(struct block_device *dev)
{
    kfree(dev->hw_queues);
    dev->hw_queues = NULL;
}

void blk_queue_stats(const struct block_device *dev, struct block_queue_stats *out)
{
    *out = (struct block_queue_stats){0};
    for (unsigned i = 0; dev->hw_queues && i < dev->hw_queue_count; i++) {
        struct block_hw_queue *hq = &dev->hw_queues[i];
        irqflags_t flags = spin_lock_irqsave(&hq->lock);
        out->completed += hq->completed_requests;
        out->failed += hq->failed_requests;
        out->in_flight += hq->in_flight;
        spin_unlock_irqrestore(&hq->lock, flags);
    }
}
