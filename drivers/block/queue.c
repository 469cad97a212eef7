/* The generic request queue: checks requests, splits them to the device's limits and keeps as
 * many in flight as the device allows.  Completions may arrive from interrupt context. */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>

static struct spinlock queue_lock = SPINLOCK_INIT("blk-queue");

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

static int check_range(const struct block_device *dev, uint64_t lba, uint64_t count)
{
    if (count == 0 || lba >= dev->block_count || count > dev->block_count - lba)
        return -EINVAL;
    return 0;
}

static int check_request(const struct block_request *req)
{
    const struct block_device *dev = req->device;
    if (dev->removed)
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

/* Starts pending requests while the device has room.  One caller loops at a time; a completion
 * arriving meanwhile (even synchronously from ops->submit) only asks it to loop again. */
static void arm_timeout_locked(struct block_device *dev)
{
    if (!dev->timeout_ns || !dev->ops->reset || timer_pending(&dev->timeout_timer) ||
        list_empty(&dev->in_flight_list))
        return;
    uint64_t oldest =
        list_entry(dev->in_flight_list.next, struct block_request, queue_node)->submit_time_ns;
    timer_start_at(&dev->timeout_timer, oldest + dev->timeout_ns);
}

static void dispatch(struct block_device *dev)
{
    irqflags_t flags = spin_lock_irqsave(&queue_lock);
    if (dev->dispatch_running) {
        dev->dispatch_again = true;
        spin_unlock_irqrestore(&queue_lock, flags);
        return;
    }
    dev->dispatch_running = true;
    do {
        dev->dispatch_again = false;
        while (dev->in_flight < dev->limits.queue_depth && !list_empty(&dev->pending)) {
            struct block_request *req =
                list_entry(dev->pending.next, struct block_request, queue_node);
            list_remove(&req->queue_node);
            list_add_tail(&dev->in_flight_list, &req->queue_node);
            dev->in_flight++;
            req->submit_time_ns = time_ns();
            arm_timeout_locked(dev);
            spin_unlock_irqrestore(&queue_lock, flags);
            int status = dev->ops->submit(dev, req);
            flags = spin_lock_irqsave(&queue_lock);
            if (status == -EBUSY) {
                dev->in_flight--;
                list_remove(&req->queue_node);
                list_add_head(&dev->pending, &req->queue_node);
                break;
            }
            if (status < 0) {
                list_remove(&req->queue_node);
                dev->in_flight--;
                dev->failed_requests++;
                spin_unlock_irqrestore(&queue_lock, flags);
                req->complete(req, status);
                flags = spin_lock_irqsave(&queue_lock);
            }
        }
    } while (dev->dispatch_again);
    dev->dispatch_running = false;
    spin_unlock_irqrestore(&queue_lock, flags);
}

void blk_queue_run(struct block_device *dev)
{
    dispatch(dev);
}

void blk_request_done(struct block_request *req, int status)
{
    struct block_device *dev = req->device;
    irqflags_t flags = spin_lock_irqsave(&queue_lock);
    list_remove(&req->queue_node);
    if (dev->in_flight)
        dev->in_flight--;
    if (status < 0)
        dev->failed_requests++;
    else
        dev->completed_requests++;
    spin_unlock_irqrestore(&queue_lock, flags);
    req->complete(req, status);
    dispatch(dev);
}

static void enqueue(struct block_request *req)
{
    struct block_device *dev = req->device;
    irqflags_t flags = spin_lock_irqsave(&queue_lock);
    list_add_tail(&dev->pending, &req->queue_node);
    spin_unlock_irqrestore(&queue_lock, flags);
}

static void split_release(struct split_parent *split, int status)
{
    irqflags_t flags = spin_lock_irqsave(&queue_lock);
    if (status < 0 && split->status == 0)
        split->status = status;
    bool last = --split->outstanding == 0;
    spin_unlock_irqrestore(&queue_lock, flags);
    if (last) {
        struct block_request *parent = split->parent;
        int final = split->status;
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
        irqflags_t flags = spin_lock_irqsave(&queue_lock);
        split->outstanding++;
        spin_unlock_irqrestore(&queue_lock, flags);
        enqueue(&child->req);
    }
    if (status < 0)
        pr_err("%s: cannot split %s of %llu bytes: %d\n", dev->name, block_op_name(req->op),
               (unsigned long long)blk_request_bytes(req), status);
    dispatch(dev);
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
    list_init(&req->queue_node);
    if (req->op == BLOCK_OP_FLUSH && !dev->can_flush) {
        /* No volatile cache: everything written is already durable. */
        req->complete(req, 0);
        return 0;
    }
    if (!fits_limits(req, &dev->limits))
        return submit_split(req);
    enqueue(req);
    dispatch(dev);
    return 0;
}

/* Fails requests that never started; the driver fails those it holds. */
void blk_queue_abort(struct block_device *dev, int status)
{
    LIST_HEAD(aborted);
    irqflags_t flags = spin_lock_irqsave(&queue_lock);
    while (!list_empty(&dev->pending)) {
        struct list_node *node = dev->pending.next;
        list_remove(node);
        list_add_tail(&aborted, node);
    }
    spin_unlock_irqrestore(&queue_lock, flags);
    while (!list_empty(&aborted)) {
        struct block_request *req = list_entry(aborted.next, struct block_request, queue_node);
        list_remove(&req->queue_node);
        req->complete(req, status);
    }
}

/* Resets the device when its oldest request has been in flight longer than its timeout; one
 * reset at a time, whoever notices (a waiter's poll or the timeout work). */
static void check_timeout(struct block_device *dev)
{
    if (!dev->timeout_ns || !dev->ops->reset)
        return;
    irqflags_t flags = spin_lock_irqsave(&queue_lock);
    uint64_t oldest = 0;
    if (!list_empty(&dev->in_flight_list) && !dev->resetting)
        oldest =
            list_entry(dev->in_flight_list.next, struct block_request, queue_node)->submit_time_ns;
    bool overdue = oldest && time_ns() - oldest > dev->timeout_ns;
    dev->resetting |= overdue;
    spin_unlock_irqrestore(&queue_lock, flags);
    if (!overdue)
        return;
    pr_err("%s: request timed out after %llu ms, resetting the device\n", dev->name,
           (unsigned long long)(dev->timeout_ns / NSEC_PER_MSEC));
    dev->ops->reset(dev, -ETIMEDOUT);
    flags = spin_lock_irqsave(&queue_lock);
    dev->resetting = false;
    spin_unlock_irqrestore(&queue_lock, flags);
}

void blk_service(struct block_device *dev)
{
    while (dev->parent)
        dev = dev->parent;
    if (dev->removed)
        return; /* the driver may be gone */
    if (dev->ops->poll)
        dev->ops->poll(dev);
    check_timeout(dev);
}

/* Timer (interrupt context): hand the check to a thread, holding a reference until it ran. */
static void timeout_fired(struct timer *timer)
{
    struct block_device *dev = timer->data;
    block_device_get(dev);
    if (!queue_work(system_wq, &dev->timeout_work))
        block_device_put(dev);
}

static void timeout_work(struct work *work)
{
    struct block_device *dev = container_of(work, struct block_device, timeout_work);
    if (!dev->removed) {
        check_timeout(dev);
        irqflags_t flags = spin_lock_irqsave(&queue_lock);
        arm_timeout_locked(dev); /* for the request that is now the oldest */
        spin_unlock_irqrestore(&queue_lock, flags);
    }
    block_device_put(dev);
}

void blk_timeouts_init(struct block_device *dev)
{
    timer_setup(&dev->timeout_timer, timeout_fired, dev);
    work_init(&dev->timeout_work, timeout_work);
}

void blk_timeouts_stop(struct block_device *dev)
{
    timer_cancel(&dev->timeout_timer);
}
