/* The module loader: checks a module file (lib/elf_module.c), places it in module memory,
 * links it against exported symbols only, protects it W^X, runs its init and keeps it listed
 * for lsmod, backtraces and exports of its own.  Every refusal names the module and the
 * reason, and frees everything taken so far: nothing stays half-loaded. */
#define pr_fmt(fmt) "module: " fmt

#include <rayos/cmdline.h>
#include <rayos/elf_module.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/lock.h>
#include <rayos/module.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>

#include "module_internal.h"

extern const struct kernel_symbol _exports_start[], _exports_end[];

struct mutex module_mutex = MUTEX_INIT("modules");
LIST_HEAD(module_list);

/* Sections whose tables the kernel reads only from its own image: a module carrying one would
 * silently lose it, so it is refused instead. */
static const char *const unsupported_sections[] = {".shell_commands", ".selftests",
                                                   ".periodic_work", ".shutdown_hooks"};

/* ---- exports and the ABI ---- */

static int compare_names(const char *a, const char *b)
{
    return strcmp(a, b);
}

const char *module_kernel_abi(void)
{
    static char abi[17];
    if (abi[0])
        return abi;
    size_t count = (size_t)(_exports_end - _exports_start);
    const char **names = kcalloc(count ? count : 1, sizeof(*names));
    if (!names)
        return "unknown";
    for (size_t i = 0; i < count; i++) {
        const char *name = _exports_start[i].name;
        size_t j = i;
        for (; j > 0 && compare_names(names[j - 1], name) > 0; j--)
            names[j] = names[j - 1];
        names[j] = name;
    }
    uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a, 64 bits */
    for (size_t i = 0; i < count; i++) {
        for (const char *c = names[i]; *c; c++)
            hash = (hash ^ (uint8_t)*c) * 0x100000001b3ull;
        hash = (hash ^ '\n') * 0x100000001b3ull;
    }
    kfree(names);
    snprintf(abi, sizeof(abi), "%016llx", (unsigned long long)hash);
    return abi;
}

static int find_export(const char *name, uint64_t *address, void *context)
{
    for (const struct kernel_symbol *s = _exports_start; s < _exports_end; s++) {
        if (strcmp(s->name, name) == 0) {
            *address = s->address;
            return 0;
        }
    }
    struct module *mod;
    list_for_each_entry(mod, &module_list, node)
    {
        for (unsigned i = 0; i < mod->export_count; i++) {
            if (strcmp(mod->exports[i].name, name) == 0) {
                *address = mod->exports[i].address;
                if (context) /* the module being linked depends on mod */
                    module_note_dependency(context, mod);
                return 0;
            }
        }
    }
    return -ENOENT;
}

struct link_context {
    struct module *mod;
};

static int resolve(const char *name, uint64_t *address, void *context)
{
    struct link_context *link = context;
    if (strcmp(name, "__this_module") == 0) {
        *address = (uint64_t)(uintptr_t)link->mod;
        return 0;
    }
    return find_export(name, address, link->mod);
}

void module_note_dependency(struct module *mod, struct module *on)
{
    for (unsigned i = 0; i < mod->depend_count; i++)
        if (mod->depends[i] == on)
            return;
    if (mod->depend_count < ARRAY_SIZE(mod->depends))
        mod->depends[mod->depend_count++] = on;
}

struct module *module_find_locked(const char *name)
{
    struct module *mod;
    list_for_each_entry(mod, &module_list, node)
    {
        if (strcmp(mod->name, name) == 0)
            return mod;
    }
    return NULL;
}

struct module *module_find(const char *name)
{
    mutex_lock(&module_mutex);
    struct module *mod = module_find_locked(name);
    mutex_unlock(&module_mutex);
    return mod;
}

/* ---- memory ---- */

void module_free(struct module *mod)
{
    for (unsigned r = 0; r < MODULE_REGIONS; r++)
        if (mod->memory[r])
            module_memory_free(mod->memory[r], mod->size[r]);
    for (unsigned i = 0; i < mod->symbol_count; i++)
        kfree(mod->symbol_names[i]);
    kfree(mod->symbol_addresses);
    kfree(mod->symbol_names);
    kfree(mod->modinfo);
    kfree(mod);
}

