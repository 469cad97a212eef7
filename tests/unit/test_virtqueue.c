/* The split virtqueue against a simulated device that walks the rings like QEMU would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "block_fakes.h"

#include <rayos/errno.h>
#include <rayos/string.h>
#include <rayos/virtio.h>

/* What the simulated device saw of one chain. */
struct seen_chain {
    uint16_t head;
    unsigned count;
    struct virtq_desc buffers[16];
};

struct sim {
    struct virtqueue *vq;
    uint16_t seen_avail;
    unsigned notifications;
};

static struct sim sim;

static void sim_notify(struct virtqueue *vq)
{
    (void)vq;
    sim.notifications++;
}

/* Fetches the next available chain, following NEXT links and indirect tables. */
static bool sim_fetch(struct seen_chain *chain)
{
    struct virtqueue *vq = sim.vq;
    if (sim.seen_avail == vq->avail->idx)
        return false;
    uint16_t head = vq->avail->ring[sim.seen_avail++ & (vq->size - 1)];
    chain->head = head;
    chain->count = 0;
    struct virtq_desc *desc = &vq->desc[head];
    if (desc->flags & VIRTQ_DESC_F_INDIRECT) {
        struct virtq_desc *table = (struct virtq_desc *)(uintptr_t)desc->addr;
        unsigned n = desc->len / sizeof(struct virtq_desc);
        assert_true(n <= 16);
        for (unsigned i = 0; i < n; i++) {
            chain->buffers[chain->count++] = table[i];
            if (!(table[i].flags & VIRTQ_DESC_F_NEXT))
                break;
        }
        return true;
    }
    for (unsigned guard = 0; guard < vq->size; guard++) {
        chain->buffers[chain->count++] = *desc;
        if (!(desc->flags & VIRTQ_DESC_F_NEXT))
            break;
        desc = &vq->desc[desc->next];
    }
    return true;
}

static void sim_complete(uint32_t id, uint32_t length)
{
    struct virtqueue *vq = sim.vq;
    vq->used->ring[vq->used->idx & (vq->size - 1)] = (struct virtq_used_elem){id, length};
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->used->idx++;
}

static struct virtqueue *make_queue(uint16_t size, unsigned indirect, bool event_idx)
{
    static struct virtqueue vq;
    assert_int_equal(virtqueue_create(&vq, 0, size, 4096, indirect, event_idx), 0);
    vq.notify = sim_notify;
    memset(&sim, 0, sizeof(sim));
    sim.vq = &vq;
    return &vq;
}

static void test_add_and_complete(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, false);
    uint8_t header[16], data[512], status = 0xff;
    struct virtq_buffer buffers[3] = {{(uintptr_t)header, sizeof(header)},
                                      {(uintptr_t)data, sizeof(data)},
                                      {(uintptr_t)&status, 1}};
    int token;
    assert_int_equal(virtqueue_add(vq, buffers, 1, 2, &token), 0);
    assert_int_equal(vq->free_count, 5);
    virtqueue_kick(vq);
    assert_int_equal(sim.notifications, 1);

    struct seen_chain chain;
    assert_true(sim_fetch(&chain));
    assert_int_equal(chain.count, 3);
    assert_int_equal(chain.buffers[0].flags & VIRTQ_DESC_F_WRITE, 0);
    assert_int_equal(chain.buffers[0].len, 16);
    assert_true(chain.buffers[1].flags & VIRTQ_DESC_F_WRITE);
    assert_int_equal(chain.buffers[1].len, 512);
    assert_true(chain.buffers[2].flags & VIRTQ_DESC_F_WRITE);
    assert_int_equal(chain.buffers[2].flags & VIRTQ_DESC_F_NEXT, 0);
    assert_false(sim_fetch(&chain));

    assert_null(virtqueue_get_used(vq, NULL));
    sim_complete(chain.head, 513);
    uint32_t length = 0;
    assert_ptr_equal(virtqueue_get_used(vq, &length), &token);
    assert_int_equal(length, 513);
    assert_int_equal(vq->free_count, 8);
    assert_null(virtqueue_get_used(vq, NULL));
    virtqueue_destroy(vq);
    assert_int_equal(fake_dma_allocations, 0);
}

/* What the device reads is handed to it after it is written; what the device writes is taken
 * back before it is read (<rayos/dma.h>). */
