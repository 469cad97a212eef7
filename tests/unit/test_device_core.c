/* Driver core: registration, matching (most specific wins), bind/unbind, probe failure,
 * events, reference counting and removal order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/device.h>
#include <rayos/errno.h>
#include <rayos/string.h>

/* A toy bus: a device carries an ID, a driver a list of IDs; an exact ID scores 10, the
 * wildcard 0 scores 1. */
struct toy_device {
    struct device dev;
    int id;
    bool released;
};
struct toy_driver {
    struct driver drv;
    int ids[4];
    int probe_result;
    int probes, removes;
};

static int toy_match(struct device *dev, struct driver *drv)
{
    struct toy_device *t = container_of(dev, struct toy_device, dev);
    struct toy_driver *d = container_of(drv, struct toy_driver, drv);
    int best = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (d->ids[i] == t->id)
            best = 10;
        else if (d->ids[i] == -1 && best == 0)
            best = 1;
    }
    return best;
}

static struct bus_type toy_bus = {.name = "toy", .match = toy_match};
static struct bus_type other_bus = {.name = "other", .match = toy_match};

static int toy_probe(struct device *dev)
{
    struct toy_driver *d = container_of(dev->driver, struct toy_driver, drv);
    d->probes++;
    if (d->probe_result == 0)
        dev->driver_data = d;
    return d->probe_result;
}

static void toy_remove(struct device *dev)
{
    struct toy_driver *d = container_of(dev->driver, struct toy_driver, drv);
    assert_ptr_equal(dev->driver_data, d);
    d->removes++;
}

static void toy_release(struct device *dev)
{
    container_of(dev, struct toy_device, dev)->released = true;
}

static void toy_device_init(struct toy_device *t, const char *name, int id, struct device *parent)
{
    memset(t, 0, sizeof(*t));
    t->id = id;
    device_initialize(&t->dev, &toy_bus, parent, name);
    t->dev.release = toy_release;
}

static void toy_driver_init(struct toy_driver *d, const char *name, int id0, int id1)
{
    memset(d, 0, sizeof(*d));
    d->drv.name = name;
    d->drv.bus = &toy_bus;
    d->drv.probe = toy_probe;
    d->drv.remove = toy_remove;
    d->ids[0] = id0;
    d->ids[1] = id1;
    d->ids[2] = d->ids[3] = -2;
}

struct event_log {
    char text[1024];
};
static void log_event(struct device *dev, enum device_event event, void *context)
{
    struct event_log *log = context;
    size_t n = strlen(log->text);
    snprintf(log->text + n, sizeof(log->text) - n, "%s:%s ", device_event_name(event), dev->name);
}

static int setup(void **state)
{
    static bool buses;
    if (!buses) {
        assert_int_equal(bus_register(&toy_bus), 0);
        assert_int_equal(bus_register(&other_bus), 0);
        buses = true;
    }
    return 0;
}

static void test_bus_registration_rules(void **state)
{
    static struct bus_type duplicate = {.name = "toy", .match = toy_match};
    assert_int_equal(bus_register(&duplicate), -EEXIST);
    assert_ptr_equal(bus_find_by_name("toy"), &toy_bus);
    assert_null(bus_find_by_name("usb"));
}

static void test_driver_after_device_binds(void **state)
{
    struct toy_device a;
    struct toy_driver d;
    toy_device_init(&a, "toy-a", 5, NULL);
    assert_int_equal(device_register(&a.dev), 0);
    assert_int_equal(a.dev.state, DEVICE_PRESENT);
    toy_driver_init(&d, "drv-late", 5, -2);
    assert_int_equal(driver_register(&d.drv), 0);
    assert_int_equal(a.dev.state, DEVICE_BOUND);
    assert_ptr_equal(a.dev.driver, &d.drv);
    assert_int_equal(d.probes, 1);
    device_unregister(&a.dev);
    assert_int_equal(d.removes, 1);
    assert_true(a.released);
    driver_unregister(&d.drv);
}

