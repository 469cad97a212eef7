/* Console output fan-out, the early console hand-over and the typed-input queue (see
 * <rayos/console.h>). */
#define pr_fmt(fmt) "console: " fmt
#include <rayos/console.h>
#include <rayos/errno.h>
#include <rayos/lock.h>
#include <rayos/printk.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/wait.h>

#define INPUT_SIZE  1024 /* a power of two */
#define POLL_PERIOD (50 * NSEC_PER_MSEC)

/* The list is changed under both locks: output_lock (spinlock, interrupts off) keeps writers
 * and changes apart; registry_lock (a mutex) keeps poll(), which may take its time and runs in
 * thread context, apart from unregistration.  The early console is registered before threads
 * exist, so it takes output_lock only. */
static LIST_HEAD(consoles);
static struct spinlock output_lock = SPINLOCK_INIT("console");
static struct mutex registry_lock = MUTEX_INIT("consoles");

static struct console *early;             /* the early console, registered or replaced */
static struct console *early_replaced_by; /* the console that took its place, or NULL */
static enum resource_type early_type;
static uint64_t early_address;

static volatile char input[INPUT_SIZE];
static volatile unsigned input_head, input_tail;
static struct spinlock input_lock = SPINLOCK_INIT("console input"); /* pushers on any CPU */
static struct wait_queue input_wait = WAIT_QUEUE_INIT("console input");
static struct thread *volatile interrupt_target;

void console_register_early(struct console *c, enum resource_type type, uint64_t address)
{
    irqflags_t flags = spin_lock_irqsave(&output_lock);
    if (early && early->registered) {
        list_remove(&early->node);
        early->registered = false;
    }
    early = c;
    early_replaced_by = NULL;
    early_type = type;
    early_address = address;
    list_add_tail(&consoles, &c->node);
    c->registered = true;
    spin_unlock_irqrestore(&output_lock, flags);
}

/* Whether a device's resources reach the early console's hardware. */
static bool covers_early(const struct device *dev)
{
    for (unsigned i = 0; dev && i < dev->resource_count; i++) {
        const struct resource *r = &dev->resources[i];
        if (r->type == early_type && early_address >= r->start &&
            early_address - r->start < r->size)
            return true;
    }
    return false;
}

int console_register(struct console *c)
{
    if (!c->write)
        return -EINVAL;
    mutex_lock(&registry_lock);
    irqflags_t flags = spin_lock_irqsave(&output_lock);
    if (c->registered) {
        spin_unlock_irqrestore(&output_lock, flags);
        mutex_unlock(&registry_lock);
        return -EBUSY;
    }
    bool takes_over = early && early->registered && covers_early(c->device);
    if (takes_over) {
        /* In the early console's place, in one step: the next line goes to the new one. */
        list_insert_between(&c->node, early->node.prev, early->node.next);
        early->registered = false;
        early_replaced_by = c;
    } else {
        list_add_tail(&consoles, &c->node);
    }
    c->registered = true;
    spin_unlock_irqrestore(&output_lock, flags);
    mutex_unlock(&registry_lock);
    if (takes_over)
        pr_info("%s on %s takes over from the early console %s", c->name, c->device->name,
                early->name);
    else
        pr_info("%s%s%s registered", c->name, c->device ? " on " : "",
                c->device ? c->device->name : "");
    return 0;
}

void console_unregister(struct console *c)
{
    mutex_lock(&registry_lock);
    irqflags_t flags = spin_lock_irqsave(&output_lock);
    bool was_registered = c->registered;
    bool early_back = was_registered && early_replaced_by == c;
    if (early_back) {
        list_insert_between(&early->node, c->node.prev, c->node.next);
        early->registered = true;
        early_replaced_by = NULL;
    } else if (was_registered) {
        list_remove(&c->node);
    }
    if (c == early) { /* the early console itself: gone for good */
        early = NULL;
        early_replaced_by = NULL;
    }
    c->registered = false;
    spin_unlock_irqrestore(&output_lock, flags);
    mutex_unlock(&registry_lock);
    if (early_back)
        pr_info("%s unregistered; the early console %s is back", c->name, early->name);
    else if (was_registered)
        pr_info("%s unregistered", c->name);
}

void console_hold_output(void (*fn)(void *context), void *context)
{
    irqflags_t flags = spin_lock_irqsave(&output_lock);
    fn(context);
    spin_unlock_irqrestore(&output_lock, flags);
}

void console_write(const char *text, size_t length)
{
    irqflags_t flags = spin_lock_irqsave(&output_lock);
    struct console *c;
    list_for_each_entry(c, &consoles, node) c->write(c, text, length);
    spin_unlock_irqrestore(&output_lock, flags);
}

void console_for_each(void (*fn)(struct console *c, bool early_console, void *context),
                      void *context)
{
    irqflags_t flags = spin_lock_irqsave(&output_lock);
    struct console *c;
    list_for_each_entry(c, &consoles, node) fn(c, c == early, context);
    spin_unlock_irqrestore(&output_lock, flags);
}

void console_poll(void)
{
    mutex_lock(&registry_lock);
    struct console *c;
    list_for_each_entry(c, &consoles, node) if (c->poll) c->poll(c);
    mutex_unlock(&registry_lock);
}

void console_set_interrupt_target(struct thread *t)
{
    interrupt_target = t;
}

void console_input_push(char c)
{
    struct thread *target = interrupt_target;
    if (c == 0x03 && target) {
        target->interrupt_requested = true;
        return;
    }
    irqflags_t flags = spin_lock_irqsave(&input_lock);
    /* Full queue: drop the newest character rather than overwrite what the shell has not read. */
    bool queued = input_head - input_tail < INPUT_SIZE;
    if (queued) {
        input[input_head % INPUT_SIZE] = c;
        __atomic_store_n(&input_head, input_head + 1, __ATOMIC_RELEASE);
    }
    spin_unlock_irqrestore(&input_lock, flags);
    if (queued)
        wake_up(&input_wait);
}

static bool input_available(void)
{
    return input_tail != __atomic_load_n(&input_head, __ATOMIC_ACQUIRE);
}

/* One reader (the shell's thread), so the tail needs no lock. */
static int input_pop(void)
{
    if (!input_available())
        return -1;
    char c = input[input_tail % INPUT_SIZE];
    __atomic_store_n(&input_tail, input_tail + 1, __ATOMIC_RELEASE);
    return (unsigned char)c;
}

int console_read_char(void)
{
    for (;;) {
        int c = input_pop();
        if (c >= 0)
            return c;
        wait_event_timeout(&input_wait, input_available(), POLL_PERIOD);
        console_poll();
    }
}
