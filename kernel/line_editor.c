/* The shell's line editor: UTF-8 characters, backspace, Ctrl-C, Ctrl-U, CR LF, escape
 * sequences (arrow keys) ignored.  See line_editor.h. */
#include <rayos/string.h>
#include "line_editor.h"

#define ERASE "\b \b"

static void echo(struct line_editor *e, const char *text, size_t length)
{
    if (e->echo && length)
        e->echo(e->echo_context, text, length);
}

static void echo_string(struct line_editor *e, const char *text)
{
    echo(e, text, strlen(text));
}

static void new_line(struct line_editor *e)
{
    e->length = 0;
    e->sequence_length = 0;
    e->sequence_needed = 0;
    e->too_long = false;
    e->unusable = false;
    e->bad_byte = 0;
    e->mode = LINE_TEXT;
}

void line_editor_init(struct line_editor *e, line_echo_t echo_fn, void *context)
{
    memset(e, 0, sizeof(*e));
    e->echo = echo_fn;
    e->echo_context = context;
    new_line(e);
}

char *line_editor_line(struct line_editor *e)
{
    return e->line;
}

static void mark_unusable(struct line_editor *e, uint8_t byte)
{
    if (!e->unusable) {
        e->unusable = true;
        e->bad_byte = byte;
    }
    echo(e, "\a", 1); /* nothing was added: say so */
}

/* Removes the last whole character; returns false when the line is empty. */
static bool erase_character(struct line_editor *e)
{
    if (e->sequence_length) { /* a character still arriving was never echoed */
        e->sequence_length = 0;
        e->sequence_needed = 0;
        return true;
    }
    if (!e->length)
        return false;
    do
        e->length--;
    while (e->length && ((uint8_t)e->line[e->length] & 0xc0) == 0x80);
    echo(e, ERASE, sizeof(ERASE) - 1);
    return true;
}

static void append(struct line_editor *e, const uint8_t *bytes, unsigned count)
{
    if (e->length + count > LINE_EDITOR_MAX - 1) {
        if (!e->too_long)
            echo(e, "\a", 1);
        e->too_long = true;
        return;
    }
    memcpy(e->line + e->length, bytes, count);
    e->length += count;
    echo(e, (const char *)bytes, count);
}

static enum line_event enter(struct line_editor *e)
{
    echo(e, "\n", 1);
    enum line_event event = LINE_COMPLETE;
    char message[120];
    if (e->sequence_length && !e->unusable) { /* a character cut short by Enter */
        e->unusable = true;
        e->bad_byte = e->sequence[0];
    }
    if (e->unusable) {
        if (e->bad_byte >= 0x80)
            snprintf(message, sizeof(message),
                     "line ignored: byte 0x%02x is not UTF-8 (the shell takes UTF-8 text)\n",
                     e->bad_byte);
        else
            snprintf(message, sizeof(message),
                     "line ignored: it holds control character 0x%02x (^%c)\n", e->bad_byte,
                     e->bad_byte == 0x7f ? '?' : e->bad_byte + '@');
        echo_string(e, message);
        event = LINE_REFUSED;
    } else if (e->too_long) {
        snprintf(message, sizeof(message), "line too long (at most %d bytes); ignored\n",
                 LINE_EDITOR_MAX - 1);
        echo_string(e, message);
        event = LINE_REFUSED;
    }
    e->line[event == LINE_COMPLETE ? e->length : 0] = 0;
    new_line(e);
    return event;
}

/* How many bytes a character starting with lead has (0: lead cannot start one). */
static unsigned sequence_size(uint8_t lead)
{
    if (lead >= 0xc2 && lead <= 0xdf)
        return 2;
    if (lead >= 0xe0 && lead <= 0xef)
        return 3;
    if (lead >= 0xf0 && lead <= 0xf4)
        return 4;
    return 0;
}

/* May byte follow what is in the sequence so far?  Rules out overlong forms, surrogates and
 * code points above U+10FFFF at the second byte, as RFC 3629 does. */
