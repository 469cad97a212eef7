/* /BOOT/RAYOS.CFG: read at boot, checked against the keys RayOS knows, and written back with
 * the temporary-file-and-rename dance so a crash or an I/O error never loses the old file. */
#define pr_fmt(fmt) "config: " fmt
#include <rayos/config.h>
#include <rayos/errno.h>
#include <rayos/escape.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/vfs.h>

#define REPORTS_MAX 10
#define SHOWN_MAX   256 /* a value quoted in a message, escaped (<rayos/escape.h>) */

static struct ini_document *document;
static struct mutex config_lock = MUTEX_INIT("config");

/* The keys RayOS reads; anything else is reported (a typo must not be silently ignored). */
struct known_key {
    const char *section; /* "vm" stands for every "[vm NAME]" section */
    const char *key;
};
static const struct known_key known_keys[] = {
    {"boot", "root"},    {"log", "level"},         {"log", "file"},       {"log", "max_size"},
    {"log", "files"},    {"log", "flush_seconds"}, {"vm", "image"},       {"vm", "size"},
    {"vm", "read_only"}, {"vm", "memory"},         {"vm", "description"},
};

struct report_context {
    const char *path;
    unsigned count;
};

static void report(void *context, unsigned line, const char *message)
{
    struct report_context *r = context;
    if (r->count++ < REPORTS_MAX)
        pr_warn("%s:%u: %s; line ignored", r->path, line, message);
}

static const char *section_kind(const char *section)
{
    return strncasecmp(section, "vm ", 3) == 0 ? "vm" : section;
}

bool config_key_known(const char *section, const char *key)
{
    for (unsigned k = 0; k < ARRAY_SIZE(known_keys); k++)
        if (strcasecmp(section_kind(section), known_keys[k].section) == 0 &&
            strcasecmp(key, known_keys[k].key) == 0)
            return true;
    return false;
}

static void check_known_keys(const struct ini_document *doc, const char *path,
                             struct report_context *r)
{
    struct ini_setting s;
    for (unsigned cursor = 0; ini_next(doc, &cursor, &s);) { /* one pass: no quadratic walks */
        if (!config_key_known(s.section, s.key) && r->count++ < REPORTS_MAX)
            pr_warn("%s:%u: unknown key '%s' in [%s]; ignored", path, s.line, s.key, s.section);
    }
}

struct ini_document *config_parse_file(const char *path, int *error)
{
    char *text = NULL;
    size_t length = 0;
    *error = vfs_read_file(path, CONFIG_MAX_BYTES, &text, &length);
    if (*error == -EFBIG) {
        struct vfs_stat st;
        vfs_stat(path, &st);
        pr_err("%s is %llu bytes, over the %u-byte limit; not read", path,
               (unsigned long long)st.size, CONFIG_MAX_BYTES);
        return NULL;
    }
    if (*error)
        return NULL;
    struct report_context r = {path, 0};
    struct ini_document *doc = ini_parse(text, length, report, &r);
    kfree(text);
    if (!doc) {
        *error = -ENOMEM;
        return NULL;
    }
    check_known_keys(doc, path, &r);
    if (r.count > REPORTS_MAX)
        pr_warn("%s: %u more problems not shown", path, r.count - REPORTS_MAX);
    return doc;
}

/* A crash between removing the old file and renaming the new one leaves only the new one:
 * finish that rename before reading. */
static void recover_interrupted_write(void)
{
    struct vfs_stat st;
    if (vfs_stat(CONFIG_PATH, &st) == -ENOENT && vfs_stat(CONFIG_NEW_PATH, &st) == 0 &&
        vfs_rename(CONFIG_NEW_PATH, CONFIG_PATH) == 0)
        pr_warn("completed an interrupted update of %s", CONFIG_PATH);
}

int config_load(void)
{
    mutex_lock(&config_lock);
    recover_interrupted_write();
    int error;
    struct ini_document *doc = config_parse_file(CONFIG_PATH, &error);
    if (!doc) {
        if (error == -ENOENT)
            pr_info("no %s: using defaults", CONFIG_PATH);
        else if (error != -EFBIG)
            pr_err("cannot read %s: %s; using defaults", CONFIG_PATH, error_name(-error));
        doc = ini_parse("", 0, NULL, NULL);
    } else {
        unsigned keys = 0, cursor = 0;
        struct ini_setting s;
        while (ini_next(doc, &cursor, &s))
            keys++;
        pr_info("%s: %u settings", CONFIG_PATH, keys);
    }
    ini_free(document);
    document = doc;
    mutex_unlock(&config_lock);
    return doc ? 0 : -ENOMEM;
}

const struct ini_document *config_document(void)
{
    return document;
}

const char *config_get_string(const char *section, const char *key, const char *fallback)
{
    return ini_get_string(document, section, key, fallback);
}

int64_t config_get_integer(const char *section, const char *key, int64_t fallback)
{
    int64_t value;
    int error = ini_get_integer(document, section, key, &value);
    char shown[SHOWN_MAX];
    if (error == -EINVAL)
        pr_warn("%s:%u: %s.%s = '%s' is not a number; using %lld", CONFIG_PATH,
                ini_line_of(document, section, key), section, key,
                escape_string(shown, sizeof(shown), ini_get(document, section, key)),
                (long long)fallback);
    return error ? fallback : value;
}

bool config_get_bool(const char *section, const char *key, bool fallback)
{
    bool value;
    int error = ini_get_bool(document, section, key, &value);
    char shown[SHOWN_MAX];
    if (error == -EINVAL)
        pr_warn("%s:%u: %s.%s = '%s' is not a boolean; using %s", CONFIG_PATH,
                ini_line_of(document, section, key), section, key,
                escape_string(shown, sizeof(shown), ini_get(document, section, key)),
                fallback ? "true" : "false");
    return error ? fallback : value;
}

int config_set(const char *section, const char *key, const char *value)
{
    mutex_lock(&config_lock);
    /* Edit a fresh copy of the file, so unrelated edits made on disk since boot survive. */
    int error;
    struct ini_document *doc = config_parse_file(CONFIG_PATH, &error);
    if (!doc && error == -ENOENT) {
        doc = ini_parse("", 0, NULL, NULL);
        error = doc ? 0 : -ENOMEM;
    }
    if (!doc)
        goto out;
    bool old_removed = false;
    error = ini_set(doc, section, key, value);
    size_t length = 0;
    char *text = error ? NULL : ini_serialize(doc, &length);
    if (!error && !text)
        error = -ENOMEM;
    if (!error && length > CONFIG_MAX_BYTES)
        error = -E2BIG; /* the next boot would refuse it: keep the old file */
    if (!error) {
        vfs_mkdir("/BOOT");
        error = vfs_write_file(CONFIG_NEW_PATH, text, length); /* written and synced */
    }
    kfree(text);
    if (!error) {
        int removed = vfs_unlink(CONFIG_PATH);
        if (removed && removed != -ENOENT)
            error = removed;
        old_removed = !error;
    }
    if (!error)
        error = vfs_rename(CONFIG_NEW_PATH, CONFIG_PATH);
    if (!error)
        error = vfs_sync("/BOOT");
    if (error) {
        /* Before the old file was removed, the temporary one is garbage; after, it is the only
         * copy and the next boot completes the rename (recover_interrupted_write). */
        if (!old_removed)
            vfs_unlink(CONFIG_NEW_PATH);
        ini_free(doc);
        goto out;
    }
    ini_free(document);
    document = doc;
out:
    mutex_unlock(&config_lock);
    return error;
}