static void test_ring_hand_offs(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, true);
    uint8_t data[32];
    struct virtq_buffer buffers[2] = {{(uintptr_t)data, 16}, {(uintptr_t)(data + 16), 16}};
    int token;
    fake_dma_sync_count = 0;
    assert_int_equal(virtqueue_add(vq, buffers, 1, 1, &token), 0);
    /* Descriptors 0 and 1, avail ring entry 0, avail idx. */
    assert_true(fake_dma_synced(vq->desc_phys, 16, DMA_TO_DEVICE, true));
    assert_true(fake_dma_synced(vq->desc_phys + 16, 16, DMA_TO_DEVICE, true));
    assert_true(fake_dma_synced(vq->avail_phys + 4, 2, DMA_TO_DEVICE, true));
    assert_true(fake_dma_synced(vq->avail_phys + 2, 2, DMA_TO_DEVICE, true));
    /* The kick decision reads avail_event, after the used ring's 8 entries. */
    fake_dma_sync_count = 0;
    virtqueue_kick(vq);
    assert_true(fake_dma_synced(vq->used_phys + 4 + 8 * 8, 2, DMA_FROM_DEVICE, false));

    struct seen_chain chain;
    assert_true(sim_fetch(&chain));
    sim_complete(chain.head, 16);
    fake_dma_sync_count = 0;
    assert_ptr_equal(virtqueue_get_used(vq, NULL), &token);
    /* Used idx and entry 0 taken back; used_event (after the avail ring's 8 entries) given. */
    assert_true(fake_dma_synced(vq->used_phys + 2, 2, DMA_FROM_DEVICE, false));
    assert_true(fake_dma_synced(vq->used_phys + 4, 8, DMA_FROM_DEVICE, false));
    assert_true(fake_dma_synced(vq->avail_phys + 4 + 2 * 8, 2, DMA_TO_DEVICE, true));
    virtqueue_destroy(vq);
}

static void test_out_of_order_completion(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(16, 0, false);
    uint8_t buffer[64];
    struct virtq_buffer pair[2] = {{(uintptr_t)buffer, 16}, {(uintptr_t)buffer + 16, 1}};
    int tokens[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(virtqueue_add(vq, pair, 1, 1, &tokens[i]), 0);
    virtqueue_kick(vq);
    struct seen_chain chains[5];
    for (int i = 0; i < 5; i++)
        assert_true(sim_fetch(&chains[i]));
    const int order[5] = {3, 0, 4, 2, 1};
    for (int i = 0; i < 5; i++)
        sim_complete(chains[order[i]].head, 1);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(virtqueue_get_used(vq, NULL), &tokens[order[i]]);
    assert_int_equal(vq->free_count, 16);
    /* The recycled descriptors form valid chains again. */
    for (int i = 0; i < 8; i++)
        assert_int_equal(virtqueue_add(vq, pair, 1, 1, &tokens[0]), 0);
    assert_int_equal(virtqueue_add(vq, pair, 1, 1, &tokens[0]), -ENOSPC);
    virtqueue_destroy(vq);
}

static void test_ring_wraps_around(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(4, 0, false);
    uint8_t data[4][8];
    int tokens[2];
    /* More than 65536 chains: both the ring positions and the 16-bit indices wrap. */
    for (unsigned round = 0; round < 70000; round++) {
        for (int k = 0; k < 2; k++) {
            struct virtq_buffer buffers[2] = {{(uintptr_t)data[2 * k], 8},
                                              {(uintptr_t)data[2 * k + 1], 8}};
            assert_int_equal(virtqueue_add(vq, buffers, 1, 1, &tokens[k]), 0);
        }
        virtqueue_kick(vq);
        struct seen_chain first, second;
        assert_true(sim_fetch(&first));
        assert_true(sim_fetch(&second));
        /* The device writes a round-specific byte into the in-buffer it was given. */
        uint8_t *in = (uint8_t *)(uintptr_t)second.buffers[1].addr;
        in[0] = (uint8_t)round;
        sim_complete(second.head, 8);
        sim_complete(first.head, 8);
        assert_ptr_equal(virtqueue_get_used(vq, NULL), &tokens[1]);
        assert_ptr_equal(virtqueue_get_used(vq, NULL), &tokens[0]);
        assert_int_equal(data[3][0], (uint8_t)round);
        assert_int_equal(vq->free_count, 4);
    }
    assert_int_equal(vq->avail_idx, (uint16_t)(70000 * 2));
    virtqueue_destroy(vq);
}

static void test_indirect_descriptors(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(4, 8, false);
    uint8_t data[8][32];
    struct virtq_buffer buffers[6];
    for (int i = 0; i < 6; i++)
        buffers[i] = (struct virtq_buffer){(uintptr_t)data[i], 32};
    int tokens[4];
    /* Six buffers per chain in a four-entry ring: only possible through indirect tables. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(virtqueue_add(vq, buffers, 1, 5, &tokens[i]), 0);
    assert_int_equal(virtqueue_add(vq, buffers, 1, 5, &tokens[0]), -ENOSPC);
    virtqueue_kick(vq);
    struct seen_chain chain;
    for (int i = 0; i < 4; i++) {
        assert_true(sim_fetch(&chain));
        assert_int_equal(chain.count, 6);
        assert_int_equal(chain.buffers[0].flags & VIRTQ_DESC_F_WRITE, 0);
        assert_true(chain.buffers[5].flags & VIRTQ_DESC_F_WRITE);
        assert_int_equal(chain.buffers[5].addr, (uintptr_t)data[5]);
        sim_complete(chain.head, 0);
    }
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(virtqueue_get_used(vq, NULL), &tokens[i]);
    /* Longer than a table and than the ring: never possible. */
    struct virtq_buffer many[9];
    for (int i = 0; i < 9; i++)
        many[i] = buffers[0];
    assert_int_equal(virtqueue_add(vq, many, 1, 8, &tokens[0]), -EINVAL);
    virtqueue_destroy(vq);
}

static void test_bogus_used_index_breaks_queue(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, false);
    uint8_t data[8];
    struct virtq_buffer buffer = {(uintptr_t)data, 8};
    int token;
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    virtqueue_kick(vq);
    /* One chain in flight but the device claims five completions. */
    vq->used->idx = 5;
    assert_null(virtqueue_get_used(vq, NULL));
    assert_true(vq->broken);
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), -EIO);
    /* A reset (what the driver does after resetting the device) recovers. */
    virtqueue_reset(vq);
    assert_false(vq->broken);
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    virtqueue_destroy(vq);
}

