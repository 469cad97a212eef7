/* INI parsing and editing that preserves the file: each line is kept verbatim unless set. */
#include <rayos/ctype.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/ini.h>
#include <rayos/string.h>

enum line_kind { LINE_BLANK, LINE_COMMENT, LINE_SECTION, LINE_ENTRY, LINE_INVALID };
enum line_ending { ENDING_NONE, ENDING_LF, ENDING_CRLF };

struct ini_line {
    enum line_kind kind;
    enum line_ending ending; /* as written: lines set or added get the file's first ending */
    size_t length;           /* of text, which may hold NUL bytes (kept, never cut there) */
    char *text;              /* the line as written (without newline) */
    char *section; /* LINE_SECTION: its name; LINE_ENTRY: the section it is in ("" before any) */
    char *key;     /* LINE_ENTRY */
    char *value;   /* LINE_ENTRY: unquoted */
};

struct ini_document {
    struct ini_line *lines;
    unsigned count, capacity;
};

static char *copy_range(const char *start, size_t length)
{
    char *s = kmalloc(length + 1);
    if (s) {
        memcpy(s, start, length);
        s[length] = 0;
    }
    return s;
}

static void trim(const char **start, const char **end)
{
    while (*start < *end && is_space(**start))
        (*start)++;
    while (*end > *start && is_space((*end)[-1]))
        (*end)--;
}

static bool add_line(struct ini_document *doc, struct ini_line line)
{
    if (doc->count == doc->capacity) {
        unsigned capacity = doc->capacity ? doc->capacity * 2 : 16;
        struct ini_line *grown = krealloc(doc->lines, capacity * sizeof(*grown));
        if (!grown)
            return false;
        doc->lines = grown;
        doc->capacity = capacity;
    }
    doc->lines[doc->count++] = line;
    return true;
}

/* Parses a value: a quoted string (with \" and \\ escapes) or bare text up to a comment that
 * follows whitespace.  Returns NULL with *error set when malformed. */
static char *parse_value(const char *start, const char *end, const char **error)
{
    trim(&start, &end);
    if (start < end && *start == '"') {
        char *out = kmalloc((size_t)(end - start) + 1), *o = out;
        if (!out)
            return NULL;
        const char *p = start + 1;
        for (; p < end && *p != '"'; p++) {
            if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
                p++;
            *o++ = *p;
        }
        *o = 0;
        if (p >= end) {
            kfree(out);
            *error = "unterminated quoted value";
            return NULL;
        }
        const char *rest = p + 1;
        while (rest < end && is_space(*rest))
            rest++;
        if (rest < end && *rest != '#' && *rest != ';') {
            kfree(out);
            *error = "text after a quoted value";
            return NULL;
        }
        return out;
    }
    for (const char *p = start; p < end; p++) {
        if ((*p == '#' || *p == ';') && p > start && is_space(p[-1])) {
            end = p;
            break;
        }
    }
    trim(&start, &end);
    return copy_range(start, (size_t)(end - start));
}

static bool valid_name(const char *start, const char *end)
{
    if (start == end)
        return false;
    for (const char *p = start; p < end; p++)
        if (*p == '[' || *p == ']' || *p == '=' || *p == '"' || !is_print((unsigned char)*p))
            return false;
    return true;
}

