/* INI parser and editor: values, types, comments kept, malformed lines reported, edits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rayos/errno.h>
#include <rayos/ini.h>

#define ARRAY_LENGTH(a) (sizeof(a) / sizeof((a)[0]))

struct reports {
    unsigned count;
    unsigned lines[16];
    char messages[16][64];
};

static void collect(void *context, unsigned line, const char *message)
{
    struct reports *r = context;
    if (r->count < 16) {
        r->lines[r->count] = line;
        snprintf(r->messages[r->count], 64, "%s", message);
    }
    r->count++;
}

static struct ini_document *parse(const char *text, struct reports *r)
{
    struct ini_document *doc = ini_parse(text, strlen(text), collect, r);
    assert_non_null(doc);
    return doc;
}

static const char sample[] = "# RayOS configuration\n"
                             "top = level\n"
                             "\n"
                             "[log]\n"
                             "level = 6   ; info\n"
                             "file_max_size = 512K\n"
                             "path = \"/LOG/KERNEL.LOG\"  # quoted\n"
                             "\n"
                             "[vm Debian Test]\n"
                             "image=/VMS/DEBIAN.IMG\n"
                             "read_only = yes\n";

static void test_values_and_types(void **state)
{
    struct reports r = {0};
    struct ini_document *doc = parse(sample, &r);
    assert_int_equal(r.count, 0);
    assert_string_equal(ini_get(doc, "", "top"), "level");
    assert_string_equal(ini_get(doc, "LOG", "Level"), "6");
    assert_string_equal(ini_get(doc, "log", "path"), "/LOG/KERNEL.LOG");
    assert_string_equal(ini_get(doc, "vm Debian Test", "image"), "/VMS/DEBIAN.IMG");
    assert_null(ini_get(doc, "log", "missing"));
    assert_string_equal(ini_get_string(doc, "log", "missing", "dflt"), "dflt");
    int64_t v;
    assert_int_equal(ini_get_integer(doc, "log", "file_max_size", &v), 0);
    assert_int_equal(v, 512 * 1024);
    assert_int_equal(ini_get_integer(doc, "log", "path", &v), -EINVAL);
    assert_int_equal(ini_get_integer(doc, "log", "nothing", &v), -ENOENT);
    bool b = false;
    assert_int_equal(ini_get_bool(doc, "vm debian test", "read_only", &b), 0);
    assert_true(b);
    assert_string_equal(ini_section(doc, 1), "vm Debian Test");
    assert_null(ini_section(doc, 2));
    ini_free(doc);
}

static void test_integer_units(void **state)
{
    int64_t v;
    assert_int_equal(ini_parse_integer("512M", &v), 0);
    assert_int_equal(v, 512LL << 20);
    assert_int_equal(ini_parse_integer("2G", &v), 0);
    assert_int_equal(v, 2LL << 30);
    assert_int_equal(ini_parse_integer("4KiB", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(ini_parse_integer("0x10", &v), 0);
    assert_int_equal(v, 16);
    assert_int_equal(ini_parse_integer("-3", &v), 0);
    assert_int_equal(v, -3);
    assert_int_equal(ini_parse_integer("12Q", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("99999999999999999999T", &v), -EINVAL);
    bool b;
    assert_int_equal(ini_parse_bool("Off", &b), 0);
    assert_false(b);
    assert_int_equal(ini_parse_bool("maybe", &b), -EINVAL);
}

/* ini.h promises decimal or 0x hex: a leading zero is decimal (never octal), and values that
 * do not fit are errors, not wrapped around (the kernel's strtoull wraps). */