static void test_device_after_driver_binds_most_specific(void **state)
{
    struct toy_driver generic, exact;
    toy_driver_init(&generic, "generic", -1, -2);
    toy_driver_init(&exact, "exact", 7, -2);
    assert_int_equal(driver_register(&generic.drv), 0);
    assert_int_equal(driver_register(&exact.drv), 0);
    struct toy_device a, b;
    toy_device_init(&a, "toy-7", 7, NULL);
    toy_device_init(&b, "toy-8", 8, NULL);
    assert_int_equal(device_register(&a.dev), 0);
    assert_int_equal(device_register(&b.dev), 0);
    assert_ptr_equal(a.dev.driver, &exact.drv);
    assert_ptr_equal(b.dev.driver, &generic.drv);
    assert_int_equal(generic.probes, 1);
    device_unregister(&a.dev);
    device_unregister(&b.dev);
    driver_unregister(&generic.drv);
    driver_unregister(&exact.drv);
}

static void test_probe_failure_falls_back_then_stays_unbound(void **state)
{
    struct toy_driver exact, generic;
    toy_driver_init(&exact, "exact-fails", 3, -2);
    exact.probe_result = -EIO;
    toy_driver_init(&generic, "generic-fails", -1, -2);
    generic.probe_result = -ENOMEM;
    assert_int_equal(driver_register(&exact.drv), 0);
    assert_int_equal(driver_register(&generic.drv), 0);
    struct toy_device a;
    toy_device_init(&a, "toy-3", 3, NULL);
    assert_int_equal(device_register(&a.dev), 0);
    assert_int_equal(exact.probes, 1);
    assert_int_equal(generic.probes, 1);
    assert_int_equal(a.dev.state, DEVICE_PROBE_FAILED);
    assert_int_equal(a.dev.probe_error, -ENOMEM);
    assert_null(a.dev.driver);
    assert_null(a.dev.driver_data);
    /* The generic one now works: an explicit bind succeeds. */
    generic.probe_result = 0;
    assert_int_equal(device_bind(&a.dev, &generic.drv), 0);
    assert_int_equal(a.dev.state, DEVICE_BOUND);
    assert_int_equal(device_bind(&a.dev, &exact.drv), -EBUSY);
    device_unregister(&a.dev);
    assert_int_equal(generic.removes, 1);
    assert_int_equal(exact.removes, 0);
    driver_unregister(&exact.drv);
    driver_unregister(&generic.drv);
}

static void test_probe_declining_is_not_a_failure(void **state)
{
    struct toy_driver d;
    toy_driver_init(&d, "declines", 11, -2);
    d.probe_result = -ENODEV;
    driver_register(&d.drv);
    struct toy_device a;
    toy_device_init(&a, "toy-11", 11, NULL);
    device_register(&a.dev);
    assert_int_equal(d.probes, 1);
    assert_int_equal(a.dev.state, DEVICE_PRESENT);
    assert_int_equal(a.dev.probe_error, 0);
    assert_null(a.dev.driver);
    device_unregister(&a.dev);
    assert_int_equal(d.removes, 0);
    driver_unregister(&d.drv);
}

static void test_unbind_and_bind_by_hand(void **state)
{
    struct toy_driver d, other;
    toy_driver_init(&d, "hand", 4, -2);
    toy_driver_init(&other, "nomatch", 99, -2);
    driver_register(&d.drv);
    driver_register(&other.drv);
    struct toy_device a;
    toy_device_init(&a, "toy-4", 4, NULL);
    device_register(&a.dev);
    assert_int_equal(device_unbind(&a.dev), 0);
    assert_int_equal(a.dev.state, DEVICE_PRESENT);
    assert_int_equal(d.removes, 1);
    assert_int_equal(device_unbind(&a.dev), -ENODEV);
    assert_int_equal(device_bind(&a.dev, &other.drv), -ENODEV);
    assert_int_equal(device_bind(&a.dev, &d.drv), 0);
    assert_int_equal(d.probes, 2);
    device_unregister(&a.dev);
    driver_unregister(&d.drv);
    driver_unregister(&other.drv);
}

