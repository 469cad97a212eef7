/* libFuzzer: the shell's line editor (kernel/line_editor.c) fed arbitrary bytes.  A terminal
 * model applies what the editor echoes (characters, "\b \b" erasing one character, bells);
 * what it shows must always be the editor's line, and a completed line must be exactly what
 * was on the screen when Enter was pressed: valid UTF-8 without control characters, shorter
 * than the limit.  (Issue 16: the shell once ran a different command than the one typed.) */
#include <rayos/utf.h>

#include <stdlib.h>
#include <string.h>

#include "kernel/line_editor.h"

static char shown[LINE_EDITOR_MAX * 2], at_enter[LINE_EDITOR_MAX * 2];
static size_t shown_length, at_enter_length;
static bool line_ended; /* Enter or Ctrl-C was echoed: the rest of this feed is a message */

static void terminal(void *context, const char *text, size_t length)
{
    (void)context;
    if (line_ended)
        return;
    if (length == 3 && memcmp(text, "\b \b", 3) == 0) {
        if (shown_length == 0)
            abort(); /* erasing what is not there */
        do
            shown_length--;
        while (shown_length && ((uint8_t)shown[shown_length] & 0xc0) == 0x80);
    } else if (length == 1 && text[0] == '\a') {
        /* the bell: nothing shown */
    } else if (length == 1 && text[0] == '\n') {
        memcpy(at_enter, shown, shown_length);
        at_enter_length = shown_length;
        line_ended = true;
    } else if (length == 3 && memcmp(text, "^C\n", 3) == 0) {
        line_ended = true;
    } else {
        for (size_t i = 0; i < length; i++)
            if ((uint8_t)text[i] < 0x20 || text[i] == 0x7f)
                abort(); /* a control character reached the screen as part of the line */
        if (shown_length + length > sizeof(shown))
            abort();
        memcpy(shown + shown_length, text, length);
        shown_length += length;
    }
}

static void check_line(const char *line)
{
    size_t length = strlen(line);
    if (length >= LINE_EDITOR_MAX || length != at_enter_length || memcmp(line, at_enter, length))
        abort(); /* the line run is not the line shown */
    for (size_t pos = 0; pos < length;) {
        int32_t c = utf8_decode(line, length, &pos);
        if (c < 0x20 || c == 0x7f)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct line_editor editor;
    line_editor_init(&editor, terminal, NULL);
    shown_length = 0;
    for (size_t i = 0; i < size; i++) {
        line_ended = false;
        enum line_event event = line_editor_feed(&editor, data[i]);
        if (event == LINE_COMPLETE)
            check_line(line_editor_line(&editor));
        if (event != LINE_NONE) {
            if (!line_ended)
                abort(); /* the line ended without the screen saying so */
            shown_length = 0;
            continue;
        }
        if (line_ended || editor.length > LINE_EDITOR_MAX - 1 || editor.sequence_length > 3 ||
            shown_length != editor.length || memcmp(shown, editor.line, editor.length) != 0)
            abort(); /* the screen and the editor disagree */
    }
    return 0;
}
