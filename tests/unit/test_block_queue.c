/* The generic block queue: checks, splitting to device limits, queue depth, removal, the
 * synchronous wrappers with bounce buffers, naming and partitions as devices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "block_fakes.h"

#include <rayos/block.h>
#include <host_shim.h>
#include <rayos/errno.h>
#include <rayos/partition.h>
#include <rayos/string.h>

#include <time.h>

#define DISK_BLOCKS 256
#define MAX_SEEN    64

/* A RAM disk driver that records what reached it and completes now or when told. */
struct fake_disk {
    struct block_device *dev;
    uint8_t *data;
    bool deferred;  /* hold requests until fake_complete_all */
    bool busy_once; /* answer the next submit with -EBUSY */
    int fail_status;
    unsigned seen_count;
    struct block_request seen[MAX_SEEN];
    struct block_segment seen_segments[MAX_SEEN][16];
    struct block_request *held[MAX_SEEN];
    unsigned held_count;
    bool handed[MAX_SEEN];   /* every segment was handed to the device before submit */
    bool returned[MAX_SEEN]; /* and back to the CPU by blk_request_done */
};

static struct fake_disk disk;

static int execute(struct block_request *req)
{
    if (disk.fail_status)
        return disk.fail_status;
    uint64_t offset = req->lba * disk.dev->logical_block_size;
    for (unsigned i = 0; i < req->segment_count; i++) {
        struct block_segment *seg = &req->segments[i];
        /* The bus address is what the device uses. */
        void *memory = (void *)(uintptr_t)seg->phys;
        if (req->op == BLOCK_OP_READ)
            memcpy(memory, disk.data + offset, seg->length);
        else if (req->op == BLOCK_OP_WRITE)
            memcpy(disk.data + offset, memory, seg->length);
        offset += seg->length;
    }
    return 0;
}

static enum dma_direction data_direction(const struct block_request *req)
{
    return req->op == BLOCK_OP_READ ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
}

/* Whether every segment of seen request n had the hand-off (to the device or back). */
static bool segments_synced(unsigned n, bool for_device)
{
    for (unsigned i = 0; i < disk.seen[n].segment_count; i++) {
        const struct block_segment *seg = &disk.seen_segments[n][i];
        if (!fake_dma_synced(seg->phys, seg->length, data_direction(&disk.seen[n]), for_device))
            return false;
    }
    return true;
}

static int fake_submit(struct block_device *dev, struct block_request *req)
{
    (void)dev;
    if (disk.busy_once) {
        disk.busy_once = false;
        return -EBUSY;
    }
    assert_true(disk.seen_count < MAX_SEEN);
    unsigned n = disk.seen_count++;
    disk.seen[n] = *req;
    assert_true(req->segment_count <= 16);
    memcpy(disk.seen_segments[n], req->segments, req->segment_count * sizeof(*req->segments));
    disk.handed[n] = segments_synced(n, true) && !segments_synced(n, false);
    if (disk.deferred) {
        disk.held[disk.held_count++] = req;
        return 0;
    }
    fake_dma_sync_count = 0;
    blk_request_done(req, execute(req));
    disk.returned[n] = segments_synced(n, false);
    fake_dma_sync_count = 0;
    return 0;
}

static void fake_complete_first(int status)
{
    assert_true(disk.held_count > 0);
    struct block_request *req = disk.held[0];
    memmove(disk.held, disk.held + 1, --disk.held_count * sizeof(disk.held[0]));
    blk_request_done(req, status ? status : execute(req));
}

static unsigned timeouts;

/* What a driver does on a timeout: fail everything it holds (after resetting its device). */
static void fake_reset(struct block_device *dev, int status)
{
    (void)dev;
    timeouts++;
    while (disk.held_count)
        fake_complete_first(status);
}

static const struct block_driver_ops fake_ops = {.submit = fake_submit, .reset = fake_reset};

/* The fake disk as a registered block device with hw_queues hardware queues. */
static struct block_device *register_fake_disk(unsigned hw_queues)
{
    struct block_device *dev = block_device_alloc();
    dev->block_count = DISK_BLOCKS;
    dev->ops = &fake_ops;
    dev->driver_name = "fake";
    dev->limits = (struct block_limits){
        .max_segments = 4, .max_segment_size = 4096, .max_transfer = 8192, .queue_depth = 2};
    dev->hw_queue_count = hw_queues;
    assert_int_equal(block_device_register(dev, NULL, "vd"), 0);
    return dev;
}

