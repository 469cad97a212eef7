/* The shell tokenizer: words, double quotes inside and around words, the word limit, and a
 * quote left open refusing the line instead of running a guess. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <rayos/errno.h>

#include "kernel/shell_tokenize.h"

static void test_words_and_quotes(void **state)
{
    (void)state;
    char line[] = "  echo \"hello world\" a\"b c\"d\t\"\"  ";
    char *argv[8];
    assert_int_equal(shell_tokenize(line, argv, 8), 4);
    assert_string_equal(argv[0], "echo");
    assert_string_equal(argv[1], "hello world");
    assert_string_equal(argv[2], "ab cd");
    assert_string_equal(argv[3], "");
}

static void test_empty_lines(void **state)
{
    (void)state;
    char *argv[2];
    char empty[] = "";
    char blanks[] = " \t  ";
    assert_int_equal(shell_tokenize(empty, argv, 2), 0);
    assert_int_equal(shell_tokenize(blanks, argv, 2), 0);
}

static void test_too_many_words(void **state)
{
    (void)state;
    char *argv[4];
    char exact[] = "a b c d";
    char many[] = "a b c d e";
    assert_int_equal(shell_tokenize(exact, argv, 4), 4);
    assert_int_equal(shell_tokenize(many, argv, 4), -E2BIG);
}

/* `rm "/a b` once ran as `rm "/a b"`; an open quote anywhere must refuse the whole line. */
static void test_unterminated_quote_refused(void **state)
{
    (void)state;
    char *argv[8];
    const char *lines[] = {"rm \"/a b", "echo \"", "\"", "a\"b c", "echo \"x\" \"y", "x \"\"\""};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char line[32];
        strcpy(line, lines[i]);
        assert_int_equal(shell_tokenize(line, argv, 8), -EINVAL);
    }
    char closed[] = "echo \"x\" \"y\"";
    assert_int_equal(shell_tokenize(closed, argv, 8), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_and_quotes),
        cmocka_unit_test(test_empty_lines),
        cmocka_unit_test(test_too_many_words),
        cmocka_unit_test(test_unterminated_quote_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
