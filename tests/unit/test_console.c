/* The console core (kernel/console.c): output fan-out, the early console's hand-over to the
 * driver console of the same hardware and back, and the one input queue every console feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/console.h>
#include <rayos/errno.h>
#include <rayos/string.h>
#include <rayos/thread.h>

struct fake_console {
    struct console console;
    char written[256];
    size_t length;
    const char *poll_input; /* what poll() delivers, one call at a time */
    unsigned polls;
};

static void fake_write(struct console *c, const char *text, size_t length)
{
    struct fake_console *f = c->context;
    for (size_t i = 0; i < length && f->length < sizeof(f->written) - 1; i++)
        f->written[f->length++] = text[i];
}

static void fake_poll(struct console *c)
{
    struct fake_console *f = c->context;
    f->polls++;
    for (const char *p = f->poll_input; p && *p; p++)
        console_input_push(*p);
    f->poll_input = NULL;
}

static void fake_init(struct fake_console *f, const char *name, struct device *dev)
{
    memset(f, 0, sizeof(*f));
    f->console = (struct console){
        .name = name, .device = dev, .write = fake_write, .poll = fake_poll, .context = f};
}

static void device_with(struct device *dev, const char *name, enum resource_type type,
                        uint64_t start, uint64_t size)
{
    memset(dev, 0, sizeof(*dev));
    snprintf(dev->name, sizeof(dev->name), "%s", name);
    dev->resource_count = 1;
    dev->resources[0] = (struct resource){type, start, size, 0};
}

static void assert_written(struct fake_console *f, const char *expect)
{
    f->written[f->length] = 0;
    assert_string_equal(f->written, expect);
}

static void write_text(const char *text)
{
    console_write(text, strlen(text));
}

static void test_hand_over_and_back(void **state)
{
    struct fake_console early, com1, com2;
    struct device serial0, serial1;
    device_with(&serial0, "serial0", RESOURCE_IO, 0x3f8, 8);
    device_with(&serial1, "serial1", RESOURCE_IO, 0x2f8, 8);
    fake_init(&early, "early", NULL);
    fake_init(&com1, "ttyS0", &serial0);
    fake_init(&com2, "ttyS1", &serial1);

    console_register_early(&early.console, RESOURCE_IO, 0x3f8);
    write_text("one\n");
    /* Another UART's console joins; the early one stays. */
    assert_int_equal(console_register(&com2.console), 0);
    write_text("two\n");
    /* The driver console of the early console's ports replaces it: each line goes to exactly
     * one of the two. */
    assert_int_equal(console_register(&com1.console), 0);
    write_text("three\n");
    assert_written(&early, "one\ntwo\n");
    assert_written(&com1, "three\n");
    assert_written(&com2, "two\nthree\n");
    assert_false(early.console.registered);
    assert_int_equal(console_register(&com1.console), -EBUSY);

    /* Unregistered, it hands back to the early console. */
    console_unregister(&com1.console);
    write_text("four\n");
    assert_written(&early, "one\ntwo\nfour\n");
    assert_written(&com1, "three\n");
    assert_written(&com2, "two\nthree\nfour\n");
    console_unregister(&com2.console);
    console_unregister(&com2.console); /* twice is harmless */
    write_text("five\n");
    assert_written(&early, "one\ntwo\nfour\nfive\n");
    assert_written(&com2, "two\nthree\nfour\n");
    console_unregister(&early.console);
    write_text("six\n");
    assert_written(&early, "one\ntwo\nfour\nfive\n");
}

/* An MMIO UART (a PL011, say) is named by its register address. */
static void test_mmio_early_console(void **state)
{
    struct fake_console early, other, pl011;
    struct device elsewhere, uart0;
    device_with(&elsewhere, "uart1", RESOURCE_MEM, 0x9040000, 0x1000);
    device_with(&uart0, "uart0", RESOURCE_MEM, 0x9000000, 0x1000);
    fake_init(&early, "early", NULL);
    fake_init(&other, "ttyAMA1", &elsewhere);
    fake_init(&pl011, "ttyAMA0", &uart0);
    console_register_early(&early.console, RESOURCE_MEM, 0x9000000);
    assert_int_equal(console_register(&other.console), 0);
    assert_true(early.console.registered);
    assert_int_equal(console_register(&pl011.console), 0);
    assert_false(early.console.registered);
    write_text("x");
    assert_written(&early, "");
    assert_written(&pl011, "x");
    console_unregister(&pl011.console);
    console_unregister(&other.console);
    console_unregister(&early.console);
    write_text("nobody");
    assert_written(&early, "");
}

static void test_register_needs_write(void **state)
{
    struct console empty = {.name = "empty"};
    assert_int_equal(console_register(&empty), -EINVAL);
    assert_false(empty.registered);
}

/* Every console feeds one queue; the reader polls the consoles when it is empty; a full queue
 * drops the newest characters; Ctrl-C goes to the interrupt target instead. */
static void test_input_queue(void **state)
{
    struct fake_console a;
    struct device dev;
    device_with(&dev, "serial0", RESOURCE_IO, 0x3f8, 8);
    fake_init(&a, "ttyS0", &dev);
    assert_int_equal(console_register(&a.console), 0);

    console_input_push('h');
    console_input_push('i');
    assert_int_equal(console_read_char(), 'h');
    assert_int_equal(console_read_char(), 'i');
    a.poll_input = "p";
    assert_int_equal(console_read_char(), 'p'); /* empty: found by polling */
    assert_true(a.polls >= 1);

    for (unsigned i = 0; i < 1100; i++)
        console_input_push((char)('a' + i % 26));
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(console_read_char(), 'a' + i % 26);
    a.poll_input = "!";
    assert_int_equal(console_read_char(), '!'); /* the 76 beyond the queue were dropped */

    struct thread foreground;
    memset(&foreground, 0, sizeof(foreground));
    console_set_interrupt_target(&foreground);
    console_input_push(0x03);
    console_set_interrupt_target(NULL);
    assert_true(foreground.interrupt_requested);
    console_input_push(0x03); /* no foreground command: queued like any character */
    assert_int_equal(console_read_char(), 0x03);
    console_unregister(&a.console);
}

static void count_call(void *context)
{
    (*(int *)context)++;
}

static void test_hold_output_runs_the_function(void **state)
{
    int calls = 0;
    console_hold_output(count_call, &calls);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_over_and_back),
        cmocka_unit_test(test_mmio_early_console),
        cmocka_unit_test(test_register_needs_write),
        cmocka_unit_test(test_input_queue),
        cmocka_unit_test(test_hold_output_runs_the_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
