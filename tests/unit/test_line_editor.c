/* The shell's line editor: UTF-8 by character, invalid bytes refuse the line, the length
 * limit, escape sequences, CR LF, Ctrl-C and Ctrl-U; what it echoes byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kernel/line_editor.h"

static char echoed[8192];
static size_t echoed_length;
static struct line_editor editor;

static void capture(void *context, const char *text, size_t length)
{
    (void)context;
    assert_true(echoed_length + length < sizeof(echoed));
    memcpy(echoed + echoed_length, text, length);
    echoed_length += length;
    echoed[echoed_length] = 0;
}

static int setup(void **state)
{
    (void)state;
    echoed_length = 0;
    echoed[0] = 0;
    line_editor_init(&editor, capture, NULL);
    return 0;
}

/* Feeds bytes; returns the last event other than LINE_NONE (LINE_NONE if none) and counts
 * the events that were not LINE_NONE. */
static enum line_event feed(const char *bytes, size_t length, unsigned *events)
{
    enum line_event last = LINE_NONE;
    unsigned count = 0;
    for (size_t i = 0; i < length; i++) {
        enum line_event event = line_editor_feed(&editor, (uint8_t)bytes[i]);
        if (event != LINE_NONE) {
            last = event;
            count++;
        }
    }
    if (events)
        *events = count;
    return last;
}

#define FEED(literal) feed(literal, sizeof(literal) - 1, NULL)

