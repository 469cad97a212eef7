/* Synchronous block I/O: submit one request and wait for it, sleeping on interrupts once they
 * are on and polling the driver before that. */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/irq.h>

struct sync_wait {
    volatile bool done;
    int status;
};

static void sync_complete(struct block_request *req, int status)
{
    struct sync_wait *wait = req->context;
    wait->status = status;
    wait->done = true;
}

int blk_submit_wait(struct block_request *req)
{
    struct sync_wait wait = {false, 0};
    req->complete = sync_complete;
    req->context = &wait;
    int status = blk_submit(req);
    if (status < 0)
        return status;
    while (!wait.done) {
        blk_service(req->device);
        if (wait.done)
            break;
        if (irq_enabled()) {
            /* Interrupts off between the check and the halt, so a completion cannot slip in
             * unseen; the halt re-enables them atomically. */
            irq_disable();
            if (!wait.done)
                cpu_wait_for_interrupt();
            irq_enable();
        }
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
