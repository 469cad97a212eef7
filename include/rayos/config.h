/* The boot configuration, /BOOT/RAYOS.CFG on the root volume (INI).  Read at boot; typed
 * getters with defaults; changes are written back atomically, keeping comments and order. */
#ifndef RAYOS_CONFIG_H
#define RAYOS_CONFIG_H

#include <rayos/ini.h>
#include <rayos/types.h>

#define CONFIG_PATH      "/BOOT/RAYOS.CFG"
#define CONFIG_NEW_PATH  "/BOOT/RAYOS.NEW" /* the next version, while it is being written */
#define CONFIG_MAX_BYTES (64 * 1024)

/* (Re)reads the file; problems are logged with file and line, and the rest still applies. */
int config_load(void);
const struct ini_document *config_document(void); /* never NULL after config_load */

const char *config_get_string(const char *section, const char *key, const char *fallback);
int64_t config_get_integer(const char *section, const char *key, int64_t fallback);
bool config_get_bool(const char *section, const char *key, bool fallback);

/* Sets section.key and persists the whole file atomically: a temporary file is written and
 * synced, then renamed over the old one.  On any error the old file is intact; -E2BIG when the
 * result would be over CONFIG_MAX_BYTES (the boot would not read it). */
int config_set(const char *section, const char *key, const char *value);

/* Whether RayOS reads section.key (sections "vm NAME" stand for every VM); the boot warns about
 * the others. */
bool config_key_known(const char *section, const char *key);

/* Reads path (at most CONFIG_MAX_BYTES) and parses it, reporting problems as "path:line: ...". */
struct ini_document *config_parse_file(const char *path, int *error);

#endif