struct ini_document *ini_parse(const char *text, size_t length, ini_report_t report, void *context)
{
    struct ini_document *doc = kzalloc(sizeof(*doc));
    if (!doc)
        return NULL;
    const char *section = "";
    unsigned number = 0;
    for (size_t pos = 0; pos < length;) {
        const char *line = text + pos;
        const char *newline = memchr(line, '\n', length - pos);
        const char *end = newline ? newline : text + length;
        pos = (size_t)(end - text) + (newline ? 1 : 0);
        number++;
        const char *raw_end = newline && end > line && end[-1] == '\r' ? end - 1 : end;
        struct ini_line entry = {
            .kind = LINE_BLANK,
            .ending = !newline        ? ENDING_NONE
                      : raw_end < end ? ENDING_CRLF
                                      : ENDING_LF,
            .length = (size_t)(raw_end - line),
            .text = copy_range(line, (size_t)(raw_end - line)),
        };
        if (!entry.text)
            goto out_of_memory;
        const char *start = line, *stop = raw_end;
        trim(&start, &stop);
        const char *error = NULL;
        if (memchr(line, 0, (size_t)(raw_end - line))) {
            entry.kind = LINE_INVALID;
            error = "line contains a NUL byte";
        } else if (start == stop) {
            entry.kind = LINE_BLANK;
        } else if (*start == '#' || *start == ';') {
            entry.kind = LINE_COMMENT;
        } else if (*start == '[') {
            const char *close = memchr(start, ']', (size_t)(stop - start));
            const char *name = start + 1, *name_end = close;
            if (close)
                trim(&name, &name_end);
            const char *after = close ? close + 1 : stop;
            while (after < stop && is_space(*after))
                after++;
            if (!close || !valid_name(name, name_end) ||
                (after < stop && *after != '#' && *after != ';')) {
                entry.kind = LINE_INVALID;
                error = "malformed section header";
            } else {
                entry.kind = LINE_SECTION;
                entry.section = copy_range(name, (size_t)(name_end - name));
                if (!entry.section)
                    goto out_of_memory;
                section = entry.section;
            }
        } else {
            const char *equals = memchr(start, '=', (size_t)(stop - start));
            const char *key = start, *key_end = equals;
            if (equals)
                trim(&key, &key_end);
            if (!equals || !valid_name(key, key_end)) {
                entry.kind = LINE_INVALID;
                error = equals ? "missing or invalid key name" : "expected 'key = value'";
            } else {
                entry.value = parse_value(equals + 1, stop, &error);
                if (entry.value) {
                    entry.kind = LINE_ENTRY;
                    entry.key = copy_range(key, (size_t)(key_end - key));
                    entry.section = kstrdup(section);
                    if (!entry.key || !entry.section)
                        goto out_of_memory;
                } else if (!error) {
                    goto out_of_memory;
                } else {
                    entry.kind = LINE_INVALID;
                }
            }
        }
        if (error && report)
            report(context, number, error);
        if (!add_line(doc, entry))
            goto out_of_memory;
        continue;
    out_of_memory:
        kfree(entry.text);
        kfree(entry.section);
        kfree(entry.key);
        kfree(entry.value);
        ini_free(doc);
        return NULL;
    }
    return doc;
}

void ini_free(struct ini_document *doc)
{
    if (!doc)
        return;
    for (unsigned i = 0; i < doc->count; i++) {
        kfree(doc->lines[i].text);
        kfree(doc->lines[i].section);
        kfree(doc->lines[i].key);
        kfree(doc->lines[i].value);
    }
    kfree(doc->lines);
    kfree(doc);
}

static int find_entry(const struct ini_document *doc, const char *section, const char *key)
{
    int found = -1; /* the last assignment wins, as in most INI readers */
    for (unsigned i = 0; i < doc->count; i++) {
        const struct ini_line *l = &doc->lines[i];
        if (l->kind == LINE_ENTRY && strcasecmp(l->section, section) == 0 &&
            strcasecmp(l->key, key) == 0)
            found = (int)i;
    }
    return found;
}

const char *ini_get(const struct ini_document *doc, const char *section, const char *key)
{
    int i = doc ? find_entry(doc, section, key) : -1;
    return i < 0 ? NULL : doc->lines[i].value;
}

const char *ini_get_string(const struct ini_document *doc, const char *section, const char *key,
                           const char *fallback)
{
    const char *v = ini_get(doc, section, key);
    return v ? v : fallback;
}

int ini_parse_integer(const char *text, int64_t *value)
{
    const char *p = text;
    bool negative = *p == '-';
    if (negative)
        p++;
    uint64_t v;
    const char *end = parse_u64(p, &v); /* decimal or 0x hex: "0100" is one hundred */
    if (!end)
        return -EINVAL;
    uint64_t scale = 1;
    switch (to_upper((unsigned char)*end)) {
    case 'K':
        scale = 1ULL << 10;
        end++;
        break;
    case 'M':
        scale = 1ULL << 20;
        end++;
        break;
    case 'G':
        scale = 1ULL << 30;
        end++;
        break;
    case 'T':
        scale = 1ULL << 40;
        end++;
        break;
    default:
        break;
    }
    if (scale > 1 && (*end == 'B' || *end == 'b' || *end == 'i'))
        end += *end == 'i' && (end[1] == 'B' || end[1] == 'b') ? 2 : 1;
    if (*end != 0 || (int64_t)v < 0 || v > (uint64_t)INT64_MAX / scale)
        return -EINVAL;
    *value = negative ? -(int64_t)(v * scale) : (int64_t)(v * scale);
    return 0;
}

