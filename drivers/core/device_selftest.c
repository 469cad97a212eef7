/* In-kernel self-test of the device core: what only the running kernel has (interrupt context,
 * the system work queue). */
#include <rayos/device.h>
#include <rayos/selftest.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include <rayos/work.h>

struct irq_put_test {
    struct device dev;
    struct timer timer;
    volatile bool put_in_irq, released, released_in_irq;
};

static void record_release(struct device *dev)
{
    struct irq_put_test *t = container_of(dev, struct irq_put_test, dev);
    t->released_in_irq = in_interrupt();
    t->released = true;
}

static void put_from_timer(struct timer *timer)
{
    struct irq_put_test *t = timer->data;
    t->put_in_irq = in_interrupt();
    device_put(&t->dev); /* the last reference */
}

/* A request completing on a removed partition may drop its last reference in interrupt
 * context, where the model's lock cannot be taken: the release runs in a worker thread. */
SELFTEST(device_last_put_in_interrupt_context_releases_in_a_thread)
{
    static struct irq_put_test t;
    t = (struct irq_put_test){0};
    device_initialize(&t.dev, NULL, NULL, "selftest-irq-put");
    t.dev.release = record_release;
    timer_setup(&t.timer, put_from_timer, &t);
    timer_start_at(&t.timer, time_ns() + 5 * NSEC_PER_MSEC);
    for (unsigned waited = 0; !t.released && waited < 1000; waited++)
        msleep(2);
    flush_workqueue(system_wq);
    ST_ASSERT(t.put_in_irq);
    ST_ASSERT(t.released);
    ST_ASSERT(!t.released_in_irq);
}