static int setup(void **state)
{
    (void)state;
    memset(&disk, 0, sizeof(disk));
    disk.data = calloc(DISK_BLOCKS, 512);
    for (unsigned i = 0; i < DISK_BLOCKS * 512; i++)
        disk.data[i] = (uint8_t)(i / 512 + i % 7);
    disk.dev = register_fake_disk(1);
    fake_dma_mappable = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    device_unregister(&disk.dev->dev);
    device_put(&disk.dev->dev);
    free(disk.data);
    assert_int_equal(fake_dma_allocations, 0);
    return 0;
}

struct completion {
    int calls;
    int status;
};

static void record_completion(struct block_request *req, int status)
{
    struct completion *c = req->context;
    c->calls++;
    c->status = status;
}

static struct block_request make_request(enum block_op op, uint64_t lba,
                                         struct block_segment *segments, unsigned count,
                                         struct completion *c)
{
    return (struct block_request){.op = op,
                                  .lba = lba,
                                  .segments = segments,
                                  .segment_count = count,
                                  .complete = record_completion,
                                  .context = c,
                                  .device = disk.dev};
}

static struct block_segment segment(void *buffer, uint32_t length)
{
    return (struct block_segment){buffer, (uintptr_t)buffer, length};
}

static void test_request_within_limits_goes_through_whole(void **state)
{
    (void)state;
    uint8_t buffer[2048];
    struct block_segment seg = segment(buffer, sizeof(buffer));
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_READ, 10, &seg, 1, &c);
    assert_int_equal(blk_submit(&req), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.status, 0);
    assert_int_equal(disk.seen_count, 1);
    assert_ptr_equal(disk.seen[0].segments, &seg);
    assert_memory_equal(buffer, disk.data + 10 * 512, sizeof(buffer));
}

static void test_split_by_transfer_size(void **state)
{
    (void)state;
    static uint8_t buffer[20 * 512];
    struct block_segment seg = segment(buffer, sizeof(buffer));
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_READ, 100, &seg, 1, &c);
    assert_int_equal(blk_submit(&req), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.status, 0);
    /* 10 KiB with 8 KiB transfers and 4 KiB segments: 2 pieces of (4K,4K) and (2K). */
    assert_int_equal(disk.seen_count, 2);
    assert_int_equal(disk.seen[0].lba, 100);
    assert_int_equal(disk.seen[0].segment_count, 2);
    assert_int_equal(disk.seen_segments[0][0].length, 4096);
    assert_int_equal(disk.seen_segments[0][1].phys, (uintptr_t)buffer + 4096);
    assert_int_equal(disk.seen[1].lba, 116);
    assert_int_equal(disk.seen[1].segment_count, 1);
    assert_int_equal(disk.seen_segments[1][0].length, 4 * 512);
    assert_memory_equal(buffer, disk.data + 100 * 512, sizeof(buffer));
}

static void test_split_by_segment_count_on_block_boundary(void **state)
{
    (void)state;
    /* Six 256-byte scraps and one 1 KiB piece: four scraps are 1024 bytes = 2 blocks. */
    static uint8_t buffers[7][1024];
    struct block_segment segs[7];
    for (int i = 0; i < 6; i++)
        segs[i] = segment(buffers[i], 256);
    segs[6] = segment(buffers[6], 1024);
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_WRITE, 0, segs, 7, &c);
    for (int i = 0; i < 7; i++)
        memset(buffers[i], 0xa0 + i, sizeof(buffers[i]));
    assert_int_equal(blk_submit(&req), 0);
    assert_int_equal(c.status, 0);
    assert_int_equal(disk.seen_count, 2);
    assert_int_equal(disk.seen[0].segment_count, 4);
    assert_int_equal(disk.seen[1].lba, 2);
    assert_int_equal(disk.seen[1].segment_count, 3);
    for (int i = 0; i < 6; i++)
        assert_int_equal(disk.data[i * 256], 0xa0 + i);
    assert_int_equal(disk.data[3 * 512 + 1023 - 512], 0xa6);
}