int ini_parse_bool(const char *text, bool *value)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (unsigned i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *value = false;
            return 0;
        }
    }
    return -EINVAL;
}

int ini_get_integer(const struct ini_document *doc, const char *section, const char *key,
                    int64_t *value)
{
    const char *v = ini_get(doc, section, key);
    return v ? ini_parse_integer(v, value) : -ENOENT;
}

int ini_get_bool(const struct ini_document *doc, const char *section, const char *key, bool *value)
{
    const char *v = ini_get(doc, section, key);
    return v ? ini_parse_bool(v, value) : -ENOENT;
}

static bool needs_quotes(const char *value)
{
    if (!*value)
        return false;
    if (is_space((unsigned char)value[0]) || is_space((unsigned char)value[strlen(value) - 1]))
        return true;
    return strcspn(value, "\"#;") != strlen(value);
}

static char *format_entry(const char *key, const char *value)
{
    size_t n = strlen(key) + 2 * strlen(value) + 8;
    char *text = kmalloc(n), *o;
    if (!text)
        return NULL;
    o = text + snprintf(text, n, "%s = ", key);
    if (needs_quotes(value)) {
        *o++ = '"';
        for (const char *p = value; *p; p++) {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
            *o++ = *p;
        }
        *o++ = '"';
    } else {
        strcpy(o, value);
        o += strlen(value);
    }
    *o = 0;
    return text;
}

/* A name ini_set may write: one the parser reads back as the same name, so no spaces around
 * it (the parser trims them). */
static bool valid_text(const char *s)
{
    size_t length = strlen(s);
    return valid_name(s, s + length) && !is_space((unsigned char)s[0]) &&
           !is_space((unsigned char)s[length - 1]);
}

/* A key must also not start like a comment: "#x = 1" would be read as one. */
static bool valid_key(const char *s)
{
    return valid_text(s) && s[0] != '#' && s[0] != ';';
}

/* The ending new lines get: the file's first one (CRLF files stay CRLF). */
static enum line_ending usual_ending(const struct ini_document *doc)
{
    for (unsigned i = 0; i < doc->count; i++)
        if (doc->lines[i].ending != ENDING_NONE)
            return doc->lines[i].ending;
    return ENDING_LF;
}

static int insert_entry(struct ini_document *doc, const char *section, const char *key, char *text,
                        char *value_copy, enum line_ending ending);

int ini_set(struct ini_document *doc, const char *section, const char *key, const char *value)
{
    if (!valid_key(key) || (*section && !valid_text(section)) || strchr(value, '\n') ||
        strchr(value, '\r'))
        return -EINVAL;
    char *text = format_entry(key, value);
    char *value_copy = kstrdup(value);
    if (!text || !value_copy) {
        kfree(text);
        kfree(value_copy);
        return -ENOMEM;
    }
    int existing = find_entry(doc, section, key);
    if (existing >= 0) { /* the line changes; its ending and every other line stay */
        struct ini_line *l = &doc->lines[existing];
        kfree(l->text);
        kfree(l->value);
        l->text = text;
        l->length = strlen(text);
        l->value = value_copy;
        return 0;
    }
    /* A file whose last line has no newline keeps it that way: the old last line gets one,
     * the new last line goes without. */
    enum line_ending ending = usual_ending(doc);
    struct ini_line *last = doc->count ? &doc->lines[doc->count - 1] : NULL;
    bool unterminated = last && last->ending == ENDING_NONE;
    if (unterminated)
        last->ending = ending;
    int error = insert_entry(doc, section, key, text, value_copy, ending);
    if (unterminated)
        doc->lines[doc->count - 1].ending = ENDING_NONE;
    return error;
}