static void test_driver_unregister_unbinds(void **state)
{
    struct toy_driver d;
    toy_driver_init(&d, "going", 6, -2);
    driver_register(&d.drv);
    struct toy_device a;
    toy_device_init(&a, "toy-6", 6, NULL);
    device_register(&a.dev);
    driver_unregister(&d.drv);
    assert_int_equal(a.dev.state, DEVICE_PRESENT);
    assert_int_equal(d.removes, 1);
    assert_null(driver_find_by_name("going"));
    device_unregister(&a.dev);
}

static void test_duplicates_and_bad_bus(void **state)
{
    struct toy_device a, b, c;
    toy_device_init(&a, "dup", 1, NULL);
    toy_device_init(&b, "dup", 1, NULL);
    assert_int_equal(device_register(&a.dev), 0);
    assert_int_equal(device_register(&b.dev), -EEXIST);
    static struct bus_type unregistered = {.name = "nope", .match = toy_match};
    toy_device_init(&c, "c", 1, NULL);
    c.dev.bus = &unregistered;
    assert_int_equal(device_register(&c.dev), -EINVAL);
    struct toy_driver d1, d2;
    toy_driver_init(&d1, "same", 1000, -2);
    toy_driver_init(&d2, "same", 1000, -2);
    assert_int_equal(driver_register(&d1.drv), 0);
    assert_int_equal(driver_register(&d2.drv), -EEXIST);
    driver_unregister(&d1.drv);
    device_unregister(&a.dev);
}

static void test_other_bus_never_matches(void **state)
{
    struct toy_driver d;
    toy_driver_init(&d, "toy-only", -1, -2);
    driver_register(&d.drv);
    struct toy_device a;
    toy_device_init(&a, "on-other", 1, NULL);
    a.dev.bus = &other_bus;
    device_register(&a.dev);
    assert_int_equal(a.dev.state, DEVICE_PRESENT);
    assert_int_equal(device_bind(&a.dev, &d.drv), -ENODEV);
    device_unregister(&a.dev);
    driver_unregister(&d.drv);
}

static void test_reference_keeps_removed_device(void **state)
{
    struct toy_device a;
    toy_device_init(&a, "held", 1, NULL);
    device_register(&a.dev);
    struct device *held = device_find_by_name("held");
    assert_ptr_equal(held, &a.dev);
    device_unregister(&a.dev);
    assert_false(a.released);
    assert_int_equal(held->state, DEVICE_REMOVED);
    assert_null(device_find_by_name("held"));
    /* The name is free again (hot-plug re-adds the same address). */
    struct toy_device again;
    toy_device_init(&again, "held", 1, NULL);
    assert_int_equal(device_register(&again.dev), 0);
    device_put(held);
    assert_true(a.released);
    device_unregister(&again.dev);
    assert_true(again.released);
}

static void test_children_removed_first_and_events(void **state)
{
    struct event_log log = {""};
    struct device_listener listener = {log_event, &log, {NULL, NULL}};
    device_listen(&listener);
    struct toy_driver d;
    toy_driver_init(&d, "tree", 2, -2);
    driver_register(&d.drv);
    struct toy_device parent, child1, child2;
    toy_device_init(&parent, "parent", 1, NULL);
    device_register(&parent.dev);
    toy_device_init(&child1, "child1", 2, &parent.dev);
    toy_device_init(&child2, "child2", 1, &parent.dev);
    device_register(&child1.dev);
    device_register(&child2.dev);
    assert_int_equal(device_depth(&child1.dev), 1);
    device_unregister(&parent.dev);
    device_unlisten(&listener);
    assert_string_equal(log.text, "added:parent added:child1 bound:child1 added:child2 "
                                  "removed:child2 unbound:child1 removed:child1 removed:parent ");
    assert_true(child1.released && child2.released && parent.released);
    driver_unregister(&d.drv);
}

static int count_device(struct device *dev, void *context)
{
    (*(int *)context)++;
    return 0;
}

static int unregister_each(struct device *dev, void *context)
{
    device_unregister(dev);
    return 0;
}