static void test_split_cuts_inside_a_segment(void **state)
{
    (void)state;
    /* 3 x 600 bytes = 1800: the first piece of 4 segments would be 1800, trimmed to 1536. */
    struct block_limits limits = {
        .max_segments = 2, .max_segment_size = 4096, .max_transfer = 4096, .queue_depth = 1};
    static uint8_t buffer[3 * 600 + 248];
    struct block_segment segs[4] = {segment(buffer, 600), segment(buffer + 600, 600),
                                    segment(buffer + 1200, 600), segment(buffer + 1800, 248)};
    struct block_request req = {.segments = segs, .segment_count = 4};
    struct block_segment pieces[2];
    uint32_t bytes;
    assert_int_equal(blk_split_next(&req, &limits, 512, 0, pieces, &bytes), 2);
    assert_int_equal(bytes, 1024);
    assert_int_equal(pieces[1].length, 424);
    assert_int_equal(blk_split_next(&req, &limits, 512, 1024, pieces, &bytes), 2);
    assert_int_equal(bytes, 512);
    assert_int_equal(pieces[0].phys, (uintptr_t)buffer + 1024);
    assert_int_equal(pieces[0].length, 176);
    assert_int_equal(pieces[1].length, 336);
    assert_int_equal(blk_split_next(&req, &limits, 512, 1536, pieces, &bytes), 2);
    assert_int_equal(bytes, 512);
    assert_int_equal(pieces[1].phys, (uintptr_t)buffer + 1800);
    assert_int_equal(blk_split_next(&req, &limits, 512, 2048, pieces, &bytes), 0);
    /* Limits that cannot hold one block. */
    struct block_limits tiny = {
        .max_segments = 1, .max_segment_size = 256, .max_transfer = 4096, .queue_depth = 1};
    assert_int_equal(blk_split_next(&req, &tiny, 512, 0, pieces, &bytes), -EINVAL);
}

static void test_errors(void **state)
{
    (void)state;
    uint8_t buffer[1024];
    struct block_segment seg = segment(buffer, 1024);
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_READ, DISK_BLOCKS - 1, &seg, 1, &c);
    assert_int_equal(blk_submit(&req), -EINVAL); /* runs past the end */
    req.lba = UINT64_MAX;
    assert_int_equal(blk_submit(&req), -EINVAL);
    seg.length = 700;
    req.lba = 0;
    assert_int_equal(blk_submit(&req), -EINVAL); /* not whole blocks */
    seg.length = 512;
    disk.dev->read_only = true;
    req.op = BLOCK_OP_WRITE;
    assert_int_equal(blk_submit(&req), -EROFS);
    assert_int_equal(blk_write(disk.dev, 0, 1, buffer), -EROFS);
    disk.dev->read_only = false;
    req.op = BLOCK_OP_DISCARD;
    req.block_count = 1;
    assert_int_equal(blk_submit(&req), -EOPNOTSUPP);
    assert_int_equal(disk.seen_count, 0);
    assert_int_equal(c.calls, 0);

    disk.fail_status = -EIO;
    assert_int_equal(blk_read(disk.dev, 0, 1, buffer), -EIO);
    /* A failure in one piece of a split request fails the whole request. */
    static uint8_t big[32 * 512];
    assert_int_equal(blk_read(disk.dev, 0, 32, big), -EIO);
    disk.fail_status = 0;
    assert_int_equal(blk_read(disk.dev, 0, 32, big), 0);
    /* A flush on a device without a volatile cache succeeds at once. */
    assert_int_equal(blk_flush(disk.dev), 0);
}