static int allocate_regions(struct module *mod, const struct elf_module *elf)
{
    for (unsigned r = 0; r < MODULE_REGIONS; r++) {
        mod->size[r] = elf->region_size[r];
        if (!mod->size[r])
            continue;
        mod->memory[r] = module_memory_alloc(mod->size[r]);
        if (!mod->memory[r])
            return -ENOMEM;
    }
    return 0;
}

/* ---- the pieces of a linked image ---- */

static bool find_section(const struct elf_module *elf, struct module *mod, const char *name,
                         void **start, uint64_t *size)
{
    for (unsigned i = 1; i < elf->section_count; i++) {
        const char *section_name = elf_module_section_name(elf, i);
        if (strcmp(section_name, name) != 0 || elf->section_offset[i] == UINT64_MAX)
            continue;
        *start = (uint8_t *)mod->memory[elf->section_region[i]] + elf->section_offset[i];
        *size = elf_module_section_size(elf, i);
        return true;
    }
    return false;
}

struct symbol_collector {
    struct module *mod;
    unsigned capacity;
};

static int collect_function(const char *name, uint64_t address, uint64_t size, void *context)
{
    struct symbol_collector *c = context;
    struct module *mod = c->mod;
    if (mod->symbol_count == c->capacity)
        return 0;
    size_t length = strlen(name) + strlen(mod->name) + 4;
    char *label = kmalloc(length);
    if (!label)
        return -ENOMEM;
    snprintf(label, length, "%s [%s]", name, mod->name);
    unsigned at = mod->symbol_count++;
    for (; at > 0 && mod->symbol_addresses[at - 1] > address; at--) {
        mod->symbol_addresses[at] = mod->symbol_addresses[at - 1];
        mod->symbol_names[at] = mod->symbol_names[at - 1];
    }
    mod->symbol_addresses[at] = address;
    mod->symbol_names[at] = label;
    return 0;
}

static int collect_symbols(struct module *mod, const struct elf_module *elf)
{
    uint64_t base[MODULE_REGIONS];
    for (unsigned r = 0; r < MODULE_REGIONS; r++)
        base[r] = (uint64_t)(uintptr_t)mod->memory[r];
    unsigned capacity = elf->symbol_count;
    mod->symbol_addresses = kcalloc(capacity ? capacity : 1, sizeof(uint64_t));
    mod->symbol_names = kcalloc(capacity ? capacity : 1, sizeof(char *));
    if (!mod->symbol_addresses || !mod->symbol_names)
        return -ENOMEM;
    struct symbol_collector c = {mod, capacity};
    return elf_module_for_each_function(elf, base, collect_function, &c);
}

const char *module_symbol_lookup(uint64_t address, uint64_t *offset, const char **module_name)
{
    /* No lock: a panic calls this.  Modules are only freed by rmmod, which the panic stopped. */
    struct module *mod;
    list_for_each_entry(mod, &module_list, node)
    {
        uint64_t text = (uint64_t)(uintptr_t)mod->memory[MODULE_TEXT];
        if (!text || address < text || address >= text + mod->size[MODULE_TEXT])
            continue;
        for (unsigned i = mod->symbol_count; i-- > 0;) {
            if (mod->symbol_addresses[i] <= address) {
                *offset = address - mod->symbol_addresses[i];
                if (module_name)
                    *module_name = mod->name;
                return mod->symbol_names[i];
            }
        }
    }
    return NULL;
}

uint64_t module_function_address(const char *name)
{
    size_t length = strlen(name);
    struct module *mod;
    list_for_each_entry(mod, &module_list, node)
    {
        for (unsigned i = 0; i < mod->symbol_count; i++) {
            const char *label = mod->symbol_names[i]; /* "name [module]" */
            if (strncmp(label, name, length) == 0 && label[length] == ' ')
                return mod->symbol_addresses[i];
        }
    }
    return 0;
}

/* ---- loading ---- */

