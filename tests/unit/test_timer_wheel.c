/* The hierarchical timing wheel against a plain model: every timer fires exactly on the first
 * advance that reaches its expiry (never early, never late), whatever the distance, and
 * removal takes it out for good. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include <rayos/timer_wheel.h>

#define COUNT 2000

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void noop(struct timer *t)
{
    (void)t;
}

/* Advances in steps and checks each due list against the model. */
static void check_run(uint64_t start, uint64_t max_distance, uint64_t max_step)
{
    struct timer_wheel w;
    timer_wheel_init(&w, start);
    static struct timer timers[COUNT];
    static bool fired[COUNT], removed[COUNT];
    for (unsigned i = 0; i < COUNT; i++) {
        timers[i] = (struct timer){.fn = noop, .data = &timers[i]};
        fired[i] = removed[i] = false;
        timer_wheel_add(&w, &timers[i], start + next_random() % max_distance);
    }
    /* Re-add a few (restart) and remove a few. */
    for (unsigned i = 0; i < COUNT; i += 7)
        timer_wheel_add(&w, &timers[i], start + next_random() % max_distance);
    for (unsigned i = 3; i < COUNT; i += 11) {
        timer_wheel_remove(&w, &timers[i]);
        removed[i] = true;
    }
    uint64_t now = start;
    unsigned fired_count = 0, expected = 0;
    for (unsigned i = 0; i < COUNT; i++)
        expected += !removed[i];
    bool first = true; /* nothing was advanced to yet: even expiry == start is not late */
    while (fired_count < expected) {
        uint64_t previous = now;
        now += 1 + next_random() % max_step;
        struct timer *due = NULL;
        timer_wheel_advance(&w, now, &due);
        for (struct timer *t = due; t; t = t->next) {
            unsigned i = (unsigned)(t - timers);
            assert_false(removed[i]);
            assert_false(fired[i]);
            assert_true(t->expires <= now);              /* never early */
            assert_true(first || t->expires > previous); /* never late: not due last time */
            assert_false(t->pending);
            fired[i] = true;
            fired_count++;
        }
        assert_true(now - start < max_distance + 100 * max_step);
        first = false;
    }
    for (unsigned i = 0; i < COUNT; i++) {
        if (!removed[i])
            continue;
        assert_false(fired[i]);
    }
    assert_int_equal(w.pending, 0);
    assert_int_equal(timer_wheel_next(&w), UINT64_MAX);
}

static void test_near_timers_tick_by_tick(void **state)
{
    check_run(0, 64, 1);
}

static void test_cascading_levels(void **state)
{
    check_run(12345, 64 * 64 * 64, 37);
}

static void test_beyond_the_wheel(void **state)
{
    /* Past 64^4 ticks: parked and placed again until due. */
    check_run(99, 1ULL << 26, 1 << 14);
}

static void test_past_expiry_fires_next(void **state)
{
    struct timer_wheel w;
    timer_wheel_init(&w, 1000);
    struct timer t = {.fn = noop};
    timer_wheel_add(&w, &t, 10); /* already past */
    struct timer *due = NULL;
    timer_wheel_advance(&w, 1000, &due);
    assert_ptr_equal(due, &t);
}

static void test_remove_head_and_middle(void **state)
{
    struct timer_wheel w;
    timer_wheel_init(&w, 0);
    struct timer a = {.fn = noop}, b = {.fn = noop}, c = {.fn = noop};
    timer_wheel_add(&w, &a, 5);
    timer_wheel_add(&w, &b, 5);
    timer_wheel_add(&w, &c, 5);
    timer_wheel_remove(&w, &c); /* the slot's head */
    timer_wheel_remove(&w, &b); /* now the head again */
    timer_wheel_remove(&w, &b); /* twice is harmless */
    struct timer *due = NULL;
    timer_wheel_advance(&w, 5, &due);
    assert_ptr_equal(due, &a);
    assert_null(a.next);
    assert_int_equal(w.pending, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_near_timers_tick_by_tick),
        cmocka_unit_test(test_cascading_levels),
        cmocka_unit_test(test_beyond_the_wheel),
        cmocka_unit_test(test_past_expiry_fires_next),
        cmocka_unit_test(test_remove_head_and_middle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