static void test_queue_depth_and_busy_retry(void **state)
{
    (void)state;
    disk.deferred = true;
    uint8_t buffers[5][512];
    struct block_segment segs[5];
    struct block_request reqs[5];
    struct completion c[5] = {{0}};
    for (int i = 0; i < 5; i++) {
        segs[i] = segment(buffers[i], 512);
        reqs[i] = make_request(BLOCK_OP_READ, (uint64_t)i, &segs[i], 1, &c[i]);
        assert_int_equal(blk_submit(&reqs[i]), 0);
    }
    assert_int_equal(disk.seen_count, 2); /* queue depth */
    assert_int_equal(disk.dev->hw_queues[0].in_flight, 2);
    disk.busy_once = true;
    fake_complete_first(0); /* the third is refused once (-EBUSY) and waits */
    assert_int_equal(c[0].calls, 1);
    assert_int_equal(disk.seen_count, 2);
    fake_complete_first(-EIO); /* frees room: the third and fourth start */
    assert_int_equal(c[1].status, -EIO);
    assert_int_equal(disk.seen_count, 4);
    while (disk.held_count)
        fake_complete_first(0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(c[i].calls, 1);
    assert_memory_equal(buffers[4], disk.data + 4 * 512, 512);
    assert_int_equal(disk.dev->hw_queues[0].in_flight, 0);
    disk.deferred = false;
}

/* Two hardware queues: each CPU submits to its own, depth and busy retries are per queue, and
 * the statistics add up. */
static void test_hardware_queue_per_cpu(void **state)
{
    (void)state;
    device_unregister(&disk.dev->dev);
    device_put(&disk.dev->dev);
    struct block_device *dev = register_fake_disk(2);
    disk.dev = dev;
    host_online_cpus = 2;
    assert_int_equal(blk_hw_queue_cpu(1), 1);
    assert_int_equal(blk_hw_queue_cpu(2), 0); /* no such CPU: the boot CPU */

    disk.deferred = true;
    uint8_t buffers[6][512];
    struct block_segment segs[6];
    struct block_request reqs[6];
    struct completion c[6] = {{0}};
    for (int i = 0; i < 6; i++) {
        host_cpu = (unsigned)(i % 2); /* CPUs 0, 1, 0, 1, ... */
        segs[i] = segment(buffers[i], 512);
        reqs[i] = make_request(BLOCK_OP_READ, (uint64_t)i, &segs[i], 1, &c[i]);
        assert_int_equal(blk_submit(&reqs[i]), 0);
        assert_int_equal(reqs[i].hw_queue->index, (unsigned)(i % 2));
    }
    host_cpu = 0;
    /* Depth 2 on each queue: four started, one waits on each queue. */
    assert_int_equal(disk.seen_count, 4);
    assert_int_equal(dev->hw_queues[0].in_flight, 2);
    assert_int_equal(dev->hw_queues[1].in_flight, 2);
    struct block_queue_stats stats;
    blk_queue_stats(dev, &stats);
    assert_int_equal(stats.in_flight, 4);
    /* Completing one of CPU 1's requests (held[1] is reqs[1]) starts CPU 1's waiting one. */
    struct block_request *second = disk.held[1];
    assert_ptr_equal(second, &reqs[1]);
    memmove(disk.held + 1, disk.held + 2, (--disk.held_count - 1) * sizeof(disk.held[0]));
    blk_request_done(second, execute(second));
    assert_int_equal(disk.seen_count, 5);
    assert_int_equal(disk.seen[4].lba, 5); /* reqs[5], CPU 1's */
    assert_int_equal(dev->hw_queues[0].in_flight, 2);
    while (disk.held_count)
        fake_complete_first(0);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(c[i].calls, 1);
        assert_memory_equal(buffers[i], disk.data + i * 512, 512);
    }
    blk_queue_stats(dev, &stats);
    assert_int_equal(stats.completed, 6);
    assert_int_equal(stats.in_flight, 0);
    assert_int_equal(dev->hw_queues[1].completed_requests, 3);
    disk.deferred = false;
    host_online_cpus = 1;
}

static void test_removal_fails_pending_and_later_requests(void **state)
{
    (void)state;
    disk.deferred = true;
    uint8_t buffers[3][512];
    struct block_segment segs[3];
    struct block_request reqs[3];
    struct completion c[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        segs[i] = segment(buffers[i], 512);
        reqs[i] = make_request(BLOCK_OP_READ, 0, &segs[i], 1, &c[i]);
        assert_int_equal(blk_submit(&reqs[i]), 0);
    }
    struct block_device *dev = disk.dev;
    device_get(&dev->dev);
    device_unregister(&dev->dev);
    assert_int_equal(c[2].calls, 1);
    assert_int_equal(c[2].status, -ENODEV); /* never started */
    assert_null(block_device_find("vda"));
    assert_int_equal(blk_read(dev, 0, 1, buffers[0]), -ENODEV);
    /* The driver fails what it holds when it goes away. */
    while (disk.held_count)
        fake_complete_first(-ENODEV);
    assert_int_equal(c[0].status, -ENODEV);
    device_put(&dev->dev);
    disk.deferred = false;
}

