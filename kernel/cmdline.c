/* Kernel command line: space-separated words, "name" or "name=value".  Module options given to
 * insmod ("insmod nvme.ko queues=1") join it as "nvme.queues=1" for as long as the module is
 * loaded, ahead of the boot command line, so a driver reads its options the same way built in
 * or as a module. */
#include <rayos/boot_info.h>
#include <rayos/cmdline.h>
#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/string.h>

#define MODULE_OPTIONS_MAX 512

static char module_options[MODULE_OPTIONS_MAX]; /* " mod.key=value mod.flag ..." */

/* A bare lock, not a struct spinlock: the lock checker itself asks cmdline_has("nolockdep"). */
static bool options_busy;

static bool options_lock(void)
{
    bool enabled = irq_enabled();
    irq_disable();
    while (__atomic_exchange_n(&options_busy, true, __ATOMIC_ACQUIRE))
        cpu_relax();
    return enabled;
}

static void options_unlock(bool enabled)
{
    __atomic_store_n(&options_busy, false, __ATOMIC_RELEASE);
    if (enabled)
        irq_enable();
}

const char *cmdline_text(void)
{
    return boot_info.cmdline;
}

/* Finds the word "name" or "name=..." in text; returns a pointer just past the name. */
static const char *find_in(const char *text, const char *name)
{
    size_t n = strlen(name);
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - word) >= n && strncmp(word, name, n) == 0 &&
            (word[n] == ' ' || word[n] == 0 || word[n] == '='))
            return word + n;
    }
    return NULL;
}

/* Copies the value after "name=" into buf (size > 0); false if p is not at a value. */
static bool copy_value(const char *p, char *buf, size_t size)
{
    if (!p || *p != '=')
        return false;
    p++;
    size_t n = strcspn(p, " ");
    if (size == 0)
        return true;
    n = MIN(n, size - 1);
    memcpy(buf, p, n);
    buf[n] = 0;
    return true;
}

bool cmdline_has(const char *name)
{
    bool flags = options_lock();
    bool found = find_in(module_options, name) != NULL;
    options_unlock(flags);
    return found || find_in(boot_info.cmdline, name) != NULL;
}

bool cmdline_get(const char *name, char *buf, size_t size)
{
    bool flags = options_lock();
    const char *p = find_in(module_options, name);
    bool found = p && copy_value(p, buf, size);
    options_unlock(flags);
    if (p) /* a module option without a value hides the boot command line's */
        return found;
    return copy_value(find_in(boot_info.cmdline, name), buf, size);
}

int cmdline_add_module_options(const char *module, const char *const *options, unsigned count)
{
    char added[MODULE_OPTIONS_MAX] = "";
    size_t used = 0;
    for (unsigned i = 0; i < count; i++) {
        if (!options[i][0] || strchr(options[i], ' ') || options[i][0] == '=')
            return -EINVAL;
        int n = snprintf(added + used, sizeof(added) - used, " %s.%s", module, options[i]);
        if (n < 0 || (size_t)n >= sizeof(added) - used)
            return -ENOSPC;
        used += (size_t)n;
    }
    bool flags = options_lock();
    size_t length = strlen(module_options);
    int status = length + used < sizeof(module_options) ? 0 : -ENOSPC;
    if (status == 0)
        memcpy(module_options + length, added, used + 1);
    options_unlock(flags);
    return status;
}

void cmdline_remove_module_options(const char *module)
{
    size_t n = strlen(module);
    bool flags = options_lock();
    char *out = module_options;
    for (const char *p = module_options; *p;) {
        const char *word = p + strspn(p, " ");
        size_t length = strcspn(word, " ");
        p = word + length;
        if (length == 0 || (length > n && strncmp(word, module, n) == 0 && word[n] == '.'))
            continue;
        *out++ = ' ';
        memmove(out, word, length);
        out += length;
    }
    *out = 0;
    options_unlock(flags);
}