static void test_ascii_line(void **state)
{
    (void)state;
    assert_int_equal(FEED("ls /BOOT"), LINE_NONE);
    assert_int_equal(FEED("\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "ls /BOOT");
    assert_string_equal(echoed, "ls /BOOT\n");
}

static void test_utf8_is_kept_and_echoed(void **state)
{
    (void)state;
    assert_int_equal(FEED("rm /a\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "rm /a\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80");
    assert_string_equal(echoed, "rm /a\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\n");
}

static void test_backspace_erases_a_character(void **state)
{
    (void)state;
    /* é (2 bytes), 日 (3), 😀 (4): one backspace each, one "\b \b" each. */
    assert_int_equal(FEED("x\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\x7f\x7f\x08y\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "xy");
    assert_string_equal(echoed, "x\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\b \b\b \b\b \by\n");
    /* Backspace on an empty line echoes nothing. */
    echoed_length = 0;
    assert_int_equal(FEED("\x7f\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "");
    assert_string_equal(echoed, "\n");
}

static void expect_refused(const char *bytes, size_t length, const char *message)
{
    setup(NULL);
    unsigned events;
    assert_int_equal(feed(bytes, length, &events), LINE_REFUSED);
    assert_int_equal(events, 1); /* never a LINE_COMPLETE for part of it */
    assert_string_equal(line_editor_line(&editor), "");
    assert_non_null(strstr(echoed, message));
}

#define REFUSED(literal, message) expect_refused(literal, sizeof(literal) - 1, message)

static void test_invalid_utf8_refuses_the_line(void **state)
{
    (void)state;
    const char *not_utf8 = "is not UTF-8 (the shell takes UTF-8 text)\n";
    char message[80];
    REFUSED("rm /a\xe9\r", "line ignored: byte 0xe9 is not UTF-8 (the shell takes UTF-8 text)\n");
    REFUSED("rm /a\x80\r", not_utf8);                /* lone continuation byte */
    REFUSED("rm /a\xc0\xaf\r", "byte 0xc0");         /* overlong '/' */
    REFUSED("rm /a\xe0\x80\xaf\r", "byte 0xe0");     /* overlong, three bytes */
    REFUSED("rm /a\xed\xa0\x80\r", "byte 0xed");     /* surrogate */
    REFUSED("rm /a\xf4\x90\x80\x80\r", "byte 0xf4"); /* above U+10FFFF */
    REFUSED("rm /a\xf5\x80\x80\x80\r", "byte 0xf5"); /* never a lead byte */
    REFUSED("rm /a\xc3\r", "byte 0xc3");             /* cut short by Enter */
    REFUSED("rm /a\xc3z\r", "byte 0xc3");            /* cut short by ASCII */
    REFUSED("rm /a\xe9\x7f\r", not_utf8);            /* backspace does not clear it */
    snprintf(message, sizeof(message), "line ignored: it holds control character 0x09 (^I)\n");
    REFUSED("rm /a\tb\r", message);
    REFUSED("ls\x04\r", "control character 0x04 (^D)");
    /* The bell says at once that nothing was added. */
    setup(NULL);
    assert_int_equal(FEED("a\xff"), LINE_NONE);
    assert_string_equal(echoed, "a\a");
    /* The next line is fresh. */
    assert_int_equal(FEED("\rls\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "ls");
}

static void test_ctrl_u_clears_a_refused_line(void **state)
{
    (void)state;
    assert_int_equal(FEED("a\xe9\xc3\xa9\x15"), LINE_NONE);
    assert_string_equal(echoed, "a\a\xc3\xa9\b \b\b \b");
    assert_int_equal(FEED("ok\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "ok");
}

static void test_length_limit(void **state)
{
    (void)state;
    char full[LINE_EDITOR_MAX + 8];
    memset(full, 'a', sizeof(full));
    /* One byte too many: refused at Enter. */
    assert_int_equal(feed(full, LINE_EDITOR_MAX, NULL), LINE_NONE);
    assert_int_equal(FEED("\r"), LINE_REFUSED);
    assert_non_null(strstr(echoed, "\nline too long (at most 1023 bytes); ignored\n"));
    assert_non_null(strstr(echoed, "a\a\n")); /* the bell when the first byte was dropped */

    /* Backspacing below the limit makes it a normal line again. */
    setup(NULL);
    feed(full, LINE_EDITOR_MAX + 5, NULL);
    assert_int_equal(FEED("\x7f\r"), LINE_COMPLETE);
    assert_int_equal(strlen(line_editor_line(&editor)), LINE_EDITOR_MAX - 2);

    /* A character that does not fit whole is not cut in half. */
    setup(NULL);
    feed(full, LINE_EDITOR_MAX - 2, NULL);
    assert_int_equal(FEED("\xc3\xa9\r"), LINE_REFUSED);
    setup(NULL);
    feed(full, LINE_EDITOR_MAX - 3, NULL);
    assert_int_equal(FEED("\xc3\xa9\r"), LINE_COMPLETE);
    assert_int_equal(strlen(line_editor_line(&editor)), LINE_EDITOR_MAX - 1);
    assert_memory_equal(line_editor_line(&editor) + LINE_EDITOR_MAX - 3, "\xc3\xa9", 3);
}

static void test_escape_sequences(void **state)
{
    (void)state;
    /* Arrow keys (CSI and SS3), a modified arrow, F1, Alt-b: ignored. */
    assert_int_equal(FEED("l\x1b[Ds\x1bOA\x1b[1;5C\x1bOP\x1b"
                          "b\r"),
                     LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "ls");
    assert_string_equal(echoed, "ls\n");
    /* ESC then Enter: the Enter counts. */
    unsigned events;
    assert_int_equal(feed("df\x1b\r", 4, &events), LINE_COMPLETE);
    assert_int_equal(events, 1);
    assert_string_equal(line_editor_line(&editor), "df");
    /* A sequence cut short by Enter, and by Ctrl-C. */
    assert_int_equal(FEED("mount\x1b[1\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "mount");
    assert_int_equal(FEED("rm /x\x1b[\x03"), LINE_CANCELLED);
}

static void test_cr_lf_and_ctrl_c(void **state)
{
    (void)state;
    unsigned events;
    assert_int_equal(feed("a\r\nb\n\n", 6, &events), LINE_COMPLETE);
    assert_int_equal(events, 3); /* "a", "b" and one empty line: CR LF counts once */
    assert_string_equal(line_editor_line(&editor), "");
    echoed_length = 0;
    assert_int_equal(FEED("rm /important\x03"), LINE_CANCELLED);
    assert_string_equal(echoed, "rm /important^C\n");
    assert_int_equal(FEED("ls\r"), LINE_COMPLETE);
    assert_string_equal(line_editor_line(&editor), "ls");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ascii_line, setup),
        cmocka_unit_test_setup(test_utf8_is_kept_and_echoed, setup),
        cmocka_unit_test_setup(test_backspace_erases_a_character, setup),
        cmocka_unit_test_setup(test_invalid_utf8_refuses_the_line, setup),
        cmocka_unit_test_setup(test_ctrl_u_clears_a_refused_line, setup),
        cmocka_unit_test_setup(test_length_limit, setup),
        cmocka_unit_test_setup(test_escape_sequences, setup),
        cmocka_unit_test_setup(test_cr_lf_and_ctrl_c, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
