/* Synchronous block I/O: submit one request and sleep until its completion wakes us.  Every
 * timer tick the waiter also services the device (polled drivers, stalled queues, timeouts). */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/timer.h>
#include <rayos/wait.h>

struct sync_wait {
    volatile bool done;
    int status;
    struct wait_queue wake;
};

static void sync_complete(struct block_request *req, int status)
{
    struct sync_wait *wait = req->context;
    wait->status = status;
    __atomic_store_n(&wait->done, true, __ATOMIC_RELEASE);
    wake_up(&wait->wake);
}

int blk_submit_wait(struct block_request *req)
{
    struct sync_wait wait = {false, 0, WAIT_QUEUE_INIT("blk sync wait")};
    req->complete = sync_complete;
    req->context = &wait;
    int status = blk_submit(req);
    if (status < 0)
        return status;
    while (!__atomic_load_n(&wait.done, __ATOMIC_ACQUIRE)) {
        blk_service(req->device);
        wait_event_timeout(&wait.wake, __atomic_load_n(&wait.done, __ATOMIC_ACQUIRE),
                           TIMER_TICK_NS);
    }
    /* The completion may still be inside wake_up on another CPU: take the queue's lock once so
     * it has let go of `wait` before this stack frame goes away. */
    irqflags_t flags = spin_lock_irqsave(&wait.wake.lock);
    spin_unlock_irqrestore(&wait.wake.lock, flags);
    return wait.status;
}

int blk_flush(struct block_device *dev)
{
    struct block_request req = {.op = BLOCK_OP_FLUSH, .device = dev};
    return blk_submit_wait(&req);
}

static int io_read(void *context, uint64_t lba, uint32_t count, void *buffer)
{
    return blk_read(context, lba, count, buffer);
}

static int io_write(void *context, uint64_t lba, uint32_t count, const void *buffer)
{
    return blk_write(context, lba, count, buffer);
}

static int io_flush(void *context)
{
    return blk_flush(context);
}

void block_device_io(struct block_device *dev, struct block_io *out)
{
    out->context = dev;
    out->block_size = dev->logical_block_size;
    out->block_count = dev->block_count;
    out->read_only = dev->read_only;
    out->read = io_read;
    out->write = io_write;
    out->flush = io_flush;
}
