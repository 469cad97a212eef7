/* The few things the portable kernel asks of the architecture beyond I/O, memory and IRQs. */
#ifndef RAYOS_ARCH_H
#define RAYOS_ARCH_H

#include <rayos/types.h>

void arch_halt(void) __noreturn; /* stop this CPU for good */
void arch_print_backtrace(void); /* the caller's stack, with symbol names */
/* Return addresses of the caller's callers, innermost first; unused entries are zeroed. */
void arch_stack_trace(uint64_t *out, unsigned max);

/* Symbol lookup in the kernel's embedded table (for backtraces); NULL if unknown. */
const char *ksym_lookup(uint64_t address, uint64_t *offset);

#endif