static int insert_entry(struct ini_document *doc, const char *section, const char *key, char *text,
                        char *value_copy, enum line_ending ending)
{
    /* Insert after the section's last entry (or its header); a new section goes at the end. */
    int insert_at = -1;
    bool in_section = *section == 0;
    for (unsigned i = 0; i < doc->count; i++) {
        const struct ini_line *l = &doc->lines[i];
        if (l->kind == LINE_SECTION)
            in_section = strcasecmp(l->section, section) == 0;
        if (in_section && (l->kind == LINE_SECTION || l->kind == LINE_ENTRY))
            insert_at = (int)i + 1;
        if (*section == 0 && l->kind == LINE_SECTION && insert_at < 0)
            insert_at = (int)i;
    }
    struct ini_line entry = {LINE_ENTRY,       ending,       strlen(text), text,
                             kstrdup(section), kstrdup(key), value_copy};
    if (!entry.section || !entry.key)
        goto out_of_memory_entry;
    if (insert_at < 0 && *section) {
        size_t n = strlen(section) + 3;
        struct ini_line header = {LINE_SECTION,     ending, n - 1, kmalloc(n),
                                  kstrdup(section), NULL,   NULL};
        if (!header.text || !header.section) {
            kfree(header.text);
            kfree(header.section);
            goto out_of_memory_entry;
        }
        snprintf(header.text, n, "[%s]", section);
        if (doc->count && doc->lines[doc->count - 1].kind != LINE_BLANK) {
            struct ini_line blank = {LINE_BLANK, ending, 0, kstrdup(""), NULL, NULL, NULL};
            if (!blank.text || !add_line(doc, blank)) {
                kfree(blank.text);
                kfree(header.text);
                kfree(header.section);
                goto out_of_memory_entry;
            }
        }
        if (!add_line(doc, header)) {
            kfree(header.text);
            kfree(header.section);
            goto out_of_memory_entry;
        }
        insert_at = (int)doc->count;
    }
    if (insert_at < 0)
        insert_at = (int)doc->count;
    if (!add_line(doc, entry))
        goto out_of_memory_entry;
    memmove(&doc->lines[insert_at + 1], &doc->lines[insert_at],
            (doc->count - 1 - (unsigned)insert_at) * sizeof(struct ini_line));
    doc->lines[insert_at] = entry;
    return 0;
out_of_memory_entry:
    kfree(entry.section);
    kfree(entry.key);
    kfree(text);
    kfree(value_copy);
    return -ENOMEM;
}

bool ini_entry(const struct ini_document *doc, unsigned index, const char **section,
               const char **key, const char **value)
{
    for (unsigned i = 0; doc && i < doc->count; i++) {
        const struct ini_line *l = &doc->lines[i];
        if (l->kind != LINE_ENTRY || index-- != 0)
            continue;
        *section = l->section;
        *key = l->key;
        *value = l->value;
        return true;
    }
    return false;
}

bool ini_next(const struct ini_document *doc, unsigned *cursor, struct ini_setting *out)
{
    for (unsigned i = *cursor; doc && i < doc->count; i++) {
        const struct ini_line *l = &doc->lines[i];
        if (l->kind != LINE_ENTRY)
            continue;
        *out = (struct ini_setting){l->section, l->key, l->value, i + 1};
        *cursor = i + 1;
        return true;
    }
    return false;
}

unsigned ini_line_of(const struct ini_document *doc, const char *section, const char *key)
{
    int i = doc ? find_entry(doc, section, key) : -1;
    return i < 0 ? 0 : (unsigned)i + 1;
}

unsigned ini_section_line(const struct ini_document *doc, const char *section)
{
    for (unsigned i = 0; doc && i < doc->count; i++)
        if (doc->lines[i].kind == LINE_SECTION && strcasecmp(doc->lines[i].section, section) == 0)
            return i + 1;
    return 0;
}

const char *ini_section(const struct ini_document *doc, unsigned index)
{
    for (unsigned i = 0; doc && i < doc->count; i++)
        if (doc->lines[i].kind == LINE_SECTION && index-- == 0)
            return doc->lines[i].section;
    return NULL;
}

char *ini_serialize(const struct ini_document *doc, size_t *length)
{
    size_t total = 1;
    for (unsigned i = 0; i < doc->count; i++)
        total += doc->lines[i].length + 2;
    char *out = kmalloc(total), *o = out;
    if (!out)
        return NULL;
    for (unsigned i = 0; i < doc->count; i++) {
        const struct ini_line *l = &doc->lines[i];
        memcpy(o, l->text, l->length); /* every byte as read, NULs included */
        o += l->length;
        if (l->ending == ENDING_CRLF)
            *o++ = '\r';
        if (l->ending != ENDING_NONE)
            *o++ = '\n';
    }
    *o = 0;
    if (length)
        *length = (size_t)(o - out);
    return out;
}
