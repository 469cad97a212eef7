/* The root filesystem.  RayOS finds its boot volume (root=NAME on the command line, else the
 * first FAT volume holding /BOOT/RAYOS.CFG), mounts it at "/", and always has an in-memory /tmp.
 * Without a usable disk it boots with an in-memory "/" and says why. */
#define pr_fmt(fmt) "root: " fmt
#include <rayos/block.h>
#include <rayos/boot_modules.h>
#include <rayos/cmdline.h>
#include <rayos/config.h>
#include <rayos/errno.h>
#include <rayos/escape.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/power.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/vfs.h>
#include "root.h"

/* Block devices under mounted filesystems stay referenced (block_device_io's rule). */
#define HELD_MAX 16
static struct block_device *held[HELD_MAX];

static void hold(struct block_device *dev)
{
    for (unsigned i = 0; i < HELD_MAX; i++) {
        if (!held[i]) {
            held[i] = dev;
            return;
        }
    }
    device_put(&dev->dev); /* more mounts than slots: the device model's own reference remains */
}

static void release(const char *name)
{
    for (unsigned i = 0; i < HELD_MAX; i++) {
        if (held[i] && strcmp(held[i]->dev.name, name) == 0) {
            device_put(&held[i]->dev);
            held[i] = NULL;
            return;
        }
    }
}

/* A second writable filesystem over bytes another user keeps its own structure of would corrupt
 * both: refused, as raw writes are refused (block_device_busy). */
static bool busy_for(struct block_device *dev, unsigned flags)
{
    return !(flags & VFS_MOUNT_READ_ONLY) && !dev->read_only && block_device_busy(dev, NULL, 0);
}

/* A filesystem is mounted from dev at path: the device is claimed and its reference held. */
static void mounted(struct block_device *dev, const char *path)
{
    char holder[sizeof(dev->claim_holders[0])];
    snprintf(holder, sizeof(holder), "is mounted at %s", path);
    block_device_claim(dev, holder);
    hold(dev);
}

int fs_mount_device(const char *name, const char *path, unsigned flags)
{
    struct block_device *dev = block_device_find(name);
    if (!dev)
        return -ENODEV;
    if (busy_for(dev, flags)) {
        device_put(&dev->dev);
        return -EBUSY;
    }
    struct block_io io;
    block_device_io(dev, &io);
    if (dev->read_only)
        flags |= VFS_MOUNT_READ_ONLY;
    int error = vfs_mount(NULL, &io, dev->dev.name, path, flags);
    if (error)
        device_put(&dev->dev);
    else
        mounted(dev, path);
    return error;
}

int fs_unmount_path(const char *path)
{
    struct vfs_mount_info info;
    char normal[VFS_PATH_MAX];
    int error = vfs_normalize_path(path, normal, sizeof(normal));
    if (error)
        return error;
    bool found = false;
    for (unsigned i = 0; !found && vfs_mount_at(i, &info); i++)
        found = strcmp(info.path, normal) == 0;
    if (!found)
        return -EINVAL;
    error = vfs_unmount(normal);
    if (error != -EBUSY) {
        struct block_device *dev = block_device_find(info.source);
        if (dev) {
            char holder[sizeof(dev->claim_holders[0])];
            snprintf(holder, sizeof(holder), "is mounted at %s", normal);
            block_device_unclaim(dev, holder);
            device_put(&dev->dev);
        }
        release(info.source);
    }
    return error;
}

/* Does this device hold a FAT volume with the boot configuration?  Looked at through a quiet,
 * read-only mount at "/", so that disks which are not ours are never written to.  The volume
 * found stays mounted there, with a reference to its device in *found, and root_init makes it
 * the root proper (keep_probed_root) instead of mounting it a second time. */