static void test_bounce_when_not_dma_able(void **state)
{
    (void)state;
    fake_dma_mappable = false;
    static uint8_t buffer[600 * 512];
    assert_int_equal(blk_read(disk.dev, 3, 200, buffer), 0);
    assert_memory_equal(buffer, disk.data + 3 * 512, 200 * 512);
    /* The device only ever saw bounce memory. */
    for (unsigned i = 0; i < disk.seen_count; i++)
        assert_true(disk.seen_segments[i][0].phys < (uintptr_t)buffer ||
                    disk.seen_segments[i][0].phys >= (uintptr_t)buffer + sizeof(buffer));
    memset(buffer, 0x5c, 512 * 3);
    assert_int_equal(blk_write(disk.dev, 250, 3, buffer), 0);
    assert_int_equal(disk.data[250 * 512], 0x5c);
    assert_int_equal(disk.data[253 * 512 - 1], 0x5c);
    fake_dma_mappable = true;
}

/* Data segments, bounce buffers included, belong to the device from submit to completion. */
static void test_data_is_handed_to_the_device_and_back(void **state)
{
    (void)state;
    static uint8_t buffer[16 * 512];
    fake_dma_sync_count = 0;
    fake_dma_mappable = false; /* through a bounce buffer */
    assert_int_equal(blk_read(disk.dev, 3, 16, buffer), 0);
    assert_int_equal(blk_write(disk.dev, 30, 16, buffer), 0);
    fake_dma_mappable = true; /* in place */
    assert_int_equal(blk_read(disk.dev, 3, 16, buffer), 0);
    assert_int_equal(blk_write(disk.dev, 50, 16, buffer), 0);
    assert_int_equal(disk.seen_count, 4); /* 8 KiB, one request each */
    for (unsigned i = 0; i < disk.seen_count; i++) {
        assert_true(disk.seen[i].segment_count > 0);
        assert_true(disk.handed[i]);
        assert_true(disk.returned[i]);
    }
}

static void test_page_wise_mapping_without_bounce(void **state)
{
    (void)state;
    fake_dma_page_at_a_time = true;
    static uint8_t buffer[5 * 4096] __attribute__((aligned(4096)));
    /* Starts mid-page: pieces of 3584, 4096, 4096, 512 bytes, merged back into one segment
     * because the fake's pages are physically adjacent. */
    uint8_t *start = buffer + 512;
    assert_int_equal(blk_read(disk.dev, 40, 24, start), 0);
    assert_memory_equal(start, disk.data + 40 * 512, 24 * 512);
    assert_int_equal(disk.seen_count, 2); /* split only by the 8 KiB transfer limit */
    assert_int_equal(disk.seen_segments[0][0].phys, (uintptr_t)start);
    assert_int_equal(fake_dma_allocations, 0); /* no bounce buffer */
    fake_dma_page_at_a_time = false;
}

static void test_names_and_lookup(void **state)
{
    (void)state;
    struct block_device *second = block_device_alloc();
    second->block_count = 8;
    second->ops = &fake_ops;
    assert_int_equal(block_device_register(second, NULL, "vd"), 0);
    assert_string_equal(second->dev.name, "vdb");
    struct block_device *found = block_device_find("vdb");
    assert_ptr_equal(found, second);
    device_put(&found->dev);
    struct block_device *bad = block_device_alloc();
    bad->logical_block_size = 1000;
    bad->ops = &fake_ops;
    assert_int_equal(block_device_register(bad, NULL, "vd"), -EINVAL);
    device_put(&bad->dev);
    device_unregister(&second->dev);
    device_put(&second->dev);

    char text[16];
    block_format_size(512, text, sizeof(text));
    assert_string_equal(text, "512B");
    block_format_size(3 * GiB / 2, text, sizeof(text));
    assert_string_equal(text, "1.5G");
    block_format_size(64 * MiB, text, sizeof(text));
    assert_string_equal(text, "64M");
}

