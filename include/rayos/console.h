/* Consoles: where the kernel log and the shell write, and where typed input comes from.
 *
 * A console belongs to a device: the driver bound to a UART registers one in probe()
 * (console_register) and unregisters it in remove() (console_unregister).  Every registered
 * console gets the whole log and all shell output.  Input from every console goes into one
 * queue the shell reads: drivers push received characters with console_input_push() from their
 * receive interrupt, and may offer poll() to drain the hardware without interrupts (the shell
 * polls every console while it waits, so a console whose interrupt is unavailable still works).
 *
 * Before any driver binds, the architecture's boot code registers an early console
 * (console_register_early): a polled writer for the boot console's UART, set up on the first
 * line of boot, named by the resource that locates its hardware (an I/O port or an MMIO
 * address).  When a driver registers a console for a device with a resource covering that
 * address, the new console takes the early one's place in the same step, so no log line is lost
 * or written twice; if that console is unregistered, the early console comes back.
 *
 * Concurrency: write() runs with console output serialised (one console lock, interrupts off),
 * from any context; poll() runs in thread context, never at the same time as unregistration;
 * console_input_push() may be called from interrupt handlers. */
#ifndef RAYOS_CONSOLE_H
#define RAYOS_CONSOLE_H

#include <rayos/device.h>
#include <rayos/irq.h>
#include <rayos/list.h>
#include <rayos/types.h>

struct console {
    const char *name;      /* "ttyS0" */
    struct device *device; /* the device its driver is bound to (NULL for an early console) */
    /* Writes text as it is; a driver whose line wants CR LF turns '\n' into it. */
    void (*write)(struct console *c, const char *text, size_t length);
    /* Optional: pushes whatever the hardware has received, without interrupts. */
    void (*poll)(struct console *c);
    void *context; /* the driver's */

    /* Owned by the console core. */
    struct list_node node;
    bool registered;
};

/* Adds a console (write is required): -EINVAL without write, -EBUSY if already registered.  A
 * console whose device covers the early console's address replaces it. */
int console_register(struct console *c);
/* Removes a console; once this returns, nothing runs in its write() or poll() any more.  The
 * console that replaced the early console gives its place back; the early console itself, once
 * unregistered, is forgotten. */
void console_unregister(struct console *c);

/* Registers the early console from boot code (one; a second call replaces the first while it is
 * still registered).  type and address locate its hardware (RESOURCE_IO and the port base,
 * RESOURCE_MEM and the physical address of the registers) so that the driver's console for the
 * same device takes over from it. */
void console_register_early(struct console *c, enum resource_type type, uint64_t address);

/* A received character, from a driver's receive interrupt or poll().  Ctrl-C (0x03) asks the
 * foreground command to stop instead of being queued; a full queue drops the character. */
void console_input_push(char c);

/* Runs fn(context) with console output held off (the console lock taken, interrupts off on
 * this CPU): for a driver reprogramming a UART (line speed, FIFOs) that the early console may be
 * writing through.  fn must not print. */
void console_hold_output(void (*fn)(void *context), void *context);

/* ---- for the kernel: the log, the shell ---- */

/* Writes to every registered console. */
void console_write(const char *text, size_t length);
/* Sleeps until a character is typed on any console and returns it (0-255). */
int console_read_char(void);
/* Calls every registered console's poll(). */
void console_poll(void);
/* While set, a typed Ctrl-C asks this thread to stop (thread_should_stop) instead of being
 * queued as input: the shell sets it to the thread running the foreground command. */
/* For UART drivers (drivers/serial): the device's first interrupt as the console's receive
 * interrupt, claimed as a managed resource (released after the driver's remove); -1, with a
 * warning, when the device describes none or it cannot be claimed: input is then polled.
 * *line gets the interrupt line when there is one. */
int console_claim_input_irq(struct device *dev, irq_handler_t handler, void *context,
                            const char *name, unsigned *line);

struct thread;
void console_set_interrupt_target(struct thread *t);
/* Calls fn for each registered console in order (under the console lock: fn must not print). */
void console_for_each(void (*fn)(struct console *c, bool early, void *context), void *context);

#endif