static void test_for_each_survives_removal(void **state)
{
    struct toy_device devices[5];
    char names[5][16];
    for (int i = 0; i < 5; i++) {
        snprintf(names[i], sizeof(names[i]), "it%d", i);
        toy_device_init(&devices[i], names[i], 50 + i, NULL);
        device_register(&devices[i].dev);
    }
    int count = 0;
    device_for_each(count_device, &count);
    assert_int_equal(count, 5);
    device_for_each(unregister_each, NULL);
    count = 0;
    device_for_each(count_device, &count);
    assert_int_equal(count, 0);
    for (int i = 0; i < 5; i++)
        assert_true(devices[i].released);
}

static int unregister_child(struct device *dev, void *context)
{
    (*(int *)context)++;
    device_unregister(dev);
    return 0;
}

static void test_for_each_child_may_unregister(void **state)
{
    struct toy_device parent, children[3];
    toy_device_init(&parent, "kids", 1, NULL);
    device_register(&parent.dev);
    const char *names[] = {"kid0", "kid1", "kid2"};
    for (int i = 0; i < 3; i++) {
        toy_device_init(&children[i], names[i], 1, &parent.dev);
        device_register(&children[i].dev);
    }
    int visited = 0;
    assert_int_equal(device_for_each_child(&parent.dev, unregister_child, &visited), 0);
    assert_int_equal(visited, 3);
    for (int i = 0; i < 3; i++)
        assert_true(children[i].released);
    assert_true(list_empty(&parent.dev.children));
    toy_device_init(&children[0], "kid0", 1, &parent.dev);
    device_register(&children[0].dev);
    device_unregister_children(&parent.dev);
    assert_true(children[0].released);
    assert_false(parent.released);
    device_unregister(&parent.dev);
    assert_true(parent.released);
}

static void test_resources(void **state)
{
    struct toy_device a;
    toy_device_init(&a, "res", 1, NULL);
    assert_int_equal(device_add_resource(&a.dev, RESOURCE_IO, 0x3f8, 8, 0), 0);
    assert_int_equal(device_add_resource(&a.dev, RESOURCE_IRQ, 4, 1, 0), 0);
    assert_int_equal(device_add_resource(&a.dev, RESOURCE_IO, 0x2f8, 8, 0), 0);
    struct irq_spec level = {32 + 1, IRQ_LEVEL_HIGH}; /* a GIC SPI, say */
    struct resource as_resource = resource_from_irq_spec(&level);
    assert_int_equal(device_add_resource(&a.dev, as_resource.type, as_resource.start,
                                         as_resource.size, as_resource.flags),
                     0);
    assert_int_equal(device_resource(&a.dev, RESOURCE_IO, 1)->start, 0x2f8);
    assert_int_equal(device_resource(&a.dev, RESOURCE_IRQ, 0)->start, 4);
    assert_null(device_resource(&a.dev, RESOURCE_MEM, 0));

    /* Interrupt specifiers read back whole: line and trigger. */
    struct irq_spec spec;
    assert_int_equal(device_irq_spec(&a.dev, 0, &spec), 0);
    assert_int_equal(spec.line, 4);
    assert_int_equal(spec.trigger, IRQ_EDGE_HIGH);
    assert_int_equal(device_irq_spec(&a.dev, 1, &spec), 0);
    assert_int_equal(spec.line, 33);
    assert_int_equal(spec.trigger, IRQ_LEVEL_HIGH);
    assert_int_equal(device_irq_spec(&a.dev, 2, &spec), -ENOENT);
    assert_int_equal(device_add_resource(&a.dev, RESOURCE_IRQ, 1ull << 32, 1, 0), 0);
    assert_int_equal(device_irq_spec(&a.dev, 2, &spec), -ERANGE);
    for (enum irq_trigger t = IRQ_EDGE_HIGH; t <= IRQ_EDGE_LOW; t++)
        assert_int_equal(RESOURCE_IRQ_TRIGGER(RESOURCE_IRQ_FLAGS(t) | RESOURCE_BAR(5)), t);

    for (int i = 5; i < DEVICE_MAX_RESOURCES; i++)
        assert_int_equal(device_add_resource(&a.dev, RESOURCE_MEM, 0, 1, 0), 0);
    assert_int_equal(device_add_resource(&a.dev, RESOURCE_MEM, 0, 1, 0), -ENOSPC);
}