static int check_info(struct module *mod, const struct elf_module *elf, const char *origin,
                      char *why, size_t why_size)
{
    const char *name = elf_module_info(elf, "name", 0);
    if (!name || !name[0] || strlen(name) >= MODULE_NAME_MAX) {
        snprintf(why, why_size, "%s: no module name in its .modinfo section", origin);
        return -ENOEXEC;
    }
    for (const char *c = name; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) {
            snprintf(why, why_size,
                     "%s: module name \"%.31s\" has characters other than a-z, "
                     "0-9, _ and -",
                     origin, name);
            return -ENOEXEC;
        }
    }
    strlcpy(mod->name, name, sizeof(mod->name));
    strlcpy(mod->version, elf_module_info(elf, "version", 0) ?: "", sizeof(mod->version));
    const char *abi = elf_module_info(elf, "abi", 0);
    if (!abi || strcmp(abi, module_kernel_abi()) != 0) {
        snprintf(why, why_size, "%s: built for kernel ABI %s, this kernel's is %s", mod->name,
                 abi ? abi : "(none)", module_kernel_abi());
        return -ENOEXEC;
    }
    if (module_find_locked(mod->name)) {
        snprintf(why, why_size, "%s: a module of that name is already loaded", mod->name);
        return -EEXIST;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(unsupported_sections); i++) {
        for (unsigned s = 1; s < elf->section_count; s++) {
            if (strcmp(elf_module_section_name(elf, s), unsupported_sections[i]) == 0) {
                snprintf(why, why_size, "%s: section %s is not supported in modules", mod->name,
                         unsupported_sections[i]);
                return -ENOEXEC;
            }
        }
    }
    mod->modinfo = kmalloc(elf->modinfo_size ? elf->modinfo_size : 1);
    if (!mod->modinfo)
        return -ENOMEM;
    memcpy(mod->modinfo, elf->modinfo, elf->modinfo_size);
    mod->modinfo_size = elf->modinfo_size;
    return 0;
}

/* Dependencies named in .modinfo ("depends=a,b") are loaded first, from /BOOT/MODULES. */
static int load_dependencies(const struct elf_module *elf, const char *name, char *why,
                             size_t why_size)
{
    const char *list = elf_module_info(elf, "depends", 0);
    while (list && *list) {
        char dependency[MODULE_NAME_MAX];
        size_t length = strcspn(list, ",");
        if (length == 0 || length >= sizeof(dependency)) {
            snprintf(why, why_size, "%s: malformed dependency list", name);
            return -ENOEXEC;
        }
        memcpy(dependency, list, length);
        dependency[length] = 0;
        list += length + (list[length] == ',');
        if (module_find_locked(dependency))
            continue;
        char path[80];
        snprintf(path, sizeof(path), MODULE_DIRECTORY "/%s.ko", dependency);
        char inner[MODULE_WHY_MAX];
        int status = module_load_file_locked(path, inner, sizeof(inner));
        if (status < 0) {
            snprintf(why, why_size, "%s: needs %s: %s", name, dependency, inner);
            return status;
        }
    }
    return 0;
}

static int link_image(struct module *mod, const struct elf_module *elf, char *why, size_t why_size)
{
    uint8_t *dest[MODULE_REGIONS];
    uint64_t base[MODULE_REGIONS];
    for (unsigned r = 0; r < MODULE_REGIONS; r++) {
        dest[r] = mod->memory[r];
        base[r] = (uint64_t)(uintptr_t)mod->memory[r];
    }
    char inner[MODULE_WHY_MAX];
    struct link_context link = {mod};
    int status = elf_module_link(elf, dest, base, resolve, &link, inner, sizeof(inner));
    if (status < 0)
        snprintf(why, why_size, "%s: %s", mod->name, inner);
    return status;
}

/* Runs the module's initcalls, lowest level first; the first failure fails the load. */
static int run_init(struct module *mod, const struct elf_module *elf, char *why, size_t why_size)
{
    void *start;
    uint64_t size = 0;
    if (!find_section(elf, mod, ".initcalls", &start, &size))
        return 0;
    const struct initcall *calls = start;
    size_t count = size / sizeof(*calls);
    for (int level = INIT_CORE; level <= INIT_LATE; level++) {
        for (size_t i = 0; i < count; i++) {
            if (calls[i].level != level)
                continue;
            int status = calls[i].fn();
            if (status < 0) {
                snprintf(why, why_size, "%s: init %s failed: %s (%d)", mod->name, calls[i].name,
                         error_name(-status), status);
                return status;
            }
        }
    }
    return 0;
}

