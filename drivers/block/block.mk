# Block layer and VirtIO: host unit tests (the kernel build picks up drivers/ by itself).
BLOCK_FAKES := tests/unit/block_fakes.c

UNIT_TESTS += test_virtqueue
test_virtqueue_SRCS := tests/unit/test_virtqueue.c drivers/virtio/virtqueue.c $(BLOCK_FAKES)

BLOCK_CORE_SRCS := drivers/block/blkdev.c drivers/block/queue.c drivers/block/split.c \
                   drivers/block/sync.c drivers/block/bounce.c drivers/block/partdev.c \
                   drivers/block/managed.c drivers/core/device.c drivers/core/devres.c

UNIT_TESTS += test_block_queue
test_block_queue_SRCS := tests/unit/test_block_queue.c $(BLOCK_CORE_SRCS) $(BLOCK_FAKES)

FUZZ_TARGETS += fuzz_virtqueue
fuzz_virtqueue_SRCS := tests/fuzz/fuzz_virtqueue.c drivers/virtio/virtqueue.c $(BLOCK_FAKES)
