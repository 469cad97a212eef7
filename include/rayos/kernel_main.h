#ifndef RAYOS_KERNEL_MAIN_H
#define RAYOS_KERNEL_MAIN_H

/* Called by the architecture's entry once memory, interrupts and time work. */
void kernel_start(void) __attribute__((noreturn));

#endif
