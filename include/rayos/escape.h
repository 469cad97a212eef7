/* Printing untrusted text.  Every string that came from a disk, a device or firmware (partition
 * names, volume labels, file names, configuration values, model strings) goes through here
 * before it reaches the console or the log, so it can neither move the cursor, clear the screen
 * nor forge a line of output. */
#ifndef RAYOS_ESCAPE_H
#define RAYOS_ESCAPE_H

#include <rayos/types.h>

/* Copies text (length bytes, NULs included) to out with escapes: C0 controls, DEL, C1 controls
 * (U+0080..U+009F), bidirectional overrides and bytes that are not UTF-8 become \xNN (one per
 * byte); a backslash becomes "\\".  Printable UTF-8 is kept as it is.  out is always
 * NUL-terminated (size > 0) and never ends in half an escape or half a character.  Returns the
 * length the whole escaped text needs, as snprintf does (>= size: it was cut). */
size_t escape_text(char *out, size_t size, const char *text, size_t length);

/* The same, keeping backslashes: the kernel log's last line of defence (kernel/printk.c), for
 * messages that are the kernel's own text with perhaps an unescaped string inside. */
size_t escape_controls(char *out, size_t size, const char *text, size_t length);

/* escape_text over a NUL-terminated string; returns out, for use as a printf argument. */
const char *escape_string(char *out, size_t size, const char *text);

/* Bytes escape_text may need per input byte ("\xNN"), for sizing buffers. */
#define ESCAPE_MAX_RATIO 4

#endif