/* The partition table parser belongs to fs work; here a fixed table stands in for it. */
int partition_table_read(const struct block_io *io, struct partition_table *table)
{
    uint8_t first[512];
    int status = block_io_read(io, 0, 1, first);
    if (status < 0)
        return status;
    memset(table, 0, sizeof(*table));
    table->scheme = PARTITION_SCHEME_MBR;
    table->count = 3;
    table->entries[0] =
        (struct partition){.number = 1, .start_lba = 16, .block_count = 32, .mbr_type = 0x0c};
    table->entries[1] = (struct partition){.number = 2, .start_lba = 64, .block_count = 100};
    /* Lies past the end of the disk: must be ignored. */
    table->entries[2] = (struct partition){.number = 5, .start_lba = 200, .block_count = 100};
    return 0;
}

const char *partition_type_name(const struct partition *partition)
{
    return partition->mbr_type == 0x0c ? "W95 FAT32 (LBA)" : "Linux";
}

void partition_uuid(const struct partition_table *table, const struct partition *partition,
                    char out[PARTITION_UUID_SIZE])
{
    snprintf(out, PARTITION_UUID_SIZE, "00000000-%02x", partition->number);
}

static void test_partitions_are_bounded_devices(void **state)
{
    (void)state;
    assert_int_equal(block_device_scan_partitions(disk.dev), 2);
    struct block_device *part = block_device_find("vda1");
    assert_non_null(part);
    assert_int_equal(part->type, BLOCK_TYPE_PARTITION);
    assert_int_equal(part->block_count, 32);
    assert_string_equal(part->partition_type, "W95 FAT32 (LBA)");
    assert_null(block_device_find("vda5"));

    uint8_t buffer[1024];
    assert_int_equal(blk_read(part, 0, 2, buffer), 0);
    assert_memory_equal(buffer, disk.data + 16 * 512, 1024);
    assert_int_equal(blk_read(part, 31, 2, buffer), -EINVAL); /* would leave the partition */
    memset(buffer, 0xee, sizeof(buffer));
    assert_int_equal(blk_write(part, 31, 1, buffer), 0);
    assert_int_equal(disk.data[47 * 512], 0xee);
    assert_int_equal(disk.data[48 * 512], (uint8_t)(48 + (48 * 512) % 7)); /* untouched */

    /* Removing the disk removes its partitions. */
    device_unregister(&disk.dev->dev);
    assert_null(block_device_find("vda2"));
    assert_int_equal(blk_read(part, 0, 1, buffer), -ENODEV);
    device_put(&part->dev);
}

/* A claimed device makes its whole disk busy: itself, its disk, the disk's other partitions;
 * another disk stays free, and the last unclaim frees them all. */
static void test_claims_make_the_whole_disk_busy(void **state)
{
    (void)state;
    assert_int_equal(block_device_scan_partitions(disk.dev), 2);
    struct block_device *other = block_device_alloc();
    other->block_count = 8;
    other->ops = &fake_ops;
    assert_int_equal(block_device_register(other, NULL, "vd"), 0);
    struct block_device *vda1 = block_device_find("vda1"), *vda2 = block_device_find("vda2");
    assert_non_null(vda1);
    assert_non_null(vda2);
    char why[80] = "untouched";
    assert_false(block_device_busy(disk.dev, why, sizeof(why)));
    assert_false(block_device_busy(vda2, why, sizeof(why)));
    assert_string_equal(why, "untouched");

    block_device_claim(vda1, "is mounted at /");
    block_device_claim(vda1, "backs loop0");
    struct block_device *const busy[] = {vda1, vda2, disk.dev};
    for (unsigned i = 0; i < 3; i++) {
        memset(why, 0, sizeof(why));
        assert_true(block_device_busy(busy[i], why, sizeof(why)));
        assert_string_equal(why, "vda1 is mounted at /");
    }
    assert_false(block_device_busy(other, why, sizeof(why)));
    block_device_unclaim(vda1, "is mounted at /");
    assert_true(block_device_busy(vda2, why, sizeof(why)));
    assert_string_equal(why, "vda1 backs loop0"); /* what still holds it */
    block_device_unclaim(vda1, "backs loop0");
    assert_false(block_device_busy(vda2, NULL, 0));
    assert_false(block_device_busy(disk.dev, NULL, 0));

    /* A claimed disk makes its partitions busy. */
    block_device_claim(disk.dev, "is mounted at /mnt");
    assert_true(block_device_busy(vda2, why, sizeof(why)));
    assert_string_equal(why, "vda is mounted at /mnt");
    block_device_unclaim(disk.dev, "is mounted at /mnt");

    device_put(&vda1->dev);
    device_put(&vda2->dev);
    device_unregister(&other->dev);
    device_put(&other->dev);
}

