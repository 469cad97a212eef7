/* The 16550 UART at COM1 (drivers/serial/uart16550.c, built on PCs only): the architecture's
 * boot code brings it up first so that everything after can print. */
#ifndef RAYOS_UART16550_H
#define RAYOS_UART16550_H

/* Sets up COM1 for output and registers it as a console (polled output; the receive interrupt
 * is claimed later, at INIT_CORE). */
void uart16550_early_init(void);

#endif
