/* Synchronous block I/O: submit one request and sleep until its completion wakes us.  Every
 * timer tick the waiter also services the device (polled drivers, stalled queues, timeouts). */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/timer.h>
#include <rayos/wait.h>

/* On the waiter's stack: the completion's own locking guarantees the completing CPU is done
 * with it once the wait has consumed it. */
struct sync_wait {
    struct completion done;
    int status;
};

static void sync_complete(struct block_request *req, int status)
{
    struct sync_wait *wait = req->context;
    wait->status = status;
    complete(&wait->done);
}

int blk_submit_wait(struct block_request *req)
{
    struct sync_wait wait = {COMPLETION_INIT("blk sync wait"), 0};
    req->complete = sync_complete;
    req->context = &wait;
    int status = blk_submit(req);
    if (status < 0)
        return status;
    for (;;) {
        blk_service(req->device);
        if (wait_for_completion_timeout(&wait.done, TIMER_TICK_NS))
            break;
    }
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
