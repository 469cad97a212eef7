/* The split virtqueue.  Free descriptors are chained through our own next_free array, so what
 * the device might scribble into the descriptor table never steers the driver; everything read
 * from the used ring is checked before use.  Every write the device must see is handed to it
 * (dma_sync_for_device) and every read of what the device wrote is preceded by taking it back
 * (dma_sync_for_cpu): the descriptor table, the driver area (avail ring, used_event) and
 * indirect tables go one way, the device area (used ring, avail_event) the other; the used
 * ring starts on its own 4096-byte boundary, so no cache line holds both. */
#define pr_fmt(fmt) "virtqueue: " fmt
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/virtio.h>

static size_t avail_bytes(uint16_t size)
{
    return 6 + 2 * (size_t)size; /* flags, idx, ring, used_event */
}

static size_t used_bytes(uint16_t size)
{
    return 6 + 8 * (size_t)size; /* flags, idx, ring, avail_event */
}

size_t virtqueue_ring_bytes(uint16_t size, size_t used_align)
{
    size_t used_offset = ALIGN_UP(16 * (size_t)size + avail_bytes(size), used_align);
    return ALIGN_UP(used_offset + used_bytes(size), 4096);
}

static phys_addr_t ring_phys(const struct virtqueue *vq, const volatile void *p)
{
    return vq->desc_phys +
           (phys_addr_t)((const volatile uint8_t *)p - (const uint8_t *)vq->ring_memory);
}

/* After the CPU wrote part of the descriptor table or driver area. */
static void ring_to_device(const struct virtqueue *vq, const volatile void *p, size_t size)
{
    dma_sync_for_device(ring_phys(vq, p), size, DMA_TO_DEVICE);
}

/* Before the CPU reads part of the device area. */
static void ring_to_cpu(const struct virtqueue *vq, const volatile void *p, size_t size)
{
    dma_sync_for_cpu(ring_phys(vq, p), size, DMA_FROM_DEVICE);
}

static volatile uint16_t *used_event(struct virtqueue *vq)
{
    return &vq->avail->ring[vq->size];
}

static volatile uint16_t *avail_event(struct virtqueue *vq)
{
    return (volatile uint16_t *)&vq->used->ring[vq->size];
}

static void build_free_list(struct virtqueue *vq)
{
    for (uint16_t i = 0; i < vq->size; i++) {
        vq->next_free[i] = (uint16_t)(i + 1);
        vq->slots[i] = (struct virtqueue_slot){NULL, 0};
    }
    vq->free_head = 0;
    vq->free_count = vq->size;
}

int virtqueue_create(struct virtqueue *vq, unsigned index, uint16_t size, size_t used_align,
                     unsigned indirect_max, bool event_idx)
{
    memset(vq, 0, sizeof(*vq));
    if (!IS_POWER_OF_2(size) || size > 32768 || !IS_POWER_OF_2(used_align))
        return -EINVAL;
    vq->index = index;
    vq->size = size;
    vq->event_idx = event_idx;
    vq->ring_bytes = virtqueue_ring_bytes(size, used_align);
    phys_addr_t phys;
    uint8_t *ring = dma_alloc(vq->ring_bytes, 4096, &phys);
    if (!ring)
        return -ENOMEM;
    memset(ring, 0, vq->ring_bytes);
    size_t used_offset = ALIGN_UP(16 * (size_t)size + avail_bytes(size), used_align);
    vq->ring_memory = ring;
    vq->desc = (struct virtq_desc *)ring;
    vq->avail = (struct virtq_avail *)(ring + 16 * (size_t)size);
    vq->used = (struct virtq_used *)(ring + used_offset);
    vq->desc_phys = phys;
    vq->avail_phys = phys + 16 * (size_t)size;
    vq->used_phys = phys + used_offset;

    vq->next_free = kcalloc(size, sizeof(*vq->next_free));
    vq->slots = kcalloc(size, sizeof(*vq->slots));
    if (indirect_max > 1) {
        vq->indirect_tables = dma_alloc((size_t)size * indirect_max * sizeof(struct virtq_desc),
                                        4096, &vq->indirect_phys);
        vq->indirect_max = vq->indirect_tables ? indirect_max : 0;
    }
    if (!vq->next_free || !vq->slots) {
        virtqueue_destroy(vq);
        return -ENOMEM;
    }
    build_free_list(vq);
    dma_sync_for_device(vq->desc_phys, vq->ring_bytes, DMA_BIDIRECTIONAL); /* the zeroes */
    return 0;
}

