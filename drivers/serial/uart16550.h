#ifndef DRIVERS_SERIAL_UART16550_H
#define DRIVERS_SERIAL_UART16550_H

/* Sets up COM1 for output before anything else runs (the first thing the kernel does). */
void uart16550_early_init(void);
/* Drains received characters without an interrupt (for when interrupts are off). */
void uart16550_poll(void);

#endif
