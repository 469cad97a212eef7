/* Modules from files and from the boot loader, and unloading. */
#define pr_fmt(fmt) "module: " fmt

#include <rayos/block.h>
#include <rayos/cmdline.h>
#include <rayos/device.h>
#include <rayos/elf_module.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/mm.h>
#include <rayos/module.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/vfs.h>

#include <rayos/boot_info.h>
#include "module_internal.h"

static int read_file(const char *path, void **out, size_t *out_size, char *why, size_t why_size)
{
    struct vfs_stat st;
    int status = vfs_stat(path, &st);
    if (status == 0 && (st.is_directory || st.size > MODULE_MAX_BYTES))
        status = st.is_directory ? -EISDIR : -E2BIG;
    struct vfs_file *file = NULL;
    if (status == 0)
        status = vfs_open(path, VFS_O_READ, &file);
    if (status < 0) {
        snprintf(why, why_size, "%s: %s", path, error_name(-status));
        return status;
    }
    uint8_t *buffer = kmalloc(st.size ? st.size : 1);
    size_t done = 0;
    while (buffer && done < st.size) {
        ssize_t got = vfs_read(file, buffer + done, st.size - done);
        if (got <= 0) {
            status = got < 0 ? (int)got : -EIO;
            break;
        }
        done += (size_t)got;
    }
    vfs_close(file);
    if (!buffer || status < 0) {
        snprintf(why, why_size, "%s: %s", path, buffer ? error_name(-status) : "out of memory");
        kfree(buffer);
        return buffer ? status : -ENOMEM;
    }
    *out = buffer;
    *out_size = done;
    return 0;
}

int module_load_file_locked(const char *path, char *why, size_t why_size)
{
    void *image;
    size_t size;
    int status = read_file(path, &image, &size, why, why_size);
    if (status < 0)
        return status;
    status = module_load_locked(image, size, path, NULL, 0, why, why_size);
    kfree(image);
    return status;
}

int module_load_file(const char *path, const char *const *options, unsigned option_count, char *why,
                     size_t why_size)
{
    void *image;
    size_t size;
    int status = read_file(path, &image, &size, why, why_size);
    if (status < 0)
        return status;
    status = module_load(image, size, path, options, option_count, why, why_size);
    kfree(image);
    return status;
}

/* ---- unloading ---- */

struct busy_search {
    struct module *mod;
    char *why;
    size_t why_size;
};

static int find_busy_disk(struct block_device *disk, void *context)
{
    struct busy_search *search = context;
    struct device *owner = block_device_disk(disk)->dev.parent;
    if (!owner || !owner->driver || owner->driver->owner != search->mod)
        return 0;
    char holder[64];
    if (!block_device_busy(disk, holder, sizeof(holder)))
        return 0;
    snprintf(search->why, search->why_size, "%s: in use: %s", search->mod->name, holder);
    return 1;
}

static int unload_locked(const char *name, char *why, size_t why_size)
{
    struct module *mod = module_find_locked(name);
    if (!mod) {
        snprintf(why, why_size, "%s: no such module loaded", name);
        return -ENOENT;
    }
    struct module *other;
    list_for_each_entry(other, &module_list, node)
    {
        for (unsigned i = 0; i < other->depend_count; i++) {
            if (other->depends[i] == mod) {
                snprintf(why, why_size, "%s: in use by module %s", name, other->name);
                return -EBUSY;
            }
        }
    }
    if (mod->exit_count == 0) {
        snprintf(why, why_size, "%s: has no exit function (MODULE_EXIT); it cannot be unloaded",
                 name);
        return -EBUSY;
    }
    struct busy_search search = {mod, why, why_size};
    if (block_device_for_each(find_busy_disk, &search))
        return -EBUSY;
    mod->state = MODULE_UNLOADING;
    /* They unregister its drivers, which unbinds their devices: the last registered first. */
    for (unsigned i = mod->exit_count; i-- > 0;)
        mod->exits[i]();
    int users = __atomic_load_n(&mod->users, __ATOMIC_ACQUIRE);
    if (users > 0) {
        /* Its code may still run: it can never be freed.  Only a driver that leaves devices
         * bound past its exit gets here. */
        snprintf(why, why_size, "%s: still has %d users after its exit; left in memory", name,
                 users);
        return -EBUSY;
    }
    list_remove(&mod->node);
    for (unsigned i = 0; i < mod->depend_count; i++)
        module_put(mod->depends[i]);
    pr_info("unloaded %s\n", name);
    cmdline_remove_module_options(name);
    module_free(mod);
    return 0;
}

int module_unload(const char *name, char *why, size_t why_size)
{
    mutex_lock(&module_mutex);
    int status = unload_locked(name, why, why_size);
    mutex_unlock(&module_mutex);
    return status;
}

/* ---- boot modules ---- */

/* Kernel modules the boot loader passed (QEMU -initrd, GRUB module lines), as an initramfs
 * would: loaded once the built-in drivers are registered, before the root is looked for.
 * Boot modules that are not ELF relocatable objects are left to whoever wants them. */
static int load_boot_modules(void)
{
    for (unsigned i = 0; i < boot_info.module_count; i++) {
        const struct boot_module *m = &boot_info.modules[i];
        size_t size = (size_t)(m->end - m->start);
        const uint8_t *image = phys_to_virt(m->start);
        if (size < 18 || memcmp(image, "\177ELF", 4) != 0 || image[16] != 1 || image[17] != 0)
            continue;
        char origin[48], why[MODULE_WHY_MAX];
        snprintf(origin, sizeof(origin), "boot module %u", i);
        module_load(image, size, origin, NULL, 0, why, sizeof(why));
    }
    return 0;
}
INITCALL(load_boot_modules, INIT_DRIVER);
