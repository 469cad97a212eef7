/* Shared between the module loader's files (kernel/module*.c). */
#ifndef KERNEL_MODULE_INTERNAL_H
#define KERNEL_MODULE_INTERNAL_H

#include <rayos/lock.h>
#include <rayos/module.h>

/* Where modules and their alias index live on the root filesystem. */
#define MODULE_DIRECTORY  "/BOOT/MODULES"
#define MODULE_ALIAS_FILE MODULE_DIRECTORY "/modules.alias"

extern struct mutex module_mutex; /* loading, unloading and the list */
extern struct list_node module_list;

struct module *module_find_locked(const char *name);
int module_load_locked(const void *image, size_t size, const char *origin,
                       const char *const *options, unsigned option_count, char *why,
                       size_t why_size);
int module_load_file_locked(const char *path, char *why, size_t why_size);
void module_note_dependency(struct module *mod, struct module *on);
void module_free(struct module *mod);

#endif