static int probe(struct block_device *dev, void *context)
{
    struct block_device **found = context;
    if (*found)
        return 1;
    struct block_io io;
    block_device_io(dev, &io);
    if (vfs_mount(vfs_find_type("fat"), &io, dev->dev.name, "/",
                  VFS_MOUNT_READ_ONLY | VFS_MOUNT_QUIET) != 0)
        return 0;
    struct vfs_stat st;
    if ((vfs_stat(CONFIG_PATH, &st) == 0 && !st.is_directory) ||
        vfs_stat(CONFIG_NEW_PATH, &st) == 0) {
        device_get(&dev->dev);
        *found = dev;
        return 1;
    }
    vfs_unmount("/");
    return 0;
}

/* The probe's mount of dev at "/" becomes the root: writable unless flags (or the device) say
 * read-only, logged like any mount, the device claimed.  On failure nothing is left mounted. */
static int keep_probed_root(struct block_device *dev, unsigned flags)
{
    if (dev->read_only)
        flags |= VFS_MOUNT_READ_ONLY;
    int error = busy_for(dev, flags) ? -EBUSY : vfs_remount("/", flags);
    if (error) {
        vfs_unmount("/");
        device_put(&dev->dev);
        return error;
    }
    mounted(dev, "/");
    return 0;
}

#define PARTUUID_PREFIX "PARTUUID="

struct partuuid_search {
    const char *uuid;
    char found[BLOCK_NAME_MAX];
    unsigned matches;
};

static int match_partuuid(struct block_device *dev, void *context)
{
    struct partuuid_search *search = context;
    if (dev->partition_uuid[0] && strcasecmp(dev->partition_uuid, search->uuid) == 0) {
        if (search->matches++ == 0)
            strlcpy(search->found, dev->dev.name, sizeof(search->found));
        else
            pr_warn("PARTUUID %s is on %s as well as %s; using %s", search->uuid, dev->dev.name,
                    search->found, search->found);
    }
    return 0;
}

/* A root named by device ("vda1") or by identity ("PARTUUID=<uuid>", as Linux spells it):
 * fills name with the device and returns true, or says why not and returns false. */
static bool resolve_root(const char *spec, char name[BLOCK_NAME_MAX], const char *where)
{
    char shown[96];
    if (strncasecmp(spec, PARTUUID_PREFIX, strlen(PARTUUID_PREFIX)) == 0) {
        struct partuuid_search search = {.uuid = spec + strlen(PARTUUID_PREFIX)};
        block_device_for_each(match_partuuid, &search);
        if (search.matches == 0) {
            pr_warn("%s names root %s: no partition has that PARTUUID", where,
                    escape_string(shown, sizeof(shown), spec));
            return false;
        }
        strlcpy(name, search.found, BLOCK_NAME_MAX);
        return true;
    }
    if (strlen(spec) >= BLOCK_NAME_MAX) {
        pr_warn("%s names root '%s': no such block device", where,
                escape_string(shown, sizeof(shown), spec));
        return false;
    }
    strlcpy(name, spec, BLOCK_NAME_MAX);
    return true;
}

static bool block_device_find_exists(const char *name)
{
    struct block_device *dev = block_device_find(name);
    if (dev)
        device_put(&dev->dev);
    return dev != NULL;
}

static int count_device(struct block_device *dev, void *context)
{
    (*(unsigned *)context)++;
    return 0;
}

static void ramfs_root(const char *why)
{
    pr_warn("%s: using an in-memory root (nothing will persist)", why);
    int error = vfs_mount(&ramfs_type, NULL, "ramfs", "/", 0);
    if (error)
        pr_err("cannot mount the in-memory root (%d)", error);
}

/* The configuration may name another root ([boot] root = NAME): switch to it once. */
static void follow_configured_root(const char *current)
{
    const char *wanted = config_get_string("boot", "root", NULL);
    char target[BLOCK_NAME_MAX];
    if (!wanted || !resolve_root(wanted, target, CONFIG_PATH)) {
        if (wanted)
            pr_warn("keeping %s", current);
        return;
    }
    if (strcmp(target, current) == 0)
        return;
    if (!block_device_find_exists(target)) {
        char shown[64];
        pr_warn("%s names root '%s', which does not exist; keeping %s", CONFIG_PATH,
                escape_string(shown, sizeof(shown), target), current);
        return;
    }
    fs_unmount_path("/");
    int error = fs_mount_device(target, "/", 0);
    if (error == 0) {
        pr_info("root is %s ([boot] root in %s on %s)", target, CONFIG_PATH, current);
        config_load();
        return;
    }
    pr_err("cannot mount %s named by %s (%s); back to %s", target, CONFIG_PATH, error_name(-error),
           current);
    fs_mount_device(current, "/", 0);
    config_load();
}

