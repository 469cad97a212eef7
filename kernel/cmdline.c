/* Kernel command line: space-separated words, "name" or "name=value". */
#include <rayos/cmdline.h>
#include <rayos/string.h>
#include "boot_info.h"

const char *cmdline_text(void)
{
    return boot_info.cmdline;
}

/* Finds the word "name" or "name=..."; returns a pointer just past the name. */
static const char *find(const char *name)
{
    size_t n = strlen(name);
    const char *p = boot_info.cmdline;
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

bool cmdline_has(const char *name)
{
    return find(name) != NULL;
}

bool cmdline_get(const char *name, char *buf, size_t size)
{
    const char *p = find(name);
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
