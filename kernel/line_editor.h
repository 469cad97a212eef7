/* The shell's line editor as a state machine: fed one byte at a time, it keeps the line,
 * echoes through a callback and says when a line is complete.  It builds on the host too
 * (tests/unit/test_line_editor.c).
 *
 * Lines are UTF-8: editing is by character, and a line holding bytes that are not UTF-8 or
 * control characters it does not know is refused as a whole at Enter (never run with those
 * bytes left out). */
#ifndef KERNEL_LINE_EDITOR_H
#define KERNEL_LINE_EDITOR_H

#include <rayos/types.h>

#define LINE_EDITOR_MAX 1024 /* bytes, with the terminating NUL */

typedef void (*line_echo_t)(void *context, const char *text, size_t length);

enum line_event {
    LINE_NONE,     /* keep feeding */
    LINE_COMPLETE, /* Enter: line_editor_line() is the command; the editor starts a new line */
    LINE_REFUSED,  /* Enter on a line that cannot run; the reason was echoed */
    LINE_CANCELLED /* Ctrl-C: the line was dropped */
};

struct line_editor {
    char line[LINE_EDITOR_MAX];
    size_t length;            /* bytes in line, whole characters only */
    uint8_t sequence[4];      /* a UTF-8 character still arriving */
    unsigned sequence_length; /* bytes of it so far */
    unsigned sequence_needed; /* bytes it will have */
    uint8_t bad_byte;         /* the first byte that made the line unusable */
    bool too_long;            /* characters were dropped at the limit */
    bool unusable;            /* bad_byte: not UTF-8, or an unknown control character */
    bool last_was_cr;         /* CR LF counts as one Enter */
    enum { LINE_TEXT, LINE_ESCAPE, LINE_CSI, LINE_SS3 } mode;
    line_echo_t echo;
    void *echo_context;
};

void line_editor_init(struct line_editor *editor, line_echo_t echo, void *context);
enum line_event line_editor_feed(struct line_editor *editor, uint8_t byte);
/* The complete line (NUL-terminated), valid after LINE_COMPLETE until the next feed. */
char *line_editor_line(struct line_editor *editor);

#endif
