/* Caller buffers to DMA segments: used in place when physically contiguous (or page by page),
 * otherwise copied through a bounce buffer from the DMA allocator.  A bounce buffer is a
 * request's segment like any other: the queue hands it to the device at submit and back at
 * completion (<rayos/dma.h>), so the copy in comes before and the copy out after. */
#define pr_fmt(fmt) "blk: " fmt
#include <rayos/block.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define PAGE_SIZE   4096u
#define BOUNCE_SIZE (256u * 1024)

static int run(struct block_device *dev, enum block_op op, uint64_t lba,
               struct block_segment *segments, unsigned count)
{
    struct block_request req = {
        .op = op, .lba = lba, .segments = segments, .segment_count = count, .device = dev};
    return blk_submit_wait(&req);
}

/* Maps the buffer page by page; false when some page is not DMA-able. */
static bool map_pages(void *buf, size_t bytes, struct block_segment *segments, unsigned *count)
{
    unsigned n = 0;
    char *p = buf;
    while (bytes) {
        size_t chunk = MIN(bytes, PAGE_SIZE - ((uintptr_t)p & (PAGE_SIZE - 1)));
        phys_addr_t phys;
        if (!dma_map_buffer(p, chunk, &phys))
            return false;
        if (n && segments[n - 1].phys + segments[n - 1].length == phys)
            segments[n - 1].length += (uint32_t)chunk;
        else
            segments[n++] = (struct block_segment){p, phys, (uint32_t)chunk};
        p += chunk;
        bytes -= chunk;
    }
    *count = n;
    return true;
}

static int bounce(struct block_device *dev, enum block_op op, uint64_t lba, uint32_t count,
                  char *buf)
{
    uint32_t block_size = dev->logical_block_size;
    size_t size = MAX(BOUNCE_SIZE / block_size, 1u) * block_size;
    size = MIN(size, (size_t)count * block_size);
    phys_addr_t phys;
    char *bounce_buf = dma_alloc(size, PAGE_SIZE, &phys);
    if (!bounce_buf) {
        pr_err("%s: no memory for a %zu-byte bounce buffer\n", dev->dev.name, size);
        return -ENOMEM;
    }
    int status = 0;
    while (count && status == 0) {
        uint32_t blocks = (uint32_t)MIN((size_t)count, size / block_size);
        size_t bytes = (size_t)blocks * block_size;
        struct block_segment segment = {bounce_buf, phys, (uint32_t)bytes};
        if (op == BLOCK_OP_WRITE)
            memcpy(bounce_buf, buf, bytes);
        status = run(dev, op, lba, &segment, 1);
        if (status == 0 && op == BLOCK_OP_READ)
            memcpy(buf, bounce_buf, bytes);
        buf += bytes;
        lba += blocks;
        count -= blocks;
    }
    dma_free(bounce_buf, size);
    return status;
}

static int transfer(struct block_device *dev, enum block_op op, uint64_t lba, uint32_t count,
                    void *buf)
{
    if (count == 0)
        return -EINVAL;
    uint64_t bytes64 = (uint64_t)count * dev->logical_block_size;
    if (bytes64 > UINT32_MAX)
        return -EINVAL;
    size_t bytes = (size_t)bytes64;
    phys_addr_t phys;
    if (dma_map_buffer(buf, bytes, &phys)) {
        struct block_segment segment = {buf, phys, (uint32_t)bytes};
        return run(dev, op, lba, &segment, 1);
    }
    unsigned max_pages = (unsigned)(bytes / PAGE_SIZE + 2);
    struct block_segment *segments = kcalloc(max_pages, sizeof(*segments));
    if (!segments)
        return -ENOMEM;
    unsigned segment_count;
    int status;
    if (map_pages(buf, bytes, segments, &segment_count))
        status = run(dev, op, lba, segments, segment_count);
    else
        status = bounce(dev, op, lba, count, buf);
    kfree(segments);
    return status;
}

int blk_read(struct block_device *dev, uint64_t lba, uint32_t count, void *buf)
{
    return transfer(dev, BLOCK_OP_READ, lba, count, buf);
}

int blk_write(struct block_device *dev, uint64_t lba, uint32_t count, const void *buf)
{
    return transfer(dev, BLOCK_OP_WRITE, lba, count, (void *)buf);
}
