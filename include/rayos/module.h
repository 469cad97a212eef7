/* Loadable kernel modules.  A driver's source is the same built in or as a module (chosen in
 * drivers.conf): its INITCALL becomes the module's init, MODULE_EXIT names what undoes it, and
 * THIS_MODULE lets the device core hold the module while a device is bound to its driver.
 * Modules call only what the kernel or other loaded modules export with EXPORT_SYMBOL; the
 * kernel's exports are listed in kernel/exports.c, and their names make the kernel ABI a
 * module is built for. */
#ifndef RAYOS_MODULE_H
#define RAYOS_MODULE_H

#include <rayos/list.h>
#include <rayos/types.h>

struct kernel_symbol {
    uint64_t address;
    const char *name;
};

#define EXPORT_SYMBOL(sym)                                                                         \
    static const struct kernel_symbol __export_##sym                                               \
        __attribute__((used, section(".exports"), aligned(8))) = {(uint64_t)(uintptr_t)&sym, #sym}

#ifdef MODULE
extern struct module __this_module; /* resolved by the loader to the module's own record */
#define THIS_MODULE (&__this_module)
#define MODULE_EXIT(exit_fn)                                                                       \
    static void (*const __module_exit_##exit_fn)(void)                                             \
        __attribute__((used, section(".module_exit"), aligned(8))) = exit_fn
#else
#define THIS_MODULE ((struct module *)0)
#define MODULE_EXIT(exit_fn)                                                                       \
    static void (*const __module_exit_##exit_fn)(void) __attribute__((unused)) = exit_fn
#endif

/* An alias of its own ("platform:ide-legacy") for the alias index and modinfo. */
#define MODULE_ALIAS_CONCAT(a, b) a##b
#define MODULE_ALIAS_NAME(n)      MODULE_ALIAS_CONCAT(__module_alias_, n)
#ifdef MODULE
#define MODULE_ALIAS(text)                                                                         \
    static const char MODULE_ALIAS_NAME(__COUNTER__)[]                                             \
        __attribute__((used, section(".modinfo"), aligned(1))) = "alias=" text
#else
#define MODULE_ALIAS(text) struct MODULE_ALIAS_NAME(__COUNTER__)
#endif

/* Marks a match table for the build: its entries become the module's device aliases. */
#ifdef MODULE
#define MODULE_DEVICE_TABLE(bus, table)                                                            \
    extern typeof(table) __module_##bus##_device_table __attribute__((alias(#table)))
#else
#define MODULE_DEVICE_TABLE(bus, table) struct __module_device_table_unused_##table
#endif

enum module_state {
    MODULE_LOADING, /* linked, init running */
    MODULE_LIVE,
    MODULE_UNLOADING, /* exit running */
};

#define MODULE_NAME_MAX 32

struct module {
    char name[MODULE_NAME_MAX];
    char version[16];
    enum module_state state;
    int users;       /* devices bound to its drivers, modules depending on it */
    void *memory[3]; /* text, rodata, data regions */
    uint64_t size[3];
    const struct kernel_symbol *exports;
    unsigned export_count;
    /* Its MODULE_EXIT functions (one per driver source that has one), run last first. */
    void (*const *exits)(void);
    unsigned exit_count;
    struct module *depends[8];
    unsigned depend_count;
    /* Function symbols for backtraces, sorted by address ("name [module]"). */
    uint64_t *symbol_addresses;
    char **symbol_names;
    unsigned symbol_count;
    char *modinfo; /* a copy of the .modinfo section, for modinfo */
    size_t modinfo_size;
    struct list_node node;
};

/* Loads a module from a file ("insmod PATH OPTION..."); its options ("queues=1") are read by
 * the module as cmdline options "NAME.queues=1" (<rayos/cmdline.h>) while it is loaded. */
int module_load_file(const char *path, const char *const *options, unsigned option_count, char *why,
                     size_t why_size);
/* Loads a module from memory (a boot module, a file already read). */
int module_load(const void *image, size_t size, const char *origin, const char *const *options,
                unsigned option_count, char *why, size_t why_size);
/* Unloads ("rmmod"): refused with -EBUSY and why naming the user while in use. */
int module_unload(const char *name, char *why, size_t why_size);
struct module *module_find(const char *name);
/* The device core's references while a device is bound to a module's driver (NULL: built
 * in, nothing to count). */
static inline void module_get(struct module *mod)
{
    if (mod)
        __atomic_add_fetch(&mod->users, 1, __ATOMIC_ACQ_REL);
}
static inline void module_put(struct module *mod)
{
    if (mod)
        __atomic_sub_fetch(&mod->users, 1, __ATOMIC_ACQ_REL);
}
/* For backtraces: the module function containing address, or NULL. */
const char *module_symbol_lookup(uint64_t address, uint64_t *offset, const char **module_name);
/* The address of a loaded module's function, or 0 (the crash command's module cases). */
uint64_t module_function_address(const char *name);
/* Loads the module whose alias matches modalias (from /BOOT/MODULES), if any: 0 when loaded
 * or already there, -ENOENT when no module has that alias. */
int module_autoload(const char *modalias);
/* Module memory (kernel/module_memory.c) within reach of the kernel's code model, zeroed,
 * writable and not executable until protected. */
void *module_memory_alloc(size_t size);
void module_memory_protect(void *virt, size_t size, bool writable, bool executable);
void module_memory_free(void *virt, size_t size);
/* Architecture part: the virtual range [*start, *end) modules live in, and its page mappings
 * (writable, not executable; protect only makes a page stricter or executable). */
void arch_module_area(uint64_t *start, uint64_t *end);
bool arch_module_map_page(uint64_t virt, phys_addr_t phys);
void arch_module_unmap(uint64_t start, uint64_t end);
void arch_module_protect_page(uint64_t virt, bool writable, bool executable);

/* The kernel ABI hash modules must carry (FNV-1a over the sorted export names). */
const char *module_kernel_abi(void);

#endif
