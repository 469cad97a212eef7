/* insmod, rmmod, lsmod, modinfo. */
#include <rayos/elf_module.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/module.h>
#include <rayos/shell.h>
#include <rayos/string.h>
#include <rayos/vfs.h>

#include "module_internal.h"

static int cmd_insmod(int argc, char **argv)
{
    if (argc < 2) {
        shell_printf("usage: insmod PATH [OPTION[=VALUE]...]\n");
        return -EINVAL;
    }
    char why[MODULE_WHY_MAX];
    int status = module_load_file(argv[1], (const char *const *)argv + 2, (unsigned)argc - 2, why,
                                  sizeof(why));
    if (status < 0)
        shell_printf("insmod: %s\n", why);
    return status;
}
SHELL_COMMAND("insmod",
              "load a kernel module: insmod PATH [OPTION[=VALUE]...] (NAME.OPTION for the driver)",
              cmd_insmod);

static int cmd_rmmod(int argc, char **argv)
{
    if (argc != 2) {
        shell_printf("usage: rmmod NAME\n");
        return -EINVAL;
    }
    char why[MODULE_WHY_MAX];
    int status = module_unload(argv[1], why, sizeof(why));
    if (status < 0)
        shell_printf("rmmod: %s\n", why);
    return status;
}
SHELL_COMMAND("rmmod", "unload a kernel module (its devices are unbound): rmmod NAME", cmd_rmmod);

static const char *state_name(enum module_state state)
{
    switch (state) {
    case MODULE_LOADING:
        return "loading";
    case MODULE_LIVE:
        return "live";
    case MODULE_UNLOADING:
        return "unloading";
    }
    return "?";
}

static int cmd_lsmod(int argc, char **argv)
{
    shell_printf("%-20s %8s %5s  %s\n", "Module", "Size", "Users", "State");
    mutex_lock(&module_mutex);
    struct module *mod;
    list_for_each_entry(mod, &module_list, node)
    {
        shell_printf("%-20s %8llu %5d  %s\n", mod->name,
                     (unsigned long long)(mod->size[0] + mod->size[1] + mod->size[2]),
                     __atomic_load_n(&mod->users, __ATOMIC_ACQUIRE), state_name(mod->state));
    }
    mutex_unlock(&module_mutex);
    return 0;
}
SHELL_COMMAND("lsmod", "loaded kernel modules: name, size in bytes, users, state", cmd_lsmod);

static void print_info(const char *info, size_t size)
{
    for (size_t at = 0; at < size;) {
        const char *entry = info + at;
        size_t length = strnlen(entry, size - at);
        const char *equals = memchr(entry, '=', length);
        if (equals) {
            char key[16];
            snprintf(key, sizeof(key), "%.*s:", (int)MIN((size_t)(equals - entry), sizeof(key) - 2),
                     entry);
            shell_printf("%-10s %.*s\n", key, (int)(length - (size_t)(equals - entry) - 1),
                         equals + 1);
        }
        at += length + 1;
    }
}

static int info_from_file(const char *path)
{
    struct vfs_file *file;
    struct vfs_stat st;
    int status = vfs_stat(path, &st);
    if (status == 0 && st.size > MODULE_MAX_BYTES)
        status = -E2BIG;
    if (status == 0)
        status = vfs_open(path, VFS_O_READ, &file);
    if (status < 0) {
        shell_printf("modinfo: %s: %s\n", path, error_name(-status));
        return status;
    }
    uint8_t *image = kmalloc(st.size ? st.size : 1);
    ssize_t got = image ? vfs_read(file, image, st.size) : -ENOMEM;
    vfs_close(file);
    struct elf_module elf;
    char why[MODULE_WHY_MAX] = "";
    status = got < 0 ? (int)got : elf_module_parse(&elf, image, (size_t)got, why, sizeof(why));
    if (status == 0) {
        shell_printf("%-10s %s\n", "filename:", path);
        print_info(elf.modinfo, elf.modinfo_size);
        elf_module_free(&elf);
    } else {
        shell_printf("modinfo: %s: %s\n", path, why[0] ? why : error_name(-status));
    }
    kfree(image);
    return status;
}

static int cmd_modinfo(int argc, char **argv)
{
    if (argc != 2) {
        shell_printf("usage: modinfo PATH|NAME\n");
        return -EINVAL;
    }
    mutex_lock(&module_mutex);
    struct module *mod = module_find_locked(argv[1]);
    if (mod) {
        print_info(mod->modinfo, mod->modinfo_size);
        shell_printf("%-10s %d\n", "users:", __atomic_load_n(&mod->users, __ATOMIC_ACQUIRE));
    }
    mutex_unlock(&module_mutex);
    if (mod)
        return 0;
    if (strchr(argv[1], '/'))
        return info_from_file(argv[1]);
    char path[80];
    snprintf(path, sizeof(path), MODULE_DIRECTORY "/%s.ko", argv[1]);
    return info_from_file(path);
}
SHELL_COMMAND("modinfo", "a module's name, version, ABI, dependencies and aliases", cmd_modinfo);
