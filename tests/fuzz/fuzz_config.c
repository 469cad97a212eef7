/* libFuzzer: the INI parser (lib/ini.c) and the configuration layer over it (fs/config.c, on
 * the VFS over ramfs).  Input: one byte n, then n bytes "section NUL key NUL value" for a set,
 * then the file.  Checked: serialising a parsed file gives back its bytes; a set changes the
 * one setting (reading it back gives the value) and no other; config_set either writes a file
 * the next boot reads with the value in it, or fails and leaves the old file byte for byte. */
#include <rayos/config.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/ini.h>
#include <rayos/string.h>
#include <rayos/vfs.h>

#include <stdlib.h>
#include <string.h>

extern int host_log_level;

static const char *field(const char **p, const char *end)
{
    const char *start = *p;
    while (*p < end && **p)
        (*p)++;
    if (*p < end)
        (*p)++;
    return start;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Each lookup is a pass over the document, so checking every setting of a file of thousands
 * costs their square: the first settings and a spread of the rest are checked. */
static bool sampled(unsigned n)
{
    return n < 32 || n % 16 == 0;
}

static void check_document(const char *text, size_t length, const char *section, const char *key,
                           const char *value)
{
    struct ini_document *doc = ini_parse(text, length, NULL, NULL);
    if (!doc)
        return;
    size_t out_length;
    char *out = ini_serialize(doc, &out_length);
    if (out && (out_length != length || memcmp(out, text, length) != 0))
        abort(); /* a file read and written back must not change */
    kfree(out);
    struct ini_setting s;
    unsigned n = 0;
    for (unsigned cursor = 0; ini_next(doc, &cursor, &s);) {
        int64_t number;
        ini_parse_integer(s.value, &number);
        if (sampled(n++) &&
            (!ini_get(doc, s.section, s.key) || ini_line_of(doc, s.section, s.key) < s.line))
            abort();
    }
    struct ini_document *changed = ini_parse(text, length, NULL, NULL);
    if (changed && ini_set(changed, section, key, value) == 0) {
        char *new_text = ini_serialize(changed, &out_length);
        struct ini_document *again = new_text ? ini_parse(new_text, out_length, NULL, NULL) : NULL;
        if (again) {
            if (!same(ini_get(again, section, key), value))
                abort(); /* the value set is not the value read */
            n = 0;
            for (unsigned cursor = 0; ini_next(doc, &cursor, &s);)
                if (sampled(n++) &&
                    (strcasecmp(s.section, section) != 0 || strcasecmp(s.key, key) != 0) &&
                    !same(ini_get(again, s.section, s.key), ini_get(doc, s.section, s.key)))
                    abort(); /* another setting changed */
        }
        ini_free(again);
        kfree(new_text);
    }
    ini_free(changed);
    ini_free(doc);
}

static void check_config(const char *text, size_t length, const char *section, const char *key,
                         const char *value)
{
    vfs_unlink(CONFIG_NEW_PATH);
    if (vfs_write_file(CONFIG_PATH, text, length) != 0)
        abort();
    config_load();
    int error = config_set(section, key, value);
    char *now;
    size_t now_length;
    if (vfs_read_file(CONFIG_PATH, 1 << 20, &now, &now_length) != 0)
        abort(); /* the file must survive whatever happened */
    if (error) {
        if (now_length != length || memcmp(now, text, length) != 0)
            abort(); /* a failed set must leave the old file */
    } else {
        struct ini_document *doc = ini_parse(now, now_length, NULL, NULL);
        if (now_length > CONFIG_MAX_BYTES || (doc && !same(ini_get(doc, section, key), value)))
            abort();
        ini_free(doc);
    }
    kfree(now);
    /* Back to no file and the defaults, so that every execution frees what it allocates
     * (otherwise libFuzzer suspects a leak in each and reruns it under LeakSanitizer). */
    vfs_unlink(CONFIG_PATH);
    config_load();
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    static bool mounted;
    host_log_level = -1;
    if (!mounted) {
        if (vfs_mount(&ramfs_type, NULL, "ram0", "/", 0) != 0 || vfs_mkdir("/BOOT") != 0)
            abort();
        mounted = true;
    }
    if (size < 1 || (size_t)input[0] + 1 > size)
        return 0;
    /* the set's three strings, NUL-terminated in a copy */
    char spec[260];
    memcpy(spec, input + 1, input[0]);
    spec[input[0]] = 0;
    spec[input[0] + 1] = 0;
    spec[input[0] + 2] = 0;
    const char *p = spec, *end = spec + input[0] + 3;
    const char *section = field(&p, end), *key = field(&p, end), *value = field(&p, end);
    const char *text = (const char *)input + 1 + input[0];
    size_t length = size - 1 - input[0];
    check_document(text, length, section, key, value);
    check_config(text, length, section, key, value);
    return 0;
}