static void test_bogus_used_id_is_rejected(void **state)
{
    (void)state;
    const uint32_t bad_ids[] = {8, 0xffffffffu, 1 /* inside a chain, not its head */};
    for (unsigned t = 0; t < ARRAY_SIZE(bad_ids); t++) {
        struct virtqueue *vq = make_queue(8, 0, false);
        uint8_t data[8];
        struct virtq_buffer buffers[2] = {{(uintptr_t)data, 4}, {(uintptr_t)data + 4, 4}};
        int token;
        assert_int_equal(virtqueue_add(vq, buffers, 1, 1, &token), 0);
        virtqueue_kick(vq);
        sim_complete(bad_ids[t], 0);
        assert_null(virtqueue_get_used(vq, NULL));
        assert_true(vq->broken);
        virtqueue_destroy(vq);
    }
    /* The same head completed twice. */
    struct virtqueue *vq = make_queue(8, 0, false);
    uint8_t data[8];
    struct virtq_buffer buffer = {(uintptr_t)data, 8};
    int tokens[2];
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &tokens[0]), 0);
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &tokens[1]), 0);
    struct seen_chain chain;
    assert_true(sim_fetch(&chain));
    sim_complete(chain.head, 8);
    sim_complete(chain.head, 8);
    assert_ptr_equal(virtqueue_get_used(vq, NULL), &tokens[0]);
    assert_null(virtqueue_get_used(vq, NULL));
    assert_true(vq->broken);
    virtqueue_destroy(vq);
}

static void test_notification_suppression(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, false);
    uint8_t data[8];
    struct virtq_buffer buffer = {(uintptr_t)data, 8};
    int token;
    assert_false(virtqueue_kick_prepare(vq)); /* nothing new */
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    vq->used->flags = VIRTQ_USED_F_NO_NOTIFY;
    assert_false(virtqueue_kick_prepare(vq));
    vq->used->flags = 0;
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    assert_true(virtqueue_kick_prepare(vq));
    virtqueue_destroy(vq);
}

static void test_event_idx(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, true);
    uint8_t data[8];
    struct virtq_buffer buffer = {(uintptr_t)data, 8};
    int token;
    uint16_t *avail_event = (uint16_t *)&vq->used->ring[8];
    uint16_t *used_event = &vq->avail->ring[8];
    /* The device asks to be told when index 0 is passed: adding the first chain crosses it. */
    *avail_event = 0;
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    assert_true(virtqueue_kick_prepare(vq));
    /* The device is still busy and wants no kick until index 5. */
    *avail_event = 5;
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    assert_false(virtqueue_kick_prepare(vq));
    for (int i = 0; i < 4; i++)
        assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    assert_true(virtqueue_kick_prepare(vq)); /* avail went 2 -> 6, passing 5 */

    struct seen_chain chain;
    assert_true(sim_fetch(&chain));
    sim_complete(chain.head, 8);
    assert_non_null(virtqueue_get_used(vq, NULL));
    assert_int_equal(*used_event, 1); /* interrupt me at the next completion */
    virtqueue_destroy(vq);
}

/* The lost kick: the device has fetched A and is about to go idle; we add B and read its
 * avail_event before its update lands (a host that does not order our store->load), so the
 * kick is suppressed, and the device's last look at avail idx misses B.  Only the stall check
 * that waiters run tells us to notify again. */