void virtqueue_destroy(struct virtqueue *vq)
{
    if (vq->indirect_tables)
        dma_free(vq->indirect_tables,
                 (size_t)vq->size * vq->indirect_max * sizeof(struct virtq_desc));
    if (vq->ring_memory)
        dma_free(vq->ring_memory, vq->ring_bytes);
    kfree(vq->next_free);
    kfree(vq->slots);
    vq->ring_memory = NULL;
    vq->indirect_tables = NULL;
    vq->next_free = NULL;
    vq->slots = NULL;
}

void virtqueue_reset(struct virtqueue *vq)
{
    memset(vq->ring_memory, 0, vq->ring_bytes);
    dma_sync_for_device(vq->desc_phys, vq->ring_bytes, DMA_BIDIRECTIONAL);
    build_free_list(vq);
    vq->avail_idx = 0;
    vq->kicked_avail_idx = 0;
    vq->last_used = 0;
    vq->polled_used_idx = 0;
    vq->broken = false;
}

static void fill_desc(struct virtq_desc *desc, const struct virtq_buffer *buffer, bool writable)
{
    desc->addr = buffer->phys;
    desc->len = buffer->length;
    desc->flags = writable ? VIRTQ_DESC_F_WRITE : 0;
}

/* Takes count descriptors off the free list and links them in order; returns the head. */
static uint16_t take_chain(struct virtqueue *vq, unsigned count)
{
    uint16_t head = vq->free_head, index = head;
    for (unsigned i = 0; i < count; i++) {
        uint16_t next = vq->next_free[index];
        vq->desc[index].next = next;
        if (i + 1 < count)
            index = next;
        else
            vq->free_head = next;
    }
    vq->free_count = (uint16_t)(vq->free_count - count);
    return head;
}

