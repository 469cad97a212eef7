/* Escaping untrusted text for the console and the log (see <rayos/escape.h>). */
#include <rayos/escape.h>
#include <rayos/string.h>
#include <rayos/utf.h>

/* Code points a terminal acts on, or that reorder what is shown. */
static bool needs_escape(int32_t code_point)
{
    return code_point < 0x20 || code_point == 0x7f || (code_point >= 0x80 && code_point < 0xa0) ||
           (code_point >= 0x202a && code_point <= 0x202e) ||
           (code_point >= 0x2066 && code_point <= 0x2069);
}

/* Appends piece (all or nothing) while it fits; counts it either way. */
static void put(char *out, size_t size, size_t *used, bool *full, const char *piece, size_t n)
{
    if (!*full && size && *used + n < size)
        memcpy(out + *used, piece, n);
    else
        *full = true;
    *used += n;
}

static size_t escape(char *out, size_t size, const char *text, size_t length, bool backslash)
{
    static const char hex[] = "0123456789abcdef";
    size_t used = 0, written = 0, pos = 0;
    bool full = false;
    while (pos < length) {
        size_t start = pos;
        int32_t code_point = utf8_decode(text, length, &pos);
        if (code_point == '\\' && backslash) {
            put(out, size, &used, &full, "\\\\", 2);
        } else if (code_point >= 0 && !needs_escape(code_point)) {
            put(out, size, &used, &full, text + start, pos - start);
        } else {
            if (code_point < 0)
                pos = start + 1; /* not UTF-8: this one byte */
            for (size_t i = start; i < pos; i++) {
                uint8_t byte = (uint8_t)text[i];
                char escape[4] = {'\\', 'x', hex[byte >> 4], hex[byte & 15]};
                put(out, size, &used, &full, escape, 4);
            }
        }
        if (!full)
            written = used;
    }
    if (size)
        out[written] = 0;
    return used;
}

size_t escape_text(char *out, size_t size, const char *text, size_t length)
{
    return escape(out, size, text, length, true);
}

size_t escape_controls(char *out, size_t size, const char *text, size_t length)
{
    return escape(out, size, text, length, false);
}

const char *escape_string(char *out, size_t size, const char *text)
{
    escape_text(out, size, text, strlen(text));
    return out;
}
