/* Kernel heap.  Small blocks come from power-of-two size classes carved out of pages; large ones
 * are whole page runs.  Every block carries a header (magic, size) and a canary after the bytes
 * the caller asked for, so kfree() catches double frees, frees of foreign pointers and buffer
 * overruns at the moment they happen, with the caller's backtrace. */
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "pmm.h"

#define MAGIC_USED   0x4b4d414cu /* "LAMK" */
#define MAGIC_FREE   0x45455246u /* "FREE" */
#define CANARY       0xc0ffee00deadbeefULL
#define CLASS_COUNT  8 /* 32 ... 4096 bytes including header and canary */
#define CLASS_LARGE  0xff
#define POISON_FREED 0x6b

struct block_header {
    uint32_t magic;
    uint8_t size_class; /* index, or CLASS_LARGE for page runs */
    uint8_t reserved[3];
    uint64_t size; /* bytes requested */
};
STATIC_ASSERT(sizeof(struct block_header) == 16, "header keeps 16-byte alignment");

struct free_block {
    struct block_header header;
    struct free_block *next;
};

static struct free_block *free_lists[CLASS_COUNT];
static struct spinlock heap_lock = SPINLOCK_INIT("heap");
static uint64_t bytes_used, bytes_mapped, allocation_count;

static size_t class_size(unsigned c)
{
    return (size_t)32 << c;
}

static int class_for(size_t total)
{
    for (unsigned c = 0; c < CLASS_COUNT; c++)
        if (total <= class_size(c))
            return (int)c;
    return -1;
}

static void put_canary(struct block_header *h)
{
    uint64_t canary = CANARY;
    memcpy((char *)(h + 1) + h->size, &canary, sizeof(canary));
}

static bool canary_intact(const struct block_header *h)
{
    uint64_t canary;
    memcpy(&canary, (const char *)(h + 1) + h->size, sizeof(canary));
    return canary == CANARY;
}

static bool refill(unsigned c)
{
    phys_addr_t page = page_alloc(1, PAGE_SIZE, 0);
    if (!page)
        return false;
    bytes_mapped += PAGE_SIZE;
    char *base = phys_to_virt(page);
    for (size_t off = 0; off + class_size(c) <= PAGE_SIZE; off += class_size(c)) {
        struct free_block *b = (struct free_block *)(base + off);
        b->header.magic = MAGIC_FREE;
        b->header.size_class = (uint8_t)c;
        b->next = free_lists[c];
        free_lists[c] = b;
    }
    return true;
}

void *kmalloc(size_t size)
{
    size_t total = sizeof(struct block_header) + size + sizeof(uint64_t);
    if (size > 64 * GiB)
        return NULL;
    struct block_header *h;
    irqflags_t flags = spin_lock_irqsave(&heap_lock);
    int c = class_for(total);
    if (c >= 0) {
        if (!free_lists[c] && !refill((unsigned)c)) {
            spin_unlock_irqrestore(&heap_lock, flags);
            return NULL;
        }
        struct free_block *b = free_lists[c];
        free_lists[c] = b->next;
        h = &b->header;
        h->size_class = (uint8_t)c;
    } else {
        size_t pages = DIV_ROUND_UP(total, PAGE_SIZE);
        phys_addr_t phys = page_alloc(pages, PAGE_SIZE, 0);
        if (!phys) {
            spin_unlock_irqrestore(&heap_lock, flags);
            return NULL;
        }
        bytes_mapped += pages * PAGE_SIZE;
        h = phys_to_virt(phys);
        h->size_class = CLASS_LARGE;
    }
    h->magic = MAGIC_USED;
    h->size = size;
    put_canary(h);
    bytes_used += size;
    allocation_count++;
    spin_unlock_irqrestore(&heap_lock, flags);
    return h + 1;
}

void kfree(void *ptr)
{
    if (!ptr)
        return;
    struct block_header *h = (struct block_header *)ptr - 1;
    if (!virt_is_linear(h) || ((uintptr_t)ptr & 15))
        panic("kfree: %p is not a heap pointer", ptr);
    if (h->magic == MAGIC_FREE)
        panic("kfree: double free of %p", ptr);
    if (h->magic != MAGIC_USED)
        panic("kfree: %p is not a heap block or its header was overwritten", ptr);
    if (!canary_intact(h))
        panic("kfree: heap overrun past the %llu bytes of %p", (unsigned long long)h->size, ptr);
    irqflags_t flags = spin_lock_irqsave(&heap_lock);
    bytes_used -= h->size;
    allocation_count--;
    if (h->size_class == CLASS_LARGE) {
        size_t pages = DIV_ROUND_UP(sizeof(*h) + h->size + sizeof(uint64_t), PAGE_SIZE);
        h->magic = MAGIC_FREE;
        bytes_mapped -= pages * PAGE_SIZE;
        page_free(virt_to_phys(h), pages);
    } else {
        unsigned c = h->size_class;
        memset(h + 1, POISON_FREED, class_size(c) - sizeof(*h));
        struct free_block *b = (struct free_block *)h;
        b->header.magic = MAGIC_FREE;
        b->next = free_lists[c];
        free_lists[c] = b;
    }
    spin_unlock_irqrestore(&heap_lock, flags);
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, size);
    return p;
}

void *kcalloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return kzalloc(count * size);
}

void *krealloc(void *ptr, size_t size)
{
    if (!ptr)
        return kmalloc(size);
    struct block_header *h = (struct block_header *)ptr - 1;
    if (h->magic != MAGIC_USED)
        panic("krealloc: %p is not a live heap block", ptr);
    void *fresh = kmalloc(size);
    if (!fresh)
        return NULL;
    memcpy(fresh, ptr, MIN(size, (size_t)h->size));
    kfree(ptr);
    return fresh;
}

char *kstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = kmalloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

void heap_stats(uint64_t *used, uint64_t *mapped, uint64_t *allocations)
{
    *used = bytes_used;
    *mapped = bytes_mapped;
    *allocations = allocation_count;
}