static void test_integers_are_decimal_or_hex(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(ini_parse_integer("0100M", &v), 0);
    assert_int_equal(v, 100LL << 20);
    assert_int_equal(ini_parse_integer("08", &v), 0);
    assert_int_equal(v, 8);
    assert_int_equal(ini_parse_integer("0755", &v), 0);
    assert_int_equal(v, 755);
    assert_int_equal(ini_parse_integer("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ini_parse_integer("0X1fK", &v), 0);
    assert_int_equal(v, 31 * 1024);
    assert_int_equal(ini_parse_integer("-010", &v), 0);
    assert_int_equal(v, -10);
    assert_int_equal(ini_parse_integer("0x", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("0xg", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("1f", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("+5", &v), -EINVAL);
    assert_int_equal(ini_parse_integer(" 5", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("18446744073709551617", &v), -EINVAL); /* 2^64 + 1 */
    assert_int_equal(ini_parse_integer("0x10000000000000001", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("9223372036854775807", &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(ini_parse_integer("9223372036854775808", &v), -EINVAL);
    assert_int_equal(ini_parse_integer("9007199254740992K", &v), -EINVAL); /* 2^63 bytes */
}

static void test_malformed_lines_reported_with_numbers(void **state)
{
    struct reports r = {0};
    struct ini_document *doc = parse("[ok]\n"
                                     "good = 1\n"
                                     "no equals sign\n"
                                     "[broken\n"
                                     " = empty key\n"
                                     "q = \"unterminated\n"
                                     "after = 2\n",
                                     &r);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.lines[0], 3);
    assert_int_equal(r.lines[1], 4);
    assert_int_equal(r.lines[2], 5);
    assert_int_equal(r.lines[3], 6);
    assert_string_equal(ini_get(doc, "ok", "after"), "2");
    assert_int_equal(ini_line_of(doc, "ok", "after"), 7);
    assert_int_equal(ini_line_of(doc, "ok", "missing"), 0);
    assert_int_equal(ini_section_line(doc, "OK"), 1);
    /* The malformed lines are kept verbatim when the file is written back. */
    char *text = ini_serialize(doc, NULL);
    assert_non_null(strstr(text, "no equals sign\n[broken\n"));
    free(text);
    ini_free(doc);
}

static void test_set_preserves_comments_and_order(void **state)
{
    struct reports r = {0};
    struct ini_document *doc = parse(sample, &r);
    assert_int_equal(ini_set(doc, "log", "level", "7"), 0);
    assert_int_equal(ini_set(doc, "log", "new_key", "has spaces # and hash"), 0);
    assert_int_equal(ini_set(doc, "net", "mode", "dhcp"), 0);
    char *text = ini_serialize(doc, NULL);
    assert_string_equal(text, "# RayOS configuration\n"
                              "top = level\n"
                              "\n"
                              "[log]\n"
                              "level = 7\n"
                              "file_max_size = 512K\n"
                              "path = \"/LOG/KERNEL.LOG\"  # quoted\n"
                              "new_key = \"has spaces # and hash\"\n"
                              "\n"
                              "[vm Debian Test]\n"
                              "image=/VMS/DEBIAN.IMG\n"
                              "read_only = yes\n"
                              "\n"
                              "[net]\n"
                              "mode = dhcp\n");
    /* What was written parses back to the same values. */
    struct ini_document *again = parse(text, &r);
    assert_int_equal(r.count, 0);
    assert_string_equal(ini_get(again, "log", "new_key"), "has spaces # and hash");
    assert_string_equal(ini_get(again, "net", "mode"), "dhcp");
    free(text);
    ini_free(again);
    assert_int_equal(ini_set(doc, "bad]", "k", "v"), -EINVAL);
    assert_int_equal(ini_set(doc, "s", "k=", "v"), -EINVAL);
    assert_int_equal(ini_set(doc, "s", "k", "line\nbreak"), -EINVAL);
    /* found by fuzz_config: names the file would read back differently */
    assert_int_equal(ini_set(doc, "vm ", "k", "v"), -EINVAL); /* read as [vm] */
    assert_int_equal(ini_set(doc, "s", " k", "v"), -EINVAL);
    assert_int_equal(ini_set(doc, "s", "#k", "v"), -EINVAL); /* a comment */
    assert_int_equal(ini_set(doc, "s", ";k", "v"), -EINVAL);
    ini_free(doc);
}

static void test_binary_garbage_and_crlf(void **state)
{
    char garbage[4096];
    unsigned seed = 12345;
    for (size_t i = 0; i < sizeof(garbage); i++) {
        seed = seed * 1103515245 + 12345;
        garbage[i] = (char)(seed >> 16);
    }
    struct reports r = {0};
    struct ini_document *doc = ini_parse(garbage, sizeof(garbage), collect, &r);
    assert_non_null(doc);
    assert_true(r.count > 0);
    ini_free(doc);
    struct reports r2 = {0};
    doc = parse("[a]\r\nk = v\r\n", &r2);
    assert_int_equal(r2.count, 0);
    assert_string_equal(ini_get(doc, "a", "k"), "v");
    ini_free(doc);
    doc = parse("", &r2);
    assert_null(ini_get(doc, "a", "k"));
    ini_free(doc);
}

/* Parses bytes and serializes them back; returns the text (malloc'd) and its length. */
static char *round_trip(const char *text, size_t length, size_t *out_length)
{
    struct ini_document *doc = ini_parse(text, length, NULL, NULL);
    assert_non_null(doc);
    char *out = ini_serialize(doc, out_length);
    ini_free(doc);
    return out;
}

/* Without a set, the bytes come back exactly: CRLF, a bare CR at the end, NUL bytes, no final
 * newline, random garbage. */
static void test_serialize_gives_back_every_byte(void **state)
{
    (void)state;
#define TEXT(literal)                                                                              \
    {                                                                                              \
        literal, sizeof(literal) - 1                                                               \
    }
    static const struct {
        const char *bytes;
        size_t length;
    } texts[] = {
        TEXT("[log]\r\nlevel = 6\r\n# c\r\n"),
        TEXT("[log]\nlevel = 6"),
        TEXT("a = 1\r"),
        TEXT("[x]\nk\0ey = v\0lue\n"),
        TEXT("\n\n\r\n"),
        TEXT("mixed = 1\r\nlf = 2\n"),
    };
    for (unsigned i = 0; i < ARRAY_LENGTH(texts); i++) {
        size_t n;
        char *out = round_trip(texts[i].bytes, texts[i].length, &n);
        assert_int_equal(n, texts[i].length);
        assert_memory_equal(out, texts[i].bytes, n);
        free(out);
    }
    char garbage[4096];
    unsigned seed = 777;
    for (size_t i = 0; i < sizeof(garbage); i++) {
        seed = seed * 1103515245 + 12345;
        garbage[i] = (char)(seed >> 16);
    }
    size_t n;
    char *out = round_trip(garbage, sizeof(garbage), &n);
    assert_int_equal(n, sizeof(garbage));
    assert_memory_equal(out, garbage, n);
    free(out);
}

static char *set_and_serialize(const char *text, size_t length, const char *section,
                               const char *key, const char *value, size_t *out_length)
{
    struct ini_document *doc = ini_parse(text, length, NULL, NULL);
    assert_non_null(doc);
    assert_int_equal(ini_set(doc, section, key, value), 0);
    char *out = ini_serialize(doc, out_length);
    ini_free(doc);
    return out;
}

/* One set changes one line (or adds one): a CRLF file stays CRLF, a line holding a NUL byte
 * keeps it, a file without a final newline stays without. */
static void test_set_keeps_every_other_byte(void **state)
{
    (void)state;
    size_t n;
    static const char crlf[] =
        "# top\r\n[log]\r\nlevel = 6\r\nfile = x\r\n\r\n[vm a]\r\nsize = 1M\r\n";
    char *out = set_and_serialize(crlf, sizeof(crlf) - 1, "log", "level", "7", &n);
    static const char crlf_set[] =
        "# top\r\n[log]\r\nlevel = 7\r\nfile = x\r\n\r\n[vm a]\r\nsize = 1M\r\n";
    assert_int_equal(n, sizeof(crlf_set) - 1);
    assert_memory_equal(out, crlf_set, n);
    free(out);
    out = set_and_serialize(crlf, sizeof(crlf) - 1, "log", "files", "2", &n);
    static const char crlf_add[] = "# top\r\n[log]\r\nlevel = 6\r\nfile = x\r\nfiles = "
                                   "2\r\n\r\n[vm a]\r\nsize = 1M\r\n";
    assert_int_equal(n, sizeof(crlf_add) - 1);
    assert_memory_equal(out, crlf_add, n);
    free(out);
    out = set_and_serialize(crlf, sizeof(crlf) - 1, "net", "mode", "dhcp", &n);
    static const char crlf_section[] = "# top\r\n[log]\r\nlevel = 6\r\nfile = x\r\n\r\n[vm "
                                       "a]\r\nsize = 1M\r\n\r\n[net]\r\nmode = dhcp\r\n";
    assert_int_equal(n, sizeof(crlf_section) - 1);
    assert_memory_equal(out, crlf_section, n);
    free(out);

    static const char nul[] = "[log]\nlev\0el = 5\nlevel = 6\n";
    out = set_and_serialize(nul, sizeof(nul) - 1, "log", "level", "7", &n);
    static const char nul_set[] = "[log]\nlev\0el = 5\nlevel = 7\n";
    assert_int_equal(n, sizeof(nul_set) - 1);
    assert_memory_equal(out, nul_set, n);
    free(out);

    static const char open_end[] = "[log]\nlevel = 6";
    out = set_and_serialize(open_end, sizeof(open_end) - 1, "log", "files", "3", &n);
    static const char open_end_add[] = "[log]\nlevel = 6\nfiles = 3";
    assert_int_equal(n, sizeof(open_end_add) - 1);
    assert_memory_equal(out, open_end_add, n);
    free(out);
    out = set_and_serialize(open_end, sizeof(open_end) - 1, "log", "level", "2", &n);
    assert_int_equal(n, sizeof(open_end) - 1);
    assert_memory_equal(out, "[log]\nlevel = 2", n);
    free(out);
}

/* Settings in one pass with the line each stands on; a repeated key cites each of its lines. */
static void test_settings_in_one_pass_with_their_lines(void **state)
{
    (void)state;
    struct reports r = {0};
    struct ini_document *doc = parse("x = 1\n\n[a]\nx = 2\r\n# c\nx = 3\n", &r);
    struct ini_setting s;
    unsigned cursor = 0, lines[4] = {0}, count = 0;
    while (ini_next(doc, &cursor, &s) && count < 4)
        lines[count++] = s.line;
    assert_int_equal(count, 3);
    assert_int_equal(lines[0], 1);
    assert_int_equal(lines[1], 4);
    assert_int_equal(lines[2], 6);
    assert_int_equal(ini_line_of(doc, "a", "x"), 6); /* the assignment that counts */
    ini_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_types),
        cmocka_unit_test(test_integer_units),
        cmocka_unit_test(test_integers_are_decimal_or_hex),
        cmocka_unit_test(test_malformed_lines_reported_with_numbers),
        cmocka_unit_test(test_set_preserves_comments_and_order),
        cmocka_unit_test(test_binary_garbage_and_crlf),
        cmocka_unit_test(test_serialize_gives_back_every_byte),
        cmocka_unit_test(test_set_keeps_every_other_byte),
        cmocka_unit_test(test_settings_in_one_pass_with_their_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
