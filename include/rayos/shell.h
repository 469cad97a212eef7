/* Shell command table.  Any file registers a command with SHELL_COMMAND; the linker gathers
 * them into one table, so subsystems never edit the shell itself. */
#ifndef RAYOS_SHELL_H
#define RAYOS_SHELL_H

#include <rayos/types.h>

typedef int (*shell_handler_t)(int argc, char **argv);

struct shell_command {
    const char *name;
    const char *help; /* one line: "ARGS  what it does" */
    shell_handler_t handler;
};

#define SHELL_COMMAND(cmd_name, cmd_help, cmd_handler)                                             \
    static const struct shell_command __shell_command_##cmd_handler                                \
        __attribute__((used, section(".shell_commands"), aligned(8))) = {cmd_name, cmd_help,       \
                                                                         cmd_handler}

/* Output for commands: goes to the console, not the kernel log. */
int shell_printf(const char *fmt, ...) __printf(1, 2);
void shell_write(const char *text, size_t length);

/* Runs one command line as if typed; returns the command's status. */
int shell_execute(char *line);

#endif
