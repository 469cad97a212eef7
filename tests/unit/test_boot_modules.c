/* The boot module list is untrusted: modules outside usable RAM, over the kernel image or over
 * each other are dropped; names come from the command line, sanitised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <rayos/boot_modules.h>

static const struct memory_region regions[] = {
    {0, 0x9f000, MEMORY_USABLE},           {0xf0000, 0x10000, MEMORY_RESERVED},
    {0x100000, 0x1000000, MEMORY_USABLE},  /* 1 MiB - 17 MiB */
    {0x1100000, 0x1000000, MEMORY_USABLE}, /* adjacent: 17 - 33 MiB */
    {0x1800000, 0x1000, MEMORY_RESERVED},  /* a hole the map also calls reserved */
    {0xfec00000, 0x1000, MEMORY_RESERVED},
};
#define KERNEL_START 0x100000
#define KERNEL_END   0x400000

static unsigned check(struct boot_module *modules, unsigned count)
{
    return boot_modules_check(modules, count, regions, sizeof(regions) / sizeof(regions[0]),
                              KERNEL_START, KERNEL_END);
}

static void test_good_modules_are_kept_in_order(void **state)
{
    struct boot_module m[3] = {{0x500000, 0x600000, "a"},
                               {0x600000, 0x600001, "b"},
                               {0x1000000, 0x1200000, "spans two adjacent regions"}};
    assert_int_equal(check(m, 3), 3);
    assert_string_equal(m[0].cmdline, "a");
    assert_string_equal(m[2].cmdline, "spans two adjacent regions");
}

static void test_bad_ranges_are_dropped(void **state)
{
    struct boot_module m[] = {
        {0x500000, 0x500000, "empty"},
        {0x700000, 0x600000, "inverted"},
        {0x300000, 0x500000, "over the kernel"},
        {0xfec00000, 0xfec01000, "device memory"},
        {0x1700000, 0x1900000, "over a reserved hole"},
        {0x2000000, 0x2200000, "past the end of RAM"},
        {0x90000, 0xa0000, "past conventional memory"},
        {0xfffffffffffff000ull, 0xffffffffffffffffull, "at the top"},
        {0x800000, 0x900000, "kept"},
    };
    unsigned n = sizeof(m) / sizeof(m[0]);
    assert_int_equal(check(m, n), 1);
    assert_string_equal(m[0].cmdline, "kept");
}

static void test_overlapping_pair_is_dropped(void **state)
{
    struct boot_module m[] = {
        {0x500000, 0x600000, "one"}, {0x5ff000, 0x700000, "two"}, {0x700000, 0x800000, "three"}};
    assert_int_equal(check(m, 3), 1);
    assert_string_equal(m[0].cmdline, "three");
}

static void test_names(void **state)
{
    char name[64];
    boot_module_name("/boot/rayos.elf", 0, name, sizeof(name));
    assert_string_equal(name, "rayos.elf");
    boot_module_name("/boot/grub/core.img bios-core.img", 1, name, sizeof(name));
    assert_string_equal(name, "bios-core.img");
    boot_module_name("x y/../..  ", 2, name, sizeof(name));
    assert_string_equal(name, "module2");
    boot_module_name("", 3, name, sizeof(name));
    assert_string_equal(name, "module3");
    boot_module_name("a/b/c d/e\x01\xff*f", 4, name, sizeof(name));
    assert_string_equal(name, "e___f");
    boot_module_name("dir/", 5, name, sizeof(name));
    assert_string_equal(name, "module5");
    char small[4];
    boot_module_name("abcdefgh", 6, small, sizeof(small));
    assert_string_equal(small, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_modules_are_kept_in_order),
        cmocka_unit_test(test_bad_ranges_are_dropped),
        cmocka_unit_test(test_overlapping_pair_is_dropped),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
