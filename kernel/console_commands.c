/* The `consoles` shell command: which consoles get the log and the shell's output. */
#include <rayos/console.h>
#include <rayos/shell.h>
#include <rayos/string.h>

#define LISTED_MAX 8

struct console_listing {
    unsigned count;
    char lines[LISTED_MAX][64];
};

/* Runs under the console lock, so it only copies; the command prints afterwards. */
static void list_console(struct console *c, bool early, void *context)
{
    struct console_listing *listing = context;
    if (listing->count < LISTED_MAX)
        snprintf(listing->lines[listing->count], sizeof(listing->lines[0]), "%-10s %s\n", c->name,
                 early       ? "(early console)"
                 : c->device ? c->device->name
                             : "-");
    listing->count++;
}

static int cmd_consoles(int argc, char **argv)
{
    struct console_listing listing = {0};
    console_for_each(list_console, &listing);
    shell_printf("%-10s %s\n", "console", "device");
    for (unsigned i = 0; i < listing.count && i < LISTED_MAX; i++)
        shell_printf("%s", listing.lines[i]);
    if (listing.count > LISTED_MAX)
        shell_printf("(%u more)\n", listing.count - LISTED_MAX);
    return 0;
}
SHELL_COMMAND("consoles", "consoles receiving the log and shell output, with their devices",
              cmd_consoles);
