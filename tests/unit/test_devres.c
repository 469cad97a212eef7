/* The managed driver shape: private data allocated before probe and freed after remove, and
 * device-managed resources released newest first when probe fails at any step or the device
 * is unbound, exactly what was taken and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/device.h>
#include <rayos/devres.h>
#include <rayos/errno.h>
#include <rayos/string.h>

#include <stdio.h>

#include "devres_fakes.h"

#define STEPS 7

struct stepper_priv {
    int marker;
    void *heap;
    void *dma;
    void *regs;
};

static int fail_at = STEPS; /* the step probe fails before taking; STEPS: probe succeeds */
static int removes;
static int priv_seen_zeroed;

static void note_action(void *data)
{
    char text[16];
    snprintf(text, sizeof(text), "a%d-", (int)(intptr_t)data);
    devres_fake_note(text);
}

/* Takes one resource per step: heap, DMA, mapping, action, heap array, action, DMA. */
static int take_step(struct device *dev, struct stepper_priv *priv, int step)
{
    phys_addr_t phys;
    char text[16];
    switch (step) {
    case 0:
        priv->heap = devm_kzalloc(dev, 64);
        devres_fake_note("heap+");
        return priv->heap ? 0 : -ENOMEM;
    case 1:
        priv->dma = devm_dma_alloc(dev, 4096, 4096, &phys);
        return priv->dma ? 0 : -ENOMEM;
    case 2:
        priv->regs = devm_map_phys(dev, 0xfebd0000, 0x1000, MAP_UNCACHED);
        return priv->regs ? 0 : -ENOMEM;
    case 4:
        devres_fake_note("heap+");
        return devm_kcalloc(dev, 8, 16) ? 0 : -ENOMEM;
    case 6:
        return devm_dma_alloc(dev, 512, 64, &phys) ? 0 : -ENOMEM;
    default:
        snprintf(text, sizeof(text), "a%d+", step);
        devres_fake_note(text);
        return devm_add_action(dev, note_action, (void *)(intptr_t)step, "test action");
    }
}

static int stepper_probe(struct device *dev)
{
    struct stepper_priv *priv = dev->driver_data;
    assert_non_null(priv);
    priv_seen_zeroed += priv->marker == 0 && !priv->heap;
    priv->marker = 1;
    for (int step = 0; step < STEPS; step++) {
        if (step == fail_at)
            return -EIO;
        int status = take_step(dev, priv, step);
        if (status)
            return status;
    }
    return 0;
}

static void stepper_remove(struct device *dev)
{
    struct stepper_priv *priv = dev->driver_data;
    assert_int_equal(priv->marker, 1);
    assert_int_equal(devres_count(dev), STEPS); /* nothing released before remove */
    removes++;
    devres_fake_note("remove");
}

static int match_all(struct device *dev, struct driver *drv)
{
    return 1;
}

static struct bus_type toy_bus = {.name = "toy", .match = match_all};
static struct driver stepper = {.name = "stepper",
                                .bus = &toy_bus,
                                .priv_size = sizeof(struct stepper_priv),
                                .probe = stepper_probe,
                                .remove = stepper_remove};
static struct device toy;

