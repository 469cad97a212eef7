/* The portable memcpy and memset (lib/string.c, used by architectures without <asm/string.h>):
 * every small size at every alignment of both sides, and a large copy, byte for byte against a
 * byte loop; nothing outside [dst, dst + n) is touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "lib/string_copy.h"

#define AREA  (4096 + 64)
#define GUARD 0xa5

static unsigned char src[AREA], dst[AREA], want[AREA];

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 131 + seed * 7 + (i >> 8));
}

static void check_copy(size_t dst_off, size_t src_off, size_t n)
{
    fill_pattern(src, AREA, (unsigned)(dst_off * 17 + src_off + n));
    for (size_t i = 0; i < AREA; i++)
        dst[i] = want[i] = GUARD;
    for (size_t i = 0; i < n; i++)
        want[dst_off + i] = src[src_off + i];
    assert_ptr_equal(portable_memcpy(dst + dst_off, src + src_off, n), dst + dst_off);
    if (memcmp(dst, want, AREA) != 0)
        fail_msg("copy of %zu bytes, dst +%zu, src +%zu differs", n, dst_off, src_off);
}

static void check_fill(size_t off, int c, size_t n)
{
    for (size_t i = 0; i < AREA; i++)
        dst[i] = want[i] = GUARD;
    for (size_t i = 0; i < n; i++)
        want[off + i] = (unsigned char)c;
    assert_ptr_equal(portable_memset(dst + off, c, n), dst + off);
    if (memcmp(dst, want, AREA) != 0)
        fail_msg("fill of %zu bytes with 0x%x at +%zu differs", n, c, off);
}

static void test_copy_every_alignment_and_small_size(void **state)
{
    (void)state;
    for (size_t d = 0; d < 16; d++)
        for (size_t s = 0; s < 16; s++)
            for (size_t n = 0; n <= 80; n++)
                check_copy(d, s, n);
}

static void test_copy_large(void **state)
{
    (void)state;
    check_copy(0, 0, 4096);
    check_copy(8, 0, 4096);
    check_copy(3, 11, 4093);
    check_copy(5, 5, 4000);
}

static void test_fill_every_alignment_and_small_size(void **state)
{
    (void)state;
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 80; n++)
            check_fill(off, (int)(0x30 + n), n);
    /* Only the low byte of c counts, as for memset. */
    check_fill(1, 0x1ff, 33);
    check_fill(0, 0, 4096);
    check_fill(7, 0xff, 4050);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_every_alignment_and_small_size),
        cmocka_unit_test(test_copy_large),
        cmocka_unit_test(test_fill_every_alignment_and_small_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
