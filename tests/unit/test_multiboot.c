/* The Multiboot reader (kernel/multiboot.c) over a fake physical memory: what loaders pass
 * arrives in boot_info, and information that is broken (sizes that wrap a bound, entries past
 * their tag, strings running out of memory) is cut or refused without reading outside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <rayos/boot_info.h>
#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/multiboot.h>

extern int host_log_level;

#define MEMORY_BASE 0x10000u
#define MEMORY_SIZE 0x4000u

static uint8_t memory[MEMORY_SIZE];

/* Only [MEMORY_BASE, MEMORY_BASE + MEMORY_SIZE) is reachable, as a loader's memory would be. */
static const void *fake_map(void *context, uint64_t phys, uint64_t length)
{
    (void)context;
    if (phys < MEMORY_BASE || phys - MEMORY_BASE > MEMORY_SIZE ||
        length > MEMORY_SIZE - (phys - MEMORY_BASE))
        return NULL;
    return memory + (phys - MEMORY_BASE);
}

static uint8_t *at(uint32_t phys)
{
    return memory + (phys - MEMORY_BASE);
}

static int setup(void **state)
{
    memset(memory, 0, sizeof(memory));
    memset(&boot_info, 0, sizeof(boot_info));
    host_log_level = -1; /* the warnings are expected */
    return 0;
}

static int read_info(uint32_t magic, uint64_t info, const char **why)
{
    *why = NULL;
    return multiboot_read(magic, info, fake_map, NULL, why);
}

/* Multiboot 1: info at 0x10000, strings at 0x10100.., modules at 0x10200, map at 0x10300. */
static void mb1_info(uint32_t flags)
{
    uint8_t *info = at(MEMORY_BASE);
    put_le32(info, flags);
    put_le32(info + 16, 0x10100);
    strcpy((char *)at(0x10100), "root=vda1 quiet");
    put_le32(info + 64, 0x10140);
    strcpy((char *)at(0x10140), "GRUB 2.06");
}

static void mb1_map_entry(uint32_t *offset, uint32_t size, uint64_t base, uint64_t length,
                          uint32_t type)
{
    uint8_t *e = at(0x10300 + *offset);
    put_le32(e, size);
    put_le64(e + 4, base);
    put_le64(e + 12, length);
    put_le32(e + 20, type);
    *offset += 4 + size;
}

static void test_multiboot1(void **state)
{
    mb1_info(1u << 2 | 1u << 3 | 1u << 6 | 1u << 9);
    uint8_t *info = at(MEMORY_BASE);
    put_le32(info + 20, 2);
    put_le32(info + 24, 0x10200);
    put_le32(at(0x10200), 0x200000);
    put_le32(at(0x10204), 0x201000);
    put_le32(at(0x10208), 0x10180);
    strcpy((char *)at(0x10180), "/boot/nvme.ko");
    put_le32(at(0x10210), 0x300000);
    put_le32(at(0x10214), 0x300100); /* no command line */
    uint32_t length = 0;
    mb1_map_entry(&length, 20, 0, 0x9fc00, MEMORY_USABLE);
    mb1_map_entry(&length, 24, 0x100000, 0x7ee0000, MEMORY_USABLE); /* larger entries: skipped */
    mb1_map_entry(&length, 20, 0xfeffc000, 0x4000, 2);
    put_le32(info + 44, length);
    put_le32(info + 48, 0x10300);
    const char *why;
    assert_int_equal(read_info(MULTIBOOT1_BOOTLOADER_MAGIC, MEMORY_BASE, &why), 0);
    assert_string_equal(boot_info.protocol, "multiboot1");
    assert_string_equal(boot_info.cmdline, "root=vda1 quiet");
    assert_string_equal(boot_info.loader_name, "GRUB 2.06");
    assert_int_equal(boot_info.module_count, 2);
    assert_int_equal(boot_info.modules[0].start, 0x200000);
    assert_int_equal(boot_info.modules[0].end, 0x201000);
    assert_string_equal(boot_info.modules[0].cmdline, "/boot/nvme.ko");
    assert_string_equal(boot_info.modules[1].cmdline, "");
    assert_int_equal(boot_info.region_count, 3);
    assert_int_equal(boot_info.regions[1].base, 0x100000);
    assert_int_equal(boot_info.regions[1].length, 0x7ee0000);
    assert_int_equal(boot_info.regions[2].type, MEMORY_RESERVED);
}

