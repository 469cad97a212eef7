/* See shell_tokenize.h. */
#include <rayos/errno.h>
#include <rayos/types.h>
#include "shell_tokenize.h"

int shell_tokenize(char *line, char **argv, int max)
{
    int argc = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (argc == max)
            return -E2BIG;
        char *out = p;
        argv[argc++] = out;
        bool quoted = false;
        while (*p && (quoted || (*p != ' ' && *p != '\t'))) {
            if (*p == '"') {
                quoted = !quoted;
                p++;
                continue;
            }
            *out++ = *p++;
        }
        if (quoted)
            return -EINVAL;
        if (*p)
            p++;
        *out = 0;
    }
    return argc;
}