static void test_poll_recovers_a_suppressed_kick(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, true);
    uint8_t data[8];
    struct virtq_buffer buffer = {(uintptr_t)data, 8};
    int token_a, token_b;
    uint16_t *avail_event = (uint16_t *)&vq->used->ring[8];
    *avail_event = 0;
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token_a), 0);
    virtqueue_kick(vq);
    assert_int_equal(sim.notifications, 1);
    struct seen_chain chain;
    assert_true(sim_fetch(&chain));
    uint16_t head_a = chain.head;

    /* Hide B from the device's final check, as the reordered store would. */
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token_b), 0);
    uint16_t published = vq->avail->idx;
    vq->avail->idx = 1;
    virtqueue_kick(vq); /* reads the stale avail_event 0: no kick for 1 -> 2 */
    assert_int_equal(sim.notifications, 1);
    *avail_event = 1;
    assert_false(sim_fetch(&chain)); /* the device sees nothing new and goes idle */
    vq->avail->idx = published;
    sim_complete(head_a, 8);

    assert_ptr_equal(virtqueue_get_used(vq, NULL), &token_a);
    assert_false(virtqueue_poll_stalled(vq)); /* A completed since the last look */
    assert_true(virtqueue_poll_stalled(vq));  /* B outstanding, nothing moved */
    vq->notify(vq);
    assert_true(sim_fetch(&chain));
    *avail_event = 2;
    assert_false(virtqueue_poll_stalled(vq)); /* it has read our avail idx: only slow */
    sim_complete(chain.head, 8);
    assert_false(virtqueue_poll_stalled(vq));
    assert_ptr_equal(virtqueue_get_used(vq, NULL), &token_b);
    assert_false(virtqueue_poll_stalled(vq)); /* nothing outstanding is never a stall */
    virtqueue_destroy(vq);
}

static void test_enable_callbacks_reports_missed_completions(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, false);
    uint8_t data[8];
    struct virtq_buffer buffer = {(uintptr_t)data, 8};
    int token;
    assert_int_equal(virtqueue_add(vq, &buffer, 0, 1, &token), 0);
    virtqueue_disable_callbacks(vq);
    assert_true(vq->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_false(virtqueue_enable_callbacks(vq));
    assert_int_equal(vq->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT, 0);
    virtqueue_disable_callbacks(vq);
    struct seen_chain chain;
    assert_true(sim_fetch(&chain));
    sim_complete(chain.head, 8); /* while callbacks were off */
    assert_true(virtqueue_enable_callbacks(vq));
    assert_ptr_equal(virtqueue_get_used(vq, NULL), &token);
    virtqueue_destroy(vq);
}

static void test_detach_everything_in_flight(void **state)
{
    (void)state;
    struct virtqueue *vq = make_queue(8, 0, false);
    uint8_t data[8];
    struct virtq_buffer buffers[2] = {{(uintptr_t)data, 4}, {(uintptr_t)data + 4, 4}};
    int tokens[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(virtqueue_add(vq, buffers, 1, 1, &tokens[i]), 0);
    int detached = 0;
    while (virtqueue_detach_one(vq))
        detached++;
    assert_int_equal(detached, 3);
    assert_int_equal(vq->free_count, 8);
    virtqueue_destroy(vq);
}

static void test_layout(void **state)
{
    (void)state;
    /* Legacy layout for 256 entries: 4096 desc + 518 avail, used at 8192, 2054 bytes. */
    assert_int_equal(virtqueue_ring_bytes(256, 4096), 8192 + 4096);
    struct virtqueue vq;
    assert_int_equal(virtqueue_create(&vq, 0, 256, 4096, 0, false), 0);
    assert_int_equal(vq.used_phys - vq.desc_phys, 8192);
    assert_int_equal(vq.avail_phys - vq.desc_phys, 4096);
    virtqueue_destroy(&vq);
    assert_int_equal(virtqueue_create(&vq, 0, 100, 4096, 0, false), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_complete),
        cmocka_unit_test(test_out_of_order_completion),
        cmocka_unit_test(test_ring_wraps_around),
        cmocka_unit_test(test_indirect_descriptors),
        cmocka_unit_test(test_bogus_used_index_breaks_queue),
        cmocka_unit_test(test_bogus_used_id_is_rejected),
        cmocka_unit_test(test_notification_suppression),
        cmocka_unit_test(test_event_idx),
        cmocka_unit_test(test_poll_recovers_a_suppressed_kick),
        cmocka_unit_test(test_enable_callbacks_reports_missed_completions),
        cmocka_unit_test(test_detach_everything_in_flight),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_ring_hand_offs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
