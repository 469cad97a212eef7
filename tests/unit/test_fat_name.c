/* Name rules (8.3 forms, ~N tails, checksum) and UTF-8/UTF-16 conversion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rayos/errno.h>
#include <rayos/utf.h>

#include <string.h>

#include "fs/fat/fat_internal.h"

static void expect_plan(const char *name, const char *basis, bool needs_lfn, bool lossy,
                        uint8_t flags)
{
    struct fat_short_plan plan;
    fat_plan_short_name(name, &plan);
    assert_memory_equal(plan.basis, basis, 11);
    assert_int_equal(plan.needs_lfn, needs_lfn);
    assert_int_equal(plan.lossy, lossy);
    assert_int_equal(plan.case_flags, flags);
}

static void test_short_name_plans(void **state)
{
    expect_plan("README.TXT", "README  TXT", false, false, 0);
    expect_plan("readme.txt", "README  TXT", false, false, 0x18);
    expect_plan("readme.TXT", "README  TXT", false, false, 0x08);
    expect_plan("Readme.txt", "README  TXT", true, false, 0);
    expect_plan("a", "A          ", false, false, 0x08);
    expect_plan("verylongname.txt", "VERYLONGTXT", true, true, 0);
    expect_plan("file.html", "FILE    HTM", true, true, 0);
    expect_plan(".bashrc", "BASHRC     ", true, true, 0);
    expect_plan("a b.c", "AB      C  ", true, true, 0);
    expect_plan("x.y.z", "XY      Z  ", true, true, 0);
    expect_plan("caf\xc3\xa9.txt", "CAF_    TXT", true, true, 0);
    expect_plan("a[1].txt", "A_1_    TXT", true, true, 0);
    expect_plan("12345678.123", "12345678123", false, false, 0);
}

static void test_tails(void **state)
{
    uint8_t out[11];
    fat_apply_tail((const uint8_t *)"VERYLONGTXT", 1, out);
    assert_memory_equal(out, "VERYLO~1TXT", 11);
    fat_apply_tail((const uint8_t *)"VERYLONGTXT", 10, out);
    assert_memory_equal(out, "VERYL~10TXT", 11);
    fat_apply_tail((const uint8_t *)"VERYLONGTXT", 123456, out);
    assert_memory_equal(out, "V~123456TXT", 11);
    fat_apply_tail((const uint8_t *)"AB      C  ", 2, out);
    assert_memory_equal(out, "AB~2    C  ", 11);
    assert_int_equal(
        fat_tail_number((const uint8_t *)"VERYLONGTXT", (const uint8_t *)"VERYLO~7TXT"), 7);
    assert_int_equal(
        fat_tail_number((const uint8_t *)"VERYLONGTXT", (const uint8_t *)"VERYL~12TXT"), 12);
    assert_int_equal(
        fat_tail_number((const uint8_t *)"VERYLONGTXT", (const uint8_t *)"VERYLO~7DOC"), -1);
    assert_int_equal(
        fat_tail_number((const uint8_t *)"VERYLONGTXT", (const uint8_t *)"OTHERN~1TXT"), -1);
    assert_int_equal(
        fat_tail_number((const uint8_t *)"AB      C  ", (const uint8_t *)"AB~3    C  "), 3);
    /* found by fuzz_fat_name: a basis holding '~' ("a~b c.txt") had its tails unread, so a
     * second such name got the same A~BC~1 and the directory held a duplicate 8.3 name */
    assert_int_equal(
        fat_tail_number((const uint8_t *)"A~BC    TXT", (const uint8_t *)"A~BC~1  TXT"), 1);
    assert_int_equal(
        fat_tail_number((const uint8_t *)"~       TXT", (const uint8_t *)"~~12    TXT"), 12);
    assert_int_equal(
        fat_tail_number((const uint8_t *)"A~BC    TXT", (const uint8_t *)"A~BC    TXT"), -1);
    for (uint32_t n = 1; n < 1000000; n = n * 7 + 3) {
        fat_apply_tail((const uint8_t *)"A~B~C~D~TXT", n, out);
        assert_int_equal(fat_tail_number((const uint8_t *)"A~B~C~D~TXT", out), (int)n);
    }
}

