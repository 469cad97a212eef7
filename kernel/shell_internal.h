#ifndef KERNEL_SHELL_INTERNAL_H
#define KERNEL_SHELL_INTERNAL_H

#include <rayos/shell.h>

const struct shell_command *shell_find(const char *name);
unsigned shell_command_count(void);
const struct shell_command *shell_command_at(unsigned index);
int shell_tokenize(char *line, char **argv, int max);
void shell_run(void) __noreturn;

#endif
