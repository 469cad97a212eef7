/* Console output fan-out and the typed-input queue. */
#include <rayos/console.h>
#include <rayos/lock.h>
#include <rayos/wait.h>

#define CONSOLES_MAX 4
#define INPUT_SIZE   1024 /* a power of two */

static const struct console_driver *consoles[CONSOLES_MAX];
static unsigned console_count;
static struct spinlock output_lock = SPINLOCK_INIT("console");

static volatile char input[INPUT_SIZE];
static volatile unsigned input_head, input_tail;
static struct wait_queue input_wait = WAIT_QUEUE_INIT("console input");
static struct thread *volatile interrupt_target;

void console_set_interrupt_target(struct thread *t)
{
    interrupt_target = t;
}

void console_register(const struct console_driver *driver)
{
    if (console_count < CONSOLES_MAX)
        consoles[console_count++] = driver;
}

void console_write(const char *text, size_t length)
{
    irqflags_t flags = spin_lock_irqsave(&output_lock);
    for (unsigned i = 0; i < console_count; i++)
        consoles[i]->write(text, length);
    spin_unlock_irqrestore(&output_lock, flags);
}

void console_poll(void)
{
    for (unsigned i = 0; i < console_count; i++)
        if (consoles[i]->poll)
            consoles[i]->poll();
}

void console_input_push(char c)
{
    struct thread *target = interrupt_target;
    if (c == 0x03 && target) {
        target->interrupt_requested = true;
        return;
    }
    /* Full queue: drop the newest character rather than overwrite what the shell has not read. */
    if (input_head - input_tail >= INPUT_SIZE)
        return;
    input[input_head % INPUT_SIZE] = c;
    __atomic_store_n(&input_head, input_head + 1, __ATOMIC_RELEASE);
    wake_up(&input_wait);
}

bool console_input_available(void)
{
    return input_tail != __atomic_load_n(&input_head, __ATOMIC_ACQUIRE);
}

void console_input_wait(uint64_t timeout_ns)
{
    wait_event_timeout(&input_wait, console_input_available(), timeout_ns);
}

int console_input_pop(void)
{
    if (input_tail == __atomic_load_n(&input_head, __ATOMIC_ACQUIRE))
        return -1;
    char c = input[input_tail % INPUT_SIZE];
    input_tail++;
    return (unsigned char)c;
}