/* A disk went away (hot-unplug, driver unbind): drop its mounts; open files get -ENODEV.
 * The block layer's own listener has already failed its queue. */
static void device_removed(struct device *node, enum device_event event, void *context)
{
    (void)context;
    struct block_device *dev = to_block_device(node);
    if (!dev || event != DEVICE_EVENT_REMOVED)
        return;
    vfs_source_removed(dev->dev.name);
    /* The held reference stays: a filesystem with files still open keeps calling the device
     * (and getting -ENODEV) until they close, so its structure must outlive the removal. */
}

/* The loader's modules, when it passed any, as read-only files (the installer's payload). */
static void mount_boot_modules(void)
{
    unsigned count = boot_module_count();
    if (count == 0)
        return;
    int error = vfs_mount(&bootmod_type, NULL, "bootmod", BOOT_MODULES_PATH,
                          VFS_MOUNT_READ_ONLY | VFS_MOUNT_QUIET);
    if (error) {
        pr_err("cannot mount the boot modules at %s (%s)", BOOT_MODULES_PATH, error_name(-error));
        return;
    }
    struct boot_module_file module;
    for (unsigned i = 0; boot_module_at(i, &module); i++)
        pr_info("boot module %s/%s, %zu bytes", BOOT_MODULES_PATH, module.name, module.size);
}

static int root_init(void)
{
    static struct device_listener removal_listener = {.notify = device_removed};
    device_listen(&removal_listener);
    char name[BLOCK_NAME_MAX] = "";
    char spec[64];
    bool asked = cmdline_get("root", spec, sizeof(spec));
    bool resolved = asked && resolve_root(spec, name, "the command line");
    struct block_device *probed = NULL;
    if (!asked) {
        block_device_for_each(probe, &probed);
        if (probed)
            strlcpy(name, probed->dev.name, sizeof(name));
    }
    unsigned flags = cmdline_has("ro") ? VFS_MOUNT_READ_ONLY : 0;
    if (asked && !resolved) {
        ramfs_root("root= on the command line names no device");
    } else if (name[0]) {
        int error = probed ? keep_probed_root(probed, flags) : fs_mount_device(name, "/", flags);
        if (error == 0) {
            char shown[96];
            if (asked && strcmp(spec, name) != 0)
                pr_info("root is %s (root=%s on the command line)", name,
                        escape_string(shown, sizeof(shown), spec));
            else
                pr_info("root is %s%s", name, asked ? " (root= on the command line)" : "");
            config_load();
            if (!asked)
                follow_configured_root(name);
        } else {
            char why[96];
            snprintf(why, sizeof(why), "cannot mount %s: %s", name,
                     error == -ENODEV        ? "no such block device"
                     : error == -EMEDIUMTYPE ? "no FAT filesystem on it"
                                             : error_name(-error));
            ramfs_root(why);
        }
    } else {
        unsigned disks = 0;
        block_device_for_each(count_device, &disks);
        ramfs_root(disks ? "no FAT volume with " CONFIG_PATH " found" : "no disks");
    }
    if (!config_document())
        config_load(); /* defaults, and says there is no file */
    int error = vfs_mount(&ramfs_type, NULL, "tmpfs", "/tmp", 0);
    if (error)
        pr_err("cannot mount /tmp (%d)", error);
    mount_boot_modules();
    return 0;
}
INITCALL(root_init, INIT_FS);

static void unmount_everything(void)
{
    vfs_unmount_all();
}
SHUTDOWN_HOOK(unmount_everything, 100);