static bool continues(const struct line_editor *e, uint8_t byte)
{
    if ((byte & 0xc0) != 0x80)
        return false;
    if (e->sequence_length != 1)
        return true;
    switch (e->sequence[0]) {
    case 0xe0:
        return byte >= 0xa0;
    case 0xed:
        return byte <= 0x9f;
    case 0xf0:
        return byte >= 0x90;
    case 0xf4:
        return byte <= 0x8f;
    default:
        return true;
    }
}

static enum line_event text_byte(struct line_editor *e, uint8_t c);

/* Inside an escape sequence: consumes it; a byte that cannot belong to it ends it and counts
 * as typed (ESC then Enter is still Enter). */
static enum line_event escape_byte(struct line_editor *e, uint8_t c)
{
    switch (e->mode) {
    case LINE_ESCAPE:
        if (c == '[') {
            e->mode = LINE_CSI;
            return LINE_NONE;
        }
        if (c == 'O') {
            e->mode = LINE_SS3;
            return LINE_NONE;
        }
        e->mode = LINE_TEXT;
        if (c >= 0x40 && c < 0x7f) /* a two-byte sequence such as ESC b (Alt-b) */
            return LINE_NONE;
        return text_byte(e, c);
    case LINE_CSI:
        if (c >= 0x20 && c < 0x40) /* parameters and intermediates */
            return LINE_NONE;
        e->mode = LINE_TEXT;
        if (c >= 0x40 && c < 0x7f) /* the final byte */
            return LINE_NONE;
        return text_byte(e, c);
    default: /* LINE_SS3: one final byte */
        e->mode = LINE_TEXT;
        if (c >= 0x40 && c < 0x7f)
            return LINE_NONE;
        return text_byte(e, c);
    }
}

static enum line_event text_byte(struct line_editor *e, uint8_t c)
{
    if (e->sequence_length) {
        if (continues(e, c)) {
            e->sequence[e->sequence_length++] = c;
            if (e->sequence_length == e->sequence_needed) {
                append(e, e->sequence, e->sequence_length);
                e->sequence_length = 0;
            }
            return LINE_NONE;
        }
        /* Cut short: the line is unusable, and c starts afresh (it may be Enter). */
        mark_unusable(e, e->sequence[0]);
        e->sequence_length = 0;
    }
    if (c == '\r' || c == '\n')
        return enter(e);
    if (c >= 0x20 && c < 0x7f) {
        append(e, &c, 1);
        return LINE_NONE;
    }
    if (c >= 0x80) {
        unsigned size = sequence_size(c);
        if (!size) {
            mark_unusable(e, c);
            return LINE_NONE;
        }
        e->sequence[0] = c;
        e->sequence_length = 1;
        e->sequence_needed = size;
        return LINE_NONE;
    }
    switch (c) {
    case 0x03: /* Ctrl-C drops the line */
        echo_string(e, "^C\n");
        new_line(e);
        return LINE_CANCELLED;
    case 0x15: /* Ctrl-U erases it */
        while (erase_character(e)) {
        }
        e->too_long = false;
        e->unusable = false;
        return LINE_NONE;
    case 0x7f:
    case 0x08:
        erase_character(e);
        e->too_long = false; /* what is left is what the terminal shows */
        return LINE_NONE;
    case 0x1b:
        e->mode = LINE_ESCAPE;
        return LINE_NONE;
    default:
        mark_unusable(e, c);
        return LINE_NONE;
    }
}

enum line_event line_editor_feed(struct line_editor *e, uint8_t c)
{
    if (c == '\n' && e->last_was_cr) { /* CR LF from a terminal counts once */
        e->last_was_cr = false;
        return LINE_NONE;
    }
    e->last_was_cr = c == '\r';
    if (e->mode != LINE_TEXT)
        return escape_byte(e, c);
    return text_byte(e, c);
}