static void protect(struct module *mod)
{
    if (mod->memory[MODULE_TEXT])
        module_memory_protect(mod->memory[MODULE_TEXT], mod->size[MODULE_TEXT], false, true);
    if (mod->memory[MODULE_RODATA])
        module_memory_protect(mod->memory[MODULE_RODATA], mod->size[MODULE_RODATA], false, false);
}

int module_load_locked(const void *image, size_t size, const char *origin,
                       const char *const *options, unsigned option_count, char *why,
                       size_t why_size)
{
    uint64_t started = time_ns();
    struct elf_module elf;
    char inner[MODULE_WHY_MAX];
    int status = elf_module_parse(&elf, image, size, inner, sizeof(inner));
    if (status < 0) {
        snprintf(why, why_size, "%s: %s", origin, inner);
        return status;
    }
    struct module *mod = kzalloc(sizeof(*mod));
    if (!mod) {
        elf_module_free(&elf);
        snprintf(why, why_size, "%s: out of memory", origin);
        return -ENOMEM;
    }
    list_init(&mod->node);
    status = check_info(mod, &elf, origin, why, why_size);
    bool options_added = false;
    if (status == 0) {
        status = cmdline_add_module_options(mod->name, options, option_count);
        options_added = status == 0;
        if (status < 0)
            snprintf(why, why_size, "%s: options %s", mod->name,
                     status == -ENOSPC ? "too long" : "malformed (empty or with spaces)");
    }
    if (status == 0)
        status = load_dependencies(&elf, mod->name, why, why_size);
    if (status == 0 && allocate_regions(mod, &elf) < 0) {
        snprintf(
            why, why_size, "%s: no memory for %llu bytes of code and data", mod->name,
            (unsigned long long)(elf.region_size[0] + elf.region_size[1] + elf.region_size[2]));
        status = -ENOMEM;
    }
    if (status == 0)
        status = link_image(mod, &elf, why, why_size);
    if (status == 0 && collect_symbols(mod, &elf) < 0) {
        snprintf(why, why_size, "%s: out of memory", mod->name);
        status = -ENOMEM;
    }
    void *section;
    uint64_t section_size;
    if (status == 0 && find_section(&elf, mod, ".exports", &section, &section_size)) {
        mod->exports = section;
        mod->export_count = (unsigned)(section_size / sizeof(struct kernel_symbol));
    }
    if (status == 0 && find_section(&elf, mod, ".module_exit", &section, &section_size)) {
        mod->exits = section;
        mod->exit_count = (unsigned)(section_size / sizeof(void (*)(void)));
    }
    uint64_t linked = time_ns();
    if (status == 0) {
        protect(mod);
        for (unsigned i = 0; i < mod->depend_count; i++)
            module_get(mod->depends[i]);
        mod->state = MODULE_LOADING;
        list_add_tail(&module_list, &mod->node);
        status = run_init(mod, &elf, why, why_size);
        if (status < 0) {
            list_remove(&mod->node);
            for (unsigned i = 0; i < mod->depend_count; i++)
                module_put(mod->depends[i]);
        }
    }
    elf_module_free(&elf);
    if (status < 0) {
        if (options_added)
            cmdline_remove_module_options(mod->name);
        module_free(mod);
        return status;
    }
    mod->state = MODULE_LIVE;
    uint64_t done = time_ns();
    pr_info("loaded %s %s (%llu KiB) from %s: linked in %llu us, init and probe %llu us\n",
            mod->name, mod->version,
            (unsigned long long)((mod->size[0] + mod->size[1] + mod->size[2] + 1023) / 1024),
            origin, (unsigned long long)((linked - started) / 1000),
            (unsigned long long)((done - linked) / 1000));
    return 0;
}

int module_load(const void *image, size_t size, const char *origin, const char *const *options,
                unsigned option_count, char *why, size_t why_size)
{
    mutex_lock(&module_mutex);
    int status = module_load_locked(image, size, origin, options, option_count, why, why_size);
    mutex_unlock(&module_mutex);
    if (status < 0)
        pr_err("refused %s\n", why);
    return status;
}
