/* INI documents: "[section]", "key = value", '#' and ';' comments, double-quoted values.  The
 * document keeps every line as written, so changing one value and writing the file back keeps
 * the comments and the order of everything else. */
#ifndef RAYOS_INI_H
#define RAYOS_INI_H

#include <rayos/types.h>

struct ini_document;

/* Called for each line that is not understood: line numbers start at 1. */
typedef void (*ini_report_t)(void *context, unsigned line, const char *message);

/* Parses text (not necessarily NUL-terminated).  Malformed lines are reported and kept as they
 * are; every line keeps its bytes (NULs included) and its ending (LF, CRLF or none), so
 * ini_serialize gives back the same bytes.  Returns NULL only when out of memory. */
struct ini_document *ini_parse(const char *text, size_t length, ini_report_t report, void *context);
void ini_free(struct ini_document *doc);

/* The value of section.key, or NULL.  Section and key names compare case-insensitively. */
const char *ini_get(const struct ini_document *doc, const char *section, const char *key);
const char *ini_get_string(const struct ini_document *doc, const char *section, const char *key,
                           const char *fallback);
/* Integers in decimal or 0x hex, with an optional K, M, G or T suffix (powers of 1024);
 * -EINVAL (and *value untouched) if the text is not such a number, -ENOENT if absent. */
int ini_get_integer(const struct ini_document *doc, const char *section, const char *key,
                    int64_t *value);
/* true/false, yes/no, on/off, 1/0; -EINVAL or -ENOENT as above. */
int ini_get_bool(const struct ini_document *doc, const char *section, const char *key, bool *value);
int ini_parse_integer(const char *text, int64_t *value);
int ini_parse_bool(const char *text, bool *value);

/* Sets section.key: rewrites its line in place, or adds the key at the end of the section, or
 * adds the section at the end of the document.  Values with spaces, quotes or comment characters
 * are written quoted.  Returns 0 or -ENOMEM/-EINVAL: names with '[', ']', '=', '"' or control
 * characters, with spaces around them, or a key starting with '#' or ';' (a comment), since
 * the file would read back differently. */
int ini_set(struct ini_document *doc, const char *section, const char *key, const char *value);

/* Iteration over keys: index 0, 1, ... until it returns false. */
bool ini_entry(const struct ini_document *doc, unsigned index, const char **section,
               const char **key, const char **value);
/* One pass over every setting in file order, with its line number (ini_entry starts over
 * each time: a loop over it is quadratic).  Start with *cursor = 0. */
struct ini_setting {
    const char *section, *key, *value;
    unsigned line; /* from 1 */
};
bool ini_next(const struct ini_document *doc, unsigned *cursor, struct ini_setting *out);
/* The line number (from 1) where section.key is set (its last assignment, the one that
 * counts), 0 if it is not. */
unsigned ini_line_of(const struct ini_document *doc, const char *section, const char *key);
/* The line number where a section header stands, 0 if absent. */
unsigned ini_section_line(const struct ini_document *doc, const char *section);

/* Sections in order: index 0, 1, ... until NULL. */
const char *ini_section(const struct ini_document *doc, unsigned index);

/* The document as text (malloc'd with kmalloc, NUL-terminated); NULL when out of memory. */
char *ini_serialize(const struct ini_document *doc, size_t *length);

#endif