/* An entry size that wraps "offset + 4 + size" to a small number made the old reader loop on
 * the same entry for ever; the sums are 64-bit now and the map ends there. */
static void test_multiboot1_entry_size_that_wraps(void **state)
{
    mb1_info(1u << 6);
    uint32_t length = 0;
    mb1_map_entry(&length, 20, 0x100000, 0x100000, MEMORY_USABLE);
    uint32_t wrap_at = length;
    mb1_map_entry(&length, 20, 0x200000, 0x100000, MEMORY_USABLE);
    put_le32(at(0x10300 + wrap_at), 0xfffffffc);
    put_le32(at(MEMORY_BASE) + 44, length);
    put_le32(at(MEMORY_BASE) + 48, 0x10300);
    const char *why;
    assert_int_equal(read_info(MULTIBOOT1_BOOTLOADER_MAGIC, MEMORY_BASE, &why), 0);
    assert_int_equal(boot_info.region_count, 1);
}

/* Impossible module lists and maps are ignored; strings end where memory does; without a
 * usable map the basic memory fields are used, and without either the boot cannot go on. */
static void test_multiboot1_broken_parts(void **state)
{
    mb1_info(1u << 0 | 1u << 2 | 1u << 3 | 1u << 6);
    uint8_t *info = at(MEMORY_BASE);
    put_le32(info + 20, 65); /* modules */
    put_le32(info + 24, 0x10200);
    put_le32(info + 44, 64 * 1024 + 4); /* map too large */
    put_le32(info + 48, 0x10300);
    put_le32(info + 4, 639);
    put_le32(info + 8, 130048);
    uint32_t tail = MEMORY_BASE + MEMORY_SIZE - 5;
    memcpy(at(tail), "abcde", 5); /* no NUL before memory ends */
    put_le32(info + 16, tail);
    const char *why;
    assert_int_equal(read_info(MULTIBOOT1_BOOTLOADER_MAGIC, MEMORY_BASE, &why), 0);
    assert_int_equal(boot_info.module_count, 0);
    assert_int_equal(boot_info.region_count, 2); /* the basic fields, as the map is unusable */
    assert_string_equal(boot_info.cmdline, "abcde");

    setup(state);
    mb1_info(1u << 0);
    put_le32(at(MEMORY_BASE) + 4, 639);
    put_le32(at(MEMORY_BASE) + 8, 130048);
    assert_int_equal(read_info(MULTIBOOT1_BOOTLOADER_MAGIC, MEMORY_BASE, &why), 0);
    assert_int_equal(boot_info.region_count, 2);
    assert_int_equal(boot_info.regions[1].base, 0x100000);
    assert_int_equal(boot_info.regions[1].length, 130048ull * 1024);

    setup(state);
    mb1_info(1u << 2);
    assert_int_equal(read_info(MULTIBOOT1_BOOTLOADER_MAGIC, MEMORY_BASE, &why), -EINVAL);
    assert_string_equal(why, "the boot loader passed no memory map");
    assert_int_equal(read_info(MULTIBOOT1_BOOTLOADER_MAGIC, MEMORY_BASE + MEMORY_SIZE - 8, &why),
                     -EINVAL);
    assert_int_equal(read_info(0x12345678, MEMORY_BASE, &why), -EINVAL);
    assert_string_equal(why, "not started by a Multiboot loader");
}

/* Multiboot 2: tags from 0x10008 on, each 8-byte aligned. */
static uint32_t mb2_tag(uint32_t offset, uint32_t type, const void *body, uint32_t size)
{
    uint8_t *tag = at(MEMORY_BASE + offset);
    put_le32(tag, type);
    put_le32(tag + 4, 8 + size);
    if (size)
        memcpy(tag + 8, body, size);
    return offset + ((8 + size + 7) & ~7u);
}

static uint32_t mb2_map(uint32_t offset, uint32_t entry_size, unsigned count)
{
    uint8_t body[8 + 4 * 32] = {0};
    put_le32(body, entry_size);
    for (unsigned i = 0; i < count; i++) {
        put_le64(body + 8 + i * entry_size, 0x100000ull * (i + 1));
        put_le64(body + 8 + i * entry_size + 8, 0x80000);
        put_le32(body + 8 + i * entry_size + 16, MEMORY_USABLE);
    }
    return mb2_tag(offset, 6, body, 8 + count * entry_size);
}

