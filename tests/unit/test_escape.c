/* Escaping untrusted text: what is kept, what becomes \xNN, cutting at the buffer's end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <rayos/escape.h>

static void expect(const char *text, size_t length, const char *escaped)
{
    char out[256];
    size_t n = escape_text(out, sizeof(out), text, length);
    assert_string_equal(out, escaped);
    assert_int_equal(n, strlen(escaped));
}

#define EXPECT(literal, escaped) expect(literal, sizeof(literal) - 1, escaped)

static void test_printable_text_is_kept(void **state)
{
    (void)state;
    EXPECT("EFI System", "EFI System");
    EXPECT("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
           "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
    EXPECT("", "");
}

static void test_controls_and_bad_bytes_are_escaped(void **state)
{
    (void)state;
    EXPECT("a\x1b[2Jb", "a\\x1b[2Jb");                    /* clear screen */
    EXPECT("x\r\n[ 0.0] fake", "x\\x0d\\x0a[ 0.0] fake"); /* a forged log line */
    EXPECT("\t\x7f\b", "\\x09\\x7f\\x08");
    EXPECT("n\0ul", "n\\x00ul");
    EXPECT("c1 \xc2\x9b"
           "31m",
           "c1 \\xc2\\x9b31m"); /* U+009B, the one-byte CSI */
    EXPECT("\xe2\x80\xae"
           "evil",
           "\\xe2\\x80\\xaeevil"); /* right-to-left override */
    EXPECT("latin1 \xe9t\xe9", "latin1 \\xe9t\\xe9");
    EXPECT("\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80",
           "\\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80");
    EXPECT("cut \xe6\x97", "cut \\xe6\\x97");
    EXPECT("back\\slash", "back\\\\slash");
}

static void test_cut_never_splits(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'Z', sizeof(out));
    /* "ab" + "\x1b" (4) would need 6 + NUL = 7: fits; one more byte does not. */
    assert_int_equal(escape_text(out, 7, "ab\x1b", 3), 6);
    assert_string_equal(out, "ab\\x1b");
    assert_int_equal(escape_text(out, 6, "ab\x1b", 3), 6);
    assert_string_equal(out, "ab"); /* never half an escape */
    assert_int_equal(escape_text(out, 8,
                                 "ab\x1b"
                                 "c",
                                 4),
                     7);
    assert_string_equal(out, "ab\\x1bc");
    assert_int_equal(escape_text(out, 4, "a\xc3\xa9\xc3\xa9", 5), 5);
    assert_string_equal(out, "a\xc3\xa9");
    assert_int_equal(escape_text(out, 3, "a\xc3\xa9", 3), 3);
    assert_string_equal(out, "a"); /* not half an é */
    assert_int_equal(escape_text(out, 1, "abc", 3), 3);
    assert_string_equal(out, "");
    assert_int_equal(escape_text(NULL, 0, "abc", 3), 3);
    char buffer[32];
    assert_int_equal(escape_controls(buffer, sizeof(buffer), "\\_SB\x1b", 5), 8);
    assert_string_equal(buffer, "\\_SB\\x1b");
    assert_string_equal(escape_string(buffer, sizeof(buffer), "vm\x07"), "vm\\x07");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable_text_is_kept),
        cmocka_unit_test(test_controls_and_bad_bytes_are_escaped),
        cmocka_unit_test(test_cut_never_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
