/* Self-tests of the page allocator, heap and DMA memory. */
#include <rayos/dma.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/mm.h>
#include <rayos/selftest.h>
#include <rayos/string.h>

/* The kernel image's physical address: RAM on every machine, wherever RAM starts. */
static phys_addr_t kernel_ram(void)
{
    static char in_the_image[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
    return virt_to_phys(in_the_image);
}

SELFTEST(page_alloc_alignment_and_limit)
{
    phys_addr_t a = page_alloc(3, 64 * KiB, 0);
    ST_ASSERT(a != 0);
    ST_ASSERT(IS_ALIGNED(a, 64 * KiB));
    /* A limit 16 MiB above the kernel's gigabyte: within RAM on a PC and on arm's virt. */
    phys_addr_t limit = ALIGN_DOWN(kernel_ram(), GiB) + 16 * MiB;
    phys_addr_t low = page_alloc(1, PAGE_SIZE, limit);
    ST_ASSERT(low != 0 && low + PAGE_SIZE <= limit);
    page_free(low, 1);
    page_free(a, 3);
    /* Freed pages are found again. */
    phys_addr_t b = page_alloc(3, 64 * KiB, 0);
    ST_ASSERT_EQ(a, b);
    page_free(b, 3);
}

SELFTEST(page_alloc_exhaustion_reports_failure)
{
    struct memory_stats s;
    memory_stats(&s);
    ST_ASSERT_EQ(page_alloc(s.total_pages + 1, PAGE_SIZE, 0), 0);
}

SELFTEST(kmalloc_sizes_and_alignment)
{
    static const size_t sizes[] = {1, 15, 16, 17, 100, 1000, 4000, 5000, 70000, 1 << 20};
    void *p[ARRAY_SIZE(sizes)];
    struct memory_stats before, after;
    memory_stats(&before);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        p[i] = kmalloc(sizes[i]);
        ST_ASSERT(p[i] != NULL);
        ST_ASSERT(((uintptr_t)p[i] & 15) == 0);
        memset(p[i], (int)i, sizes[i]);
    }
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        ST_ASSERT(((unsigned char *)p[i])[sizes[i] - 1] == i);
        kfree(p[i]);
    }
    memory_stats(&after);
    ST_ASSERT_EQ(before.heap_bytes_used, after.heap_bytes_used);
}

SELFTEST(krealloc_keeps_contents)
{
    char *p = kmalloc(10);
    ST_ASSERT(p != NULL);
    memcpy(p, "abcdefghi", 10);
    p = krealloc(p, 10000);
    ST_ASSERT(p != NULL);
    ST_ASSERT(strcmp(p, "abcdefghi") == 0);
    p = krealloc(p, 4);
    ST_ASSERT(memcmp(p, "abcd", 4) == 0);
    kfree(p);
    char *z = kzalloc(300);
    for (int i = 0; i < 300; i++)
        ST_ASSERT(z[i] == 0);
    kfree(z);
}

SELFTEST(dma_alloc_contiguous_zeroed_aligned)
{
    phys_addr_t phys;
    uint8_t *buf = dma_alloc(3 * PAGE_SIZE, 16 * KiB, &phys);
    ST_ASSERT(buf != NULL);
    ST_ASSERT(IS_ALIGNED(phys, 16 * KiB));
    ST_ASSERT_EQ(virt_to_phys(buf), phys);
    ST_ASSERT_EQ(virt_to_phys(buf + 2 * PAGE_SIZE + 5), phys + 2 * PAGE_SIZE + 5);
    for (size_t i = 0; i < 3 * PAGE_SIZE; i++)
        ST_ASSERT(buf[i] == 0);
    dma_free(buf, 3 * PAGE_SIZE);
    uint8_t *low = dma_alloc_low(PAGE_SIZE, PAGE_SIZE, &phys);
    ST_ASSERT(low != NULL && phys < 4 * GiB);
    dma_free(low, PAGE_SIZE);
}

SELFTEST(dma_map_buffer_linear_memory)
{
    phys_addr_t phys;
    char *heap = kmalloc(512);
    ST_ASSERT(dma_map_buffer(heap, 512, &phys));
    ST_ASSERT_EQ(phys, virt_to_phys(heap));
    kfree(heap);
    static char in_image[64];
    ST_ASSERT(dma_map_buffer(in_image, sizeof(in_image), &phys));
    void *mmio = map_phys(0xfec00000, 4096, MAP_UNCACHED);
    ST_ASSERT(mmio != NULL);
    ST_ASSERT(!dma_map_buffer(mmio, 16, &phys));
}

SELFTEST(map_phys_refuses_device_windows_over_ram)
{
    /* A BAR or firmware table pointing device registers at RAM (here: the kernel image) must
     * not become an uncached window, nor one that only starts before it; the same RAM mapped
     * cached (how ACPI tables and device trees are read) still works. */
    phys_addr_t ram = kernel_ram();
    ST_ASSERT(map_phys(ram, 4096, MAP_UNCACHED) == NULL);
    ST_ASSERT(map_phys(ram - 0x1000, 0x2000, MAP_UNCACHED) == NULL);
    ST_ASSERT(map_phys(~0ULL - 0xfff, 0x2000, MAP_UNCACHED) == NULL); /* wraps around */
    void *cached = map_phys(ram, 4096, MAP_CACHED);
    ST_ASSERT(cached != NULL);
    unmap_phys(cached, 4096);
}

SELFTEST(map_phys_above_4g)
{
    /* Page tables for a window far above RAM are built on demand (PCIe BARs live there). */
    volatile uint8_t *high = map_phys(0x8000000000ULL, 8192, MAP_UNCACHED);
    ST_ASSERT(high != NULL);
    ST_ASSERT_EQ(virt_to_phys((const void *)(high + 4100)), 0x8000000000ULL + 4100);
    unmap_phys((void *)high, 8192);
}