static void mb2_finish(uint32_t offset)
{
    offset = mb2_tag(offset, 0, NULL, 0);
    put_le32(at(MEMORY_BASE), offset);
}

static void test_multiboot2(void **state)
{
    uint32_t off = 8;
    off = mb2_tag(off, 1, "root=sda1", 10);
    off = mb2_tag(off, 2, "GRUB 2.06", 10);
    uint8_t module[8 + 12];
    put_le32(module, 0x400000);
    put_le32(module + 4, 0x480000);
    memcpy(module + 8, "/boot/ahci", 11);
    off = mb2_tag(off, 3, module, sizeof(module) - 1);
    off = mb2_map(off, 24, 3);
    uint8_t rsdp1[20] = "RSD PTR 1", rsdp2[36] = "RSD PTR 2";
    off = mb2_tag(off, 15, rsdp2, sizeof(rsdp2));
    off = mb2_tag(off, 14, rsdp1, sizeof(rsdp1)); /* the 2.0 copy is kept */
    mb2_finish(off);
    const char *why;
    assert_int_equal(read_info(MULTIBOOT2_BOOTLOADER_MAGIC, MEMORY_BASE, &why), 0);
    assert_string_equal(boot_info.protocol, "multiboot2");
    assert_string_equal(boot_info.cmdline, "root=sda1");
    assert_string_equal(boot_info.loader_name, "GRUB 2.06");
    assert_int_equal(boot_info.module_count, 1);
    assert_int_equal(boot_info.modules[0].end, 0x480000);
    assert_string_equal(boot_info.modules[0].cmdline, "/boot/ahci");
    assert_int_equal(boot_info.region_count, 3);
    assert_int_equal(boot_info.regions[2].base, 0x300000);
    assert_true(boot_info.has_acpi_rsdp_copy);
    assert_memory_equal(boot_info.acpi_rsdp_copy, "RSD PTR 2", 10);
    assert_int_equal(boot_info.firmware_tables, FIRMWARE_ACPI);
}

/* A map entry size of almost 4 GiB wrapped "offset + size" and read an entry past the tag; a
 * tag whose size leaves the information ends the reading there, keeping what came before. */
static void test_multiboot2_broken_tags(void **state)
{
    uint32_t off = mb2_map(8, 24, 1);
    uint8_t huge[8 + 24] = {0};
    put_le32(huge, 0xfffffff8);
    put_le64(huge + 8, 0x5000000); /* an entry that must not be read */
    put_le64(huge + 16, 0x1000);
    off = mb2_tag(off, 6, huge, 8);
    uint32_t bad = off; /* the old reader took this tag's bytes for a map entry */
    off = mb2_tag(off, 1, "lost", 5);
    put_le32(at(MEMORY_BASE + bad) + 4, 0x100000); /* past the information's end */
    mb2_finish(off);
    const char *why;
    assert_int_equal(read_info(MULTIBOOT2_BOOTLOADER_MAGIC, MEMORY_BASE, &why), 0);
    assert_int_equal(boot_info.region_count, 1);
    assert_int_equal(boot_info.regions[0].base, 0x100000);
    assert_string_equal(boot_info.cmdline, "");

    /* misaligned, too small, too large or out of reach: refused */
    assert_int_equal(read_info(MULTIBOOT2_BOOTLOADER_MAGIC, MEMORY_BASE + 4, &why), -EINVAL);
    put_le32(at(MEMORY_BASE), 8);
    assert_int_equal(read_info(MULTIBOOT2_BOOTLOADER_MAGIC, MEMORY_BASE, &why), -EINVAL);
    put_le32(at(MEMORY_BASE), MEMORY_SIZE + 8);
    assert_int_equal(read_info(MULTIBOOT2_BOOTLOADER_MAGIC, MEMORY_BASE, &why), -EINVAL);
    assert_int_equal(read_info(MULTIBOOT2_BOOTLOADER_MAGIC, 0, &why), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_multiboot1, setup),
        cmocka_unit_test_setup(test_multiboot1_entry_size_that_wraps, setup),
        cmocka_unit_test_setup(test_multiboot1_broken_parts, setup),
        cmocka_unit_test_setup(test_multiboot2, setup),
        cmocka_unit_test_setup(test_multiboot2_broken_tags, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
