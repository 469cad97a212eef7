/* Autoloading: when a device appears (boot enumeration or hot-plug) and no driver took it, the
 * alias index /BOOT/MODULES/modules.alias ("alias PATTERN MODULE" lines, made by the build from
 * every module's match table) names the module to load.  Configuration:
 *     [modules]
 *     load = nvme, other      loaded at boot whatever the devices
 *     blacklist = nvme        never autoloaded (insmod still works) */
#define pr_fmt(fmt) "module: " fmt

#include <rayos/config.h>
#include <rayos/device.h>
#include <rayos/elf_module.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/module.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/vfs.h>
#include <rayos/work.h>

#include "module_internal.h"

#define ALIAS_FILE_MAX (256 * 1024)

/* Shell-style matching with '*' (any run) and '?' (any one character). */
static bool glob_match(const char *pattern, const char *text)
{
    const char *star = NULL, *resume = NULL;
    while (*text) {
        if (*pattern == '*') {
            star = pattern++;
            resume = text;
        } else if (*pattern == '?' || *pattern == *text) {
            pattern++;
            text++;
        } else if (star) {
            pattern = star + 1;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == 0;
}

/* True when name is in the comma- or space-separated list. */
static bool in_list(const char *list, const char *name)
{
    size_t length = strlen(name);
    while (list && *list) {
        list += strspn(list, ", ");
        size_t word = strcspn(list, ", ");
        if (word == length && strncmp(list, name, length) == 0)
            return true;
        list += word;
    }
    return false;
}

static char *read_alias_file(void)
{
    struct vfs_stat st;
    struct vfs_file *file;
    if (vfs_stat(MODULE_ALIAS_FILE, &st) < 0 || st.size > ALIAS_FILE_MAX ||
        vfs_open(MODULE_ALIAS_FILE, VFS_O_READ, &file) < 0)
        return NULL;
    char *text = kmalloc(st.size + 1);
    ssize_t got = text ? vfs_read(file, text, st.size) : -ENOMEM;
    vfs_close(file);
    if (got < 0) {
        kfree(text);
        return NULL;
    }
    text[got] = 0;
    return text;
}

/* The module the index text names for modalias, copied to name; false if none. */
static bool lookup_alias(char *text, const char *modalias, char *name, size_t name_size)
{
    bool found = false;
    for (char *line = text; line && *line && !found;) {
        char *end = line + strcspn(line, "\n");
        char saved = *end;
        *end = 0;
        char pattern[160], module[MODULE_NAME_MAX];
        if (strncmp(line, "alias ", 6) == 0) {
            const char *p = line + 6;
            size_t length = strcspn(p, " ");
            const char *m = p + length + strspn(p + length, " ");
            if (length < sizeof(pattern) && strlen(m) < sizeof(module) && *m) {
                memcpy(pattern, p, length);
                pattern[length] = 0;
                strlcpy(module, m, sizeof(module));
                if (glob_match(pattern, modalias)) {
                    strlcpy(name, module, name_size);
                    found = true;
                }
            }
        }
        *end = saved;
        line = saved ? end + 1 : end;
    }
    return found;
}

static int load_by_name(const char *name, const char *reason)
{
    if (module_find(name))
        return 0;
    char path[80], why[MODULE_WHY_MAX];
    snprintf(path, sizeof(path), MODULE_DIRECTORY "/%s.ko", name);
    pr_info("loading %s for %s\n", name, reason);
    return module_load_file(path, NULL, 0, why, sizeof(why));
}

static int autoload_with_index(char *index, const char *modalias)
{
    char name[MODULE_NAME_MAX];
    if (!index || !lookup_alias(index, modalias, name, sizeof(name)))
        return -ENOENT;
    if (in_list(config_get_string("modules", "blacklist", ""), name)) {
        pr_info("not loading %s for %s: blacklisted\n", name, modalias);
        return -EPERM;
    }
    return load_by_name(name, modalias);
}

int module_autoload(const char *modalias)
{
    char *index = read_alias_file();
    int status = autoload_with_index(index, modalias);
    kfree(index);
    return status;
}

static void autoload_device(struct device *dev, char *index)
{
    if (dev->state != DEVICE_PRESENT || !dev->bus->modalias)
        return;
    char modalias[128];
    dev->bus->modalias(dev, modalias, sizeof(modalias));
    autoload_with_index(index, modalias);
}

/* Hot-plug: the event arrives under the device model's lock, before binding; the look-up
 * waits for a worker, by which time the built-in drivers had their chance. */
struct autoload_work {
    struct work work;
    struct device *dev;
};

static void autoload_work_fn(struct work *work)
{
    struct autoload_work *a = container_of(work, struct autoload_work, work);
    char *index = read_alias_file();
    autoload_device(a->dev, index);
    kfree(index);
    device_put(a->dev);
    kfree(a);
}

static void device_added(struct device *dev, enum device_event event, void *context)
{
    if (event != DEVICE_EVENT_ADDED || !dev->bus->modalias)
        return;
    struct autoload_work *a = kzalloc(sizeof(*a));
    if (!a)
        return;
    work_init(&a->work, autoload_work_fn);
    a->dev = device_get(dev);
    queue_work(system_wq, &a->work);
}

static struct device_listener listener = {.notify = device_added};

struct device_snapshot {
    struct device **devices;
    unsigned count, capacity;
};

static int take_unbound(struct device *dev, void *context)
{
    struct device_snapshot *snap = context;
    if (dev->state != DEVICE_PRESENT || !dev->bus->modalias)
        return 0;
    if (snap->count == snap->capacity) {
        unsigned capacity = snap->capacity ? 2 * snap->capacity : 32;
        struct device **grown = krealloc(snap->devices, capacity * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        snap->devices = grown;
        snap->capacity = capacity;
    }
    snap->devices[snap->count++] = device_get(dev);
    return 0;
}

/* Loading takes the module lock and then the device model's (a driver registers): the walk
 * therefore only collects, and the loading happens outside the model's lock. */
static void autoload_present(void)
{
    struct device_snapshot snap = {0};
    device_for_each(take_unbound, &snap);
    char *index = snap.count ? read_alias_file() : NULL;
    for (unsigned i = 0; i < snap.count; i++) {
        autoload_device(snap.devices[i], index);
        device_put(snap.devices[i]);
    }
    kfree(index);
    kfree(snap.devices);
}

/* Once the root is mounted (fs/root.c's INIT_FS hook; kernel/ links after fs/, and the level's
 * hooks run in link order): the configured modules, then one for each device nothing drives.
 * Still at INIT_FS, so the disks those modules find are there before the log file and the
 * other INIT_LATE services start. */
static int modules_late_init(void)
{
    const char *list = config_get_string("modules", "load", "");
    while (list && *list) {
        list += strspn(list, ", ");
        size_t length = strcspn(list, ", ");
        if (length > 0 && length < MODULE_NAME_MAX) {
            char name[MODULE_NAME_MAX];
            memcpy(name, list, length);
            name[length] = 0;
            load_by_name(name, "[modules] load");
        }
        list += length;
    }
    device_listen(&listener);
    autoload_present();
    return 0;
}
INITCALL(modules_late_init, INIT_FS);