/* A child initialised with a parent but never registered (its registration failed, or the
 * probe gave up first) takes no reference on the parent, and its last put drops none. */
static void test_unregistered_child_leaves_parent_reference(void **state)
{
    (void)state;
    struct toy_device parent, child;
    toy_device_init(&parent, "ref-parent", 50, NULL);
    assert_int_equal(device_register(&parent.dev), 0);
    int before = parent.dev.refcount;
    toy_device_init(&child, "ref-child", 51, &parent.dev);
    device_put(&child.dev);
    assert_true(child.released);
    assert_int_equal(parent.dev.refcount, before);
    toy_device_init(&child, "ref-parent", 51, &parent.dev); /* a taken name: refused */
    assert_int_equal(device_register(&child.dev), -EEXIST);
    device_put(&child.dev);
    assert_int_equal(parent.dev.refcount, before);
    device_unregister(&parent.dev);
    assert_true(parent.released);
}

/* A probe that finishes later: the finish runs at device_run_probe_finishes(), not for a device
 * unbound before then, and at once after device_boot_complete(). */
static int finishes;
static struct device *finished[4];
static void toy_finish(struct device *dev)
{
    assert_non_null(dev->driver);
    finished[finishes++ % 4] = dev;
}

static int toy_probe_finishing_later(struct device *dev)
{
    device_finish_probe_later(dev, toy_finish);
    return 0;
}

static void test_probe_finished_later(void **state)
{
    (void)state;
    struct toy_driver d;
    toy_driver_init(&d, "toy-later", 40, 41);
    d.drv.probe = toy_probe_finishing_later;
    d.drv.remove = NULL;
    struct toy_device a, b, c;
    toy_device_init(&a, "later-a", 40, NULL);
    toy_device_init(&b, "later-b", 41, NULL);
    assert_int_equal(driver_register(&d.drv), 0);
    assert_int_equal(device_register(&a.dev), 0);
    assert_int_equal(device_register(&b.dev), 0);
    assert_int_equal(a.dev.state, DEVICE_BOUND);
    assert_int_equal(finishes, 0); /* queued, not run */
    assert_int_equal(device_unbind(&b.dev), 0);
    device_run_probe_finishes();
    assert_int_equal(finishes, 1);
    assert_ptr_equal(finished[0], &a.dev);
    device_run_probe_finishes(); /* nothing left: b's was cancelled */
    assert_int_equal(finishes, 1);

    device_boot_complete();
    toy_device_init(&c, "later-c", 40, NULL);
    assert_int_equal(device_register(&c.dev), 0);
    assert_int_equal(finishes, 2); /* at once, inside the probe */
    assert_ptr_equal(finished[1], &c.dev);
    device_unregister(&c.dev);
    device_unregister(&b.dev);
    device_unregister(&a.dev);
    driver_unregister(&d.drv);
    assert_true(a.released && b.released && c.released);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_registration_rules),
        cmocka_unit_test(test_driver_after_device_binds),
        cmocka_unit_test(test_device_after_driver_binds_most_specific),
        cmocka_unit_test(test_probe_failure_falls_back_then_stays_unbound),
        cmocka_unit_test(test_probe_declining_is_not_a_failure),
        cmocka_unit_test(test_unbind_and_bind_by_hand),
        cmocka_unit_test(test_driver_unregister_unbinds),
        cmocka_unit_test(test_duplicates_and_bad_bus),
        cmocka_unit_test(test_other_bus_never_matches),
        cmocka_unit_test(test_reference_keeps_removed_device),
        cmocka_unit_test(test_children_removed_first_and_events),
        cmocka_unit_test(test_for_each_survives_removal),
        cmocka_unit_test(test_for_each_child_may_unregister),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_unregistered_child_leaves_parent_reference),
        cmocka_unit_test(test_probe_finished_later), /* last: it ends the "boot" */
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
