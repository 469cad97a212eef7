/* The console: where the kernel log and the shell write, and where typed input arrives. */
#ifndef RAYOS_CONSOLE_H
#define RAYOS_CONSOLE_H

#include <rayos/types.h>

struct console_driver {
    const char *name;
    void (*write)(const char *text, size_t length);
    /* Drains received characters without an interrupt, for when the interrupt is unavailable
     * or interrupts are off; NULL when there is nothing to poll. */
    void (*poll)(void);
};

void console_register(const struct console_driver *driver);
void console_write(const char *text, size_t length);

/* Input: drivers push received characters (from interrupt context); the shell pops them. */
void console_input_push(char c);
int console_input_pop(void); /* -1 when empty */
bool console_input_available(void);
void console_poll(void); /* every console's poll */
/* While set, a typed Ctrl-C asks this thread to stop (thread_should_stop) instead of being
 * queued as input: the shell sets it to the thread running the foreground command. */
struct thread;
void console_set_interrupt_target(struct thread *t);
void console_input_wait(uint64_t timeout_ns); /* sleeps until input arrives or the time passes */

#endif
