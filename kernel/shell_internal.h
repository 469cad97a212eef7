#ifndef KERNEL_SHELL_INTERNAL_H
#define KERNEL_SHELL_INTERNAL_H

#include <rayos/shell.h>

const struct shell_command *shell_find(const char *name);
unsigned shell_command_count(void);
const struct shell_command *shell_command_at(unsigned index);
void shell_run(void) __noreturn;

/* Background jobs (kernel/jobs.c). */
int job_start(const char *line);
/* Output of a job thread, prefixed "[N] " line by line; false when not called from a job. */
bool job_write(const char *text, size_t length);

#endif