static void test_checksum_and_display(void **state)
{
    /* the specification's rotate-right-and-add over the 11 bytes */
    const uint8_t *name = (const uint8_t *)"FOO     BAR";
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
    assert_int_equal(fat_short_checksum(name), sum);
    assert_int_not_equal(fat_short_checksum((const uint8_t *)"FOO     BAS"), sum);
    uint8_t raw[32];
    memset(raw, 0, sizeof(raw));
    memcpy(raw, "FOO     BAR", 11);
    raw[12] = 0x08;
    char text[32];
    fat_short_to_string(raw, true, text, sizeof(text));
    assert_string_equal(text, "foo.BAR");
    fat_short_to_string(raw, false, text, sizeof(text));
    assert_string_equal(text, "FOO.BAR");
    memcpy(raw,
           "\x05"
           "ABC    TXT",
           11);
    raw[12] = 0;
    fat_short_to_string(raw, true, text, sizeof(text));
    assert_string_equal(text, "\xc3\xa5"
                              "ABC.TXT");
    memcpy(raw, "NOEXT      ", 11);
    fat_short_to_string(raw, true, text, sizeof(text));
    assert_string_equal(text, "NOEXT");
}

/* Found by fuzz_fat_name: 8.3 names from disk with a dot inside a part or a leading space
 * were shown as names no path could open ("A.B.TXT" has two dots, " X" was shown as "").
 * They are shown with '_' and open by that name. */
static void test_odd_short_names_open_by_the_name_shown(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *shown;
    } cases[] = {{"A.B     TXT", "A_B.TXT"},
                 {"  X     TXT", "_ X.TXT"},
                 {"        TXT", "_.TXT"},
                 {"           ", "_"},
                 {"NAME    T.T", "NAME.T_T"}};
    static struct fat_entry_info entry;
    static struct fat_name_key key;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&entry, 0, sizeof(entry));
        memcpy(entry.raw, cases[i].raw, 11);
        char shown[32];
        fat_short_to_string(entry.raw, true, shown, sizeof(shown));
        assert_string_equal(shown, cases[i].shown);
        assert_int_equal(fat_name_key_init(&key, shown), 0);
        assert_true(fat_name_key_matches(&key, &entry));
    }
    char dot[4];
    fat_short_to_string((const uint8_t *)"..         ", true, dot, sizeof(dot));
    assert_string_equal(dot, "..");
}

static void test_name_validity(void **state)
{
    assert_true(fat_long_name_valid("hello world.tar.gz"));
    assert_true(fat_long_name_valid("a+b,c;d=e[f]"));
    assert_false(fat_long_name_valid(""));
    assert_false(fat_long_name_valid("."));
    assert_false(fat_long_name_valid(".."));
    assert_false(fat_long_name_valid("a/b"));
    assert_false(fat_long_name_valid("end."));
    assert_false(fat_long_name_valid("tab\there"));
}

static void test_utf_round_trip(void **state)
{
    uint16_t units[16];
    const char *text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a é € 😀 */
    int n = utf8_to_utf16(text, units, 16);
    assert_int_equal(n, 5);
    assert_int_equal(units[0], 'a');
    assert_int_equal(units[1], 0xe9);
    assert_int_equal(units[2], 0x20ac);
    assert_int_equal(units[3], 0xd83d);
    assert_int_equal(units[4], 0xde00);
    char back[32];
    assert_int_equal(utf16_to_utf8(units, 5, back, sizeof(back)), (int)strlen(text));
    assert_string_equal(back, text);
    assert_int_equal(utf8_to_utf16(text, units, 4), -ENAMETOOLONG);
    assert_int_equal(utf8_to_utf16("\xc0\x80", units, 16), -EILSEQ);     /* overlong */
    assert_int_equal(utf8_to_utf16("\xed\xa0\x80", units, 16), -EILSEQ); /* surrogate */
    assert_int_equal(utf8_to_utf16("\xe2\x82", units, 16), -EILSEQ);     /* truncated */
    assert_int_equal(utf8_to_utf16("\xf4\x90\x80\x80", units, 16), -EILSEQ);
    uint16_t lone[2] = {0xd800, 'x'};
    assert_int_equal(utf16_to_utf8(lone, 2, back, sizeof(back)), 4);
    assert_string_equal(back, "\xef\xbf\xbdx");
    assert_int_equal(utf16_to_utf8(units, 5, back, 4), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_name_plans),
        cmocka_unit_test(test_tails),
        cmocka_unit_test(test_checksum_and_display),
        cmocka_unit_test(test_name_validity),
        cmocka_unit_test(test_utf_round_trip),
        cmocka_unit_test(test_odd_short_names_open_by_the_name_shown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
