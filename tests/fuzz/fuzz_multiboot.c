/* libFuzzer: the Multiboot reader (kernel/multiboot.c) on a loader's memory.  Input: byte 0
 * picks the magic (bit 0: Multiboot 2, else 1; bit 1: a wrong magic), bytes 1-2 the
 * information's offset, the rest is the memory the loader left, at physical address 0x10000
 * (nothing else is reachable).  Reading outside it is ASan's to catch; what the reader accepts
 * must be a boot_info the kernel can use: at least one region and none empty or wrapping,
 * modules that end after they start, strings terminated inside their arrays, counts within
 * their arrays.  A refusal says why. */
#include <rayos/boot_info.h>
#include <rayos/bytes.h>
#include <rayos/multiboot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int host_log_level;

#define MEMORY_BASE 0x10000u

struct memory {
    const uint8_t *bytes;
    size_t size;
};

#define check(ok) check_at((ok), __LINE__)
static void check_at(bool ok, int line)
{
    if (!ok) {
        fprintf(stderr, "fuzz_multiboot.c:%d: check failed\n", line);
        abort();
    }
}

static const void *memory_map(void *context, uint64_t phys, uint64_t length)
{
    const struct memory *m = context;
    if (phys < MEMORY_BASE || phys - MEMORY_BASE > m->size ||
        length > m->size - (phys - MEMORY_BASE))
        return NULL;
    return m->bytes + (phys - MEMORY_BASE);
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, 0, size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    if (size < 3)
        return 0;
    host_log_level = -1;
    uint32_t magic = input[0] & 1 ? MULTIBOOT2_BOOTLOADER_MAGIC : MULTIBOOT1_BOOTLOADER_MAGIC;
    if (input[0] & 2)
        magic ^= 0x100;
    uint64_t info = MEMORY_BASE + get_le16(input + 1);
    /* a copy of exactly the memory's size, so that any read past it is one ASan sees */
    struct memory m = {malloc(size - 3 ? size - 3 : 1), size - 3};
    memcpy((uint8_t *)m.bytes, input + 3, size - 3);
    memset(&boot_info, 0, sizeof(boot_info));
    const char *why = NULL;
    int result = multiboot_read(magic, info, memory_map, &m, &why);
    if (result != 0) {
        check(why && why[0]);
    } else {
        check(boot_info.region_count >= 1 && boot_info.region_count <= BOOT_MEMORY_REGIONS_MAX);
        for (unsigned i = 0; i < boot_info.region_count; i++) {
            const struct memory_region *r = &boot_info.regions[i];
            check(r->length != 0 && r->base + r->length > r->base);
        }
        check(boot_info.module_count <= BOOT_MODULES_MAX);
        for (unsigned i = 0; i < boot_info.module_count; i++) {
            check(boot_info.modules[i].end > boot_info.modules[i].start);
            check(terminated(boot_info.modules[i].cmdline, sizeof(boot_info.modules[i].cmdline)));
        }
        check(terminated(boot_info.cmdline, sizeof(boot_info.cmdline)));
        check(terminated(boot_info.loader_name, sizeof(boot_info.loader_name)));
        check(boot_info.protocol != NULL);
    }
    free((void *)m.bytes);
    return 0;
}