static void publish(struct virtqueue *vq, uint16_t head, unsigned chain_length, void *token)
{
    vq->slots[head] = (struct virtqueue_slot){token, (uint16_t)chain_length};
    uint16_t *entry = &vq->avail->ring[vq->avail_idx & (vq->size - 1)];
    *entry = head;
    ring_to_device(vq, entry, sizeof(*entry));
    vq->avail_idx++;
    /* The descriptors and the ring entry must be visible before the index that exposes them. */
    wmb();
    *(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
    ring_to_device(vq, &vq->avail->idx, sizeof(vq->avail->idx));
}

static void add_indirect(struct virtqueue *vq, const struct virtq_buffer *buffers, unsigned out,
                         unsigned total, void *token)
{
    uint16_t head = take_chain(vq, 1);
    struct virtq_desc *table = vq->indirect_tables + (size_t)head * vq->indirect_max;
    for (unsigned i = 0; i < total; i++) {
        fill_desc(&table[i], &buffers[i], i >= out);
        if (i + 1 < total) {
            table[i].flags |= VIRTQ_DESC_F_NEXT;
            table[i].next = (uint16_t)(i + 1);
        }
    }
    struct virtq_desc *desc = &vq->desc[head];
    desc->addr = vq->indirect_phys + (size_t)head * vq->indirect_max * sizeof(struct virtq_desc);
    desc->len = total * (uint32_t)sizeof(struct virtq_desc);
    desc->flags = VIRTQ_DESC_F_INDIRECT;
    dma_sync_for_device(desc->addr, desc->len, DMA_TO_DEVICE);
    ring_to_device(vq, desc, sizeof(*desc));
    publish(vq, head, 1, token);
}

int virtqueue_add(struct virtqueue *vq, const struct virtq_buffer *buffers, unsigned out_count,
                  unsigned in_count, void *token)
{
    unsigned total = out_count + in_count;
    if (vq->broken)
        return -EIO;
    if (total == 0 || !token)
        return -EINVAL;
    if (vq->indirect_max && total > 1 && total <= vq->indirect_max) {
        if (vq->free_count < 1)
            return -ENOSPC;
        add_indirect(vq, buffers, out_count, total, token);
        return 0;
    }
    if (total > vq->size)
        return -EINVAL;
    if (vq->free_count < total)
        return -ENOSPC;
    uint16_t head = take_chain(vq, total);
    uint16_t index = head;
    for (unsigned i = 0; i < total; i++) {
        struct virtq_desc *desc = &vq->desc[index];
        fill_desc(desc, &buffers[i], i >= out_count);
        if (i + 1 < total)
            desc->flags |= VIRTQ_DESC_F_NEXT;
        ring_to_device(vq, desc, sizeof(*desc));
        index = vq->next_free[index];
    }
    publish(vq, head, total, token);
    return 0;
}

bool virtqueue_kick_prepare(struct virtqueue *vq)
{
    uint16_t old = vq->kicked_avail_idx, new_idx = vq->avail_idx;
    vq->kicked_avail_idx = new_idx;
    /* The index write must be visible before we read whether the device wants a kick. */
    mb();
    if (old == new_idx)
        return false;
    if (vq->event_idx) {
        ring_to_cpu(vq, avail_event(vq), sizeof(uint16_t));
        uint16_t event = *avail_event(vq);
        return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
    }
    ring_to_cpu(vq, &vq->used->flags, sizeof(vq->used->flags));
    return !(*(volatile uint16_t *)&vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
}

void virtqueue_kick(struct virtqueue *vq)
{
    if (virtqueue_kick_prepare(vq) && vq->notify)
        vq->notify(vq);
}

bool virtqueue_poll_stalled(struct virtqueue *vq)
{
    if (vq->broken)
        return false;
    ring_to_cpu(vq, &vq->used->idx, sizeof(vq->used->idx));
    uint16_t used_idx = *(volatile uint16_t *)&vq->used->idx;
    bool stalled = used_idx != vq->avail_idx && used_idx == vq->polled_used_idx;
    vq->polled_used_idx = used_idx;
    /* An avail_event at our avail idx says the device has read it: it is only slow. */
    if (stalled && vq->event_idx) {
        ring_to_cpu(vq, avail_event(vq), sizeof(uint16_t));
        stalled = *avail_event(vq) != vq->avail_idx;
    }
    return stalled;
}

static void release_chain(struct virtqueue *vq, uint16_t head)
{
    uint16_t length = vq->slots[head].chain_length, last = head;
    for (uint16_t i = 1; i < length; i++)
        last = vq->next_free[last];
    vq->next_free[last] = vq->free_head;
    vq->free_head = head;
    vq->free_count = (uint16_t)(vq->free_count + length);
    vq->slots[head] = (struct virtqueue_slot){NULL, 0};
}

static void mark_broken(struct virtqueue *vq, const char *what, unsigned value)
{
    if (!vq->broken)
        pr_err("queue %u: device returned %s %u; queue stopped until reset\n", vq->index, what,
               value);
    vq->broken = true;
}

void *virtqueue_get_used(struct virtqueue *vq, uint32_t *length)
{
    if (vq->broken)
        return NULL;
    ring_to_cpu(vq, &vq->used->idx, sizeof(vq->used->idx));
    uint16_t used_idx = *(volatile uint16_t *)&vq->used->idx;
    if (used_idx == vq->last_used)
        return NULL;
    uint16_t outstanding = (uint16_t)(vq->avail_idx - vq->last_used);
    if ((uint16_t)(used_idx - vq->last_used) > outstanding) {
        mark_broken(vq, "a used index ahead of what was made available:", used_idx);
        return NULL;
    }
    /* Read the entry only after seeing the index that covers it. */
    rmb();
    volatile struct virtq_used_elem *elem = &vq->used->ring[vq->last_used & (vq->size - 1)];
    ring_to_cpu(vq, elem, sizeof(*elem));
    uint32_t id = elem->id, written = elem->len;
    if (id >= vq->size || !vq->slots[id].token) {
        mark_broken(vq, "an id that is not a chain in flight:", id);
        return NULL;
    }
    void *token = vq->slots[id].token;
    release_chain(vq, (uint16_t)id);
    vq->last_used++;
    if (vq->event_idx) {
        *used_event(vq) = vq->last_used;
        ring_to_device(vq, used_event(vq), sizeof(uint16_t));
    }
    if (length)
        *length = written;
    return token;
}

void virtqueue_disable_callbacks(struct virtqueue *vq)
{
    if (!vq->event_idx) {
        vq->avail->flags |= VIRTQ_AVAIL_F_NO_INTERRUPT;
        ring_to_device(vq, &vq->avail->flags, sizeof(vq->avail->flags));
    }
}

bool virtqueue_enable_callbacks(struct virtqueue *vq)
{
    if (vq->event_idx) {
        *used_event(vq) = vq->last_used;
        ring_to_device(vq, used_event(vq), sizeof(uint16_t));
    } else {
        *(volatile uint16_t *)&vq->avail->flags &= (uint16_t)~VIRTQ_AVAIL_F_NO_INTERRUPT;
        ring_to_device(vq, &vq->avail->flags, sizeof(vq->avail->flags));
    }
    /* Re-check after the flag is visible: a completion in between raised no interrupt. */
    mb();
    ring_to_cpu(vq, &vq->used->idx, sizeof(vq->used->idx));
    return *(volatile uint16_t *)&vq->used->idx != vq->last_used;
}

void *virtqueue_detach_one(struct virtqueue *vq)
{
    for (uint16_t i = 0; i < vq->size; i++) {
        if (vq->slots[i].token) {
            void *token = vq->slots[i].token;
            release_chain(vq, i);
            return token;
        }
    }
    return NULL;
}