/* What the log must read for a probe that took steps [0, taken), then released them. */
static void expected_log(char *out, size_t size, int taken, bool removed)
{
    static const char *take[STEPS] = {"heap+", "dma+", "map+", "a3+", "heap+", "a5+", "dma+"};
    static const char *release[STEPS] = {"", "dma-", "map-", "a3-", "", "a5-", "dma-"};
    out[0] = 0;
    for (int i = 0; i < taken; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s ", take[i]);
    if (removed)
        snprintf(out + strlen(out), size - strlen(out), "remove ");
    for (int i = taken - 1; i >= 0; i--)
        if (release[i][0])
            snprintf(out + strlen(out), size - strlen(out), "%s ", release[i]);
}

static int setup(void **state)
{
    static bool once;
    if (!once) {
        assert_int_equal(bus_register(&toy_bus), 0);
        assert_int_equal(driver_register(&stepper), 0);
        once = true;
    }
    devres_fake_log[0] = 0;
    removes = 0;
    priv_seen_zeroed = 0;
    fail_at = STEPS;
    return 0;
}

static void register_toy(void)
{
    memset(&toy, 0, sizeof(toy));
    device_initialize(&toy, &toy_bus, NULL, "toy0");
    assert_int_equal(device_register(&toy), 0);
}

static void test_probe_failing_at_each_step_releases_what_it_took(void **state)
{
    for (int step = 0; step < STEPS; step++) {
        setup(state);
        fail_at = step;
        register_toy();
        char expected[512];
        expected_log(expected, sizeof(expected), step, false);
        assert_string_equal(devres_fake_log, expected);
        assert_int_equal(toy.state, DEVICE_PROBE_FAILED);
        assert_int_equal(toy.probe_error, -EIO);
        assert_int_equal(devres_count(&toy), 0);
        assert_int_equal(devres_fake_live, 0);
        assert_null(toy.driver_data);
        assert_null(toy.priv);
        assert_int_equal(priv_seen_zeroed, 1);
        device_unregister(&toy);
        assert_int_equal(removes, 0);
    }
}

static void test_unbind_releases_newest_first_after_remove(void **state)
{
    register_toy();
    assert_int_equal(toy.state, DEVICE_BOUND);
    assert_int_equal(devres_count(&toy), STEPS);
    assert_int_equal(devres_fake_live, 3);
    devres_fake_log[0] = 0;
    assert_int_equal(device_unbind(&toy), 0);
    char expected[512];
    expected_log(expected, sizeof(expected), STEPS, true);
    /* Only the release half: the takes happened before the log was cleared. */
    assert_string_equal(devres_fake_log, strstr(expected, "remove"));
    assert_int_equal(removes, 1);
    assert_int_equal(devres_count(&toy), 0);
    assert_int_equal(devres_fake_live, 0);
    assert_null(toy.driver_data);
    device_unregister(&toy);
}

static void test_fifty_bind_unbind_cycles_leave_nothing(void **state)
{
    register_toy();
    for (int i = 0; i < 50; i++) {
        assert_int_equal(device_unbind(&toy), 0);
        assert_int_equal(devres_count(&toy), 0);
        assert_int_equal(devres_fake_live, 0);
        assert_int_equal(device_bind(&toy, &stepper), 0);
        assert_int_equal(devres_count(&toy), STEPS);
    }
    assert_int_equal(priv_seen_zeroed, 51); /* every bind got fresh, zeroed private data */
    device_unregister(&toy);                /* unregistering a bound device releases too */
    assert_int_equal(removes, 51);
    assert_int_equal(devres_fake_live, 0);
}

static void test_early_release(void **state)
{
    register_toy();
    devres_fake_log[0] = 0;
    phys_addr_t phys;
    void *buffer = devm_dma_alloc(&toy, 128, 64, &phys);
    void *block = devm_kzalloc(&toy, 32);
    assert_int_equal(devm_add_action(&toy, note_action, (void *)(intptr_t)9, "nine"), 0);
    assert_int_equal(devres_count(&toy), STEPS + 3);
    devm_dma_free(&toy, buffer);
    devm_kfree(&toy, block);
    assert_int_equal(devm_release_action(&toy, note_action, (void *)(intptr_t)9), 0);
    assert_int_equal(devm_release_action(&toy, note_action, (void *)(intptr_t)9), -ENOENT);
    assert_string_equal(devres_fake_log, "dma+ dma- a9- ");
    assert_int_equal(devres_count(&toy), STEPS);
    device_unregister(&toy);
    assert_int_equal(devres_fake_live, 0);
}

static int no_priv_probe(struct device *dev)
{
    assert_null(dev->driver_data);
    return devm_kzalloc(dev, 16) ? -EIO : -ENOMEM;
}

static void test_driver_without_priv_size(void **state)
{
    static struct bus_type other = {.name = "other", .match = match_all};
    static struct driver plain = {.name = "plain", .bus = &other, .probe = no_priv_probe};
    assert_int_equal(bus_register(&other), 0);
    assert_int_equal(driver_register(&plain), 0);
    struct device dev;
    memset(&dev, 0, sizeof(dev));
    device_initialize(&dev, &other, NULL, "plain0");
    assert_int_equal(device_register(&dev), 0);
    assert_int_equal(dev.state, DEVICE_PROBE_FAILED);
    assert_int_equal(devres_count(&dev), 0);
    device_unregister(&dev);
    driver_unregister(&plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_probe_failing_at_each_step_releases_what_it_took, setup),
        cmocka_unit_test_setup(test_unbind_releases_newest_first_after_remove, setup),
        cmocka_unit_test_setup(test_fifty_bind_unbind_cycles_leave_nothing, setup),
        cmocka_unit_test_setup(test_early_release, setup),
        cmocka_unit_test_setup(test_driver_without_priv_size, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