/* Disks and partitions are nodes of the device model: a disk under the device whose driver
 * registered it, partitions under their disk.  Taking the controller away (hot-unplug) takes
 * them all, failing what is in flight; unbinding the driver takes its managed disk. */
static int controller_match(struct device *dev, struct driver *drv)
{
    (void)dev;
    (void)drv;
    return 1;
}
static struct bus_type controller_bus = {.name = "test-controller", .match = controller_match};

static int controller_probe(struct device *dev)
{
    struct block_device *managed = devm_block_device_alloc(dev);
    if (!managed)
        return -ENOMEM;
    managed->block_count = 8;
    managed->ops = &fake_ops;
    managed->driver_name = "fake";
    return devm_block_device_register(dev, managed, "vd");
}
static struct driver controller_driver = {
    .name = "fake-controller", .bus = &controller_bus, .probe = controller_probe};

static int count_children(struct device *dev, void *context)
{
    (void)dev;
    (*(unsigned *)context)++;
    return 0;
}

static void test_disks_and_partitions_are_device_tree_nodes(void **state)
{
    (void)state;
    if (!controller_bus.registered)
        assert_int_equal(bus_register(&controller_bus), 0);
    struct device controller = {0};
    device_initialize(&controller, &controller_bus, NULL, "ctrl0");
    assert_int_equal(device_register(&controller), 0);
    device_get(&controller); /* the test's, past unregistration */

    struct block_device *second = block_device_alloc();
    second->block_count = DISK_BLOCKS;
    second->ops = &fake_ops;
    second->driver_name = "fake";
    assert_int_equal(block_device_register(second, &controller, "vd"), 0);
    assert_string_equal(second->dev.name, "vdb");
    assert_string_equal(second->dev.name, "vdb"); /* one name */
    assert_ptr_equal(second->dev.parent, &controller);
    assert_null(block_device_find("ctrl0")); /* a device, but not a block device */
    assert_null(to_block_device(&controller));

    assert_int_equal(block_device_scan_partitions(second), 2);
    struct block_device *part = block_device_find("vdb1");
    assert_non_null(part);
    assert_ptr_equal(part->dev.parent, &second->dev);
    assert_ptr_equal(block_device_disk(part), second);
    assert_int_equal(device_depth(&part->dev), 2);
    unsigned children = 0;
    device_for_each_child(&second->dev, count_children, &children);
    assert_int_equal(children, 2);

    /* A read on the partition is in flight on the disk when the controller goes. */
    disk.deferred = true;
    uint8_t buffer[512];
    struct block_segment seg = segment(buffer, sizeof(buffer));
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_READ, 0, &seg, 1, &c);
    req.device = part;
    assert_int_equal(blk_submit(&req), 0);
    assert_int_equal(disk.held_count, 1);
    device_unregister(&controller);
    assert_true(block_device_removed(second));
    assert_true(block_device_removed(part));
    assert_null(block_device_find("vdb"));
    assert_null(block_device_find("vdb2"));
    assert_int_equal(blk_read(part, 0, 1, buffer), -ENODEV);
    fake_complete_first(-ENODEV); /* the driver fails what it held */
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.status, -ENODEV);
    disk.deferred = false;
    device_put(&part->dev);
    device_put(&second->dev);
    device_put(&controller);

    /* A driver's managed disk goes with the driver; the name is free again. */
    device_initialize(&controller, &controller_bus, NULL, "ctrl0");
    assert_int_equal(driver_register(&controller_driver), 0);
    assert_int_equal(device_register(&controller), 0);
    assert_int_equal(controller.state, DEVICE_BOUND);
    struct block_device *managed = block_device_find("vdb");
    assert_non_null(managed);
    assert_ptr_equal(managed->dev.parent, &controller);
    assert_int_equal(device_unbind(&controller), 0);
    assert_true(block_device_removed(managed));
    assert_null(block_device_find("vdb"));
    device_put(&managed->dev);
    driver_unregister(&controller_driver);
    device_unregister(&controller);
}

static void test_ranges_split_to_device_limits(void **state)
{
    (void)state;
    disk.dev->can_write_zeroes = true;
    disk.dev->limits.max_write_zeroes_blocks = 64;
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_WRITE_ZEROES, 10, NULL, 0, &c);
    req.block_count = 150;
    assert_int_equal(blk_submit(&req), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.status, 0);
    assert_int_equal(disk.seen_count, 3);
    assert_int_equal(disk.seen[0].lba, 10);
    assert_int_equal(disk.seen[0].block_count, 64);
    assert_int_equal(disk.seen[1].lba, 74);
    assert_int_equal(disk.seen[2].lba, 138);
    assert_int_equal(disk.seen[2].block_count, 22);
    req.block_count = DISK_BLOCKS; /* 10 + 256 runs past the end */
    assert_int_equal(blk_submit(&req), -EINVAL);
}

static void test_timeout_calls_the_driver(void **state)
{
    (void)state;
    disk.deferred = true;
    uint8_t buffer[512];
    struct block_segment seg = segment(buffer, 512);
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_READ, 0, &seg, 1, &c);
    disk.dev->timeout_ns = 0;
    assert_int_equal(blk_submit(&req), 0);
    timeouts = 0;
    blk_service(disk.dev); /* no timeout configured: keeps waiting */
    assert_int_equal(timeouts, 0);
    disk.dev->timeout_ns = 1; /* any request is now overdue */
    struct timespec pause = {0, 1000};
    nanosleep(&pause, NULL);
    blk_service(disk.dev);
    assert_int_equal(timeouts, 1);
    assert_int_equal(c.status, -ETIMEDOUT);
    assert_int_equal(disk.dev->hw_queues[0].in_flight, 0);
    disk.deferred = false;
}

/* Nobody waits and nobody polls: the block layer's own timer notices the stuck request, and
 * its work resets the device, which fails the request with -ETIMEDOUT. */
static void test_timeout_fires_with_no_waiter(void **state)
{
    (void)state;
    disk.deferred = true;
    uint8_t buffer[512];
    struct block_segment seg = segment(buffer, 512);
    struct completion c = {0};
    struct block_request req = make_request(BLOCK_OP_READ, 0, &seg, 1, &c);
    disk.dev->timeout_ns = 5 * 1000 * 1000;
    timeouts = 0;
    assert_int_equal(blk_submit(&req), 0);
    host_run_timers();
    assert_int_equal(timeouts, 0); /* not due yet */
    assert_int_equal(disk.dev->hw_queues[0].in_flight, 1);
    struct timespec pause = {0, 12 * 1000 * 1000};
    nanosleep(&pause, NULL);
    assert_true(host_run_timers() >= 1);
    assert_int_equal(timeouts, 1);
    assert_int_equal(c.status, -ETIMEDOUT);
    assert_int_equal(disk.dev->hw_queues[0].in_flight, 0);
    /* Nothing in flight: the timer stays off. */
    nanosleep(&pause, NULL);
    assert_int_equal(host_run_timers(), 0);
    disk.deferred = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_within_limits_goes_through_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_split_by_transfer_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_by_segment_count_on_block_boundary, setup,
                                        teardown),
        cmocka_unit_test(test_split_cuts_inside_a_segment),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_depth_and_busy_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardware_queue_per_cpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removal_fails_pending_and_later_requests, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bounce_when_not_dma_able, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_wise_mapping_without_bounce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_is_handed_to_the_device_and_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_names_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partitions_are_bounded_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_make_the_whole_disk_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disks_and_partitions_are_device_tree_nodes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ranges_split_to_device_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_calls_the_driver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_fires_with_no_waiter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
