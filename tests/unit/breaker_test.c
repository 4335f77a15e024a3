/*
 * breaker_test.c - the circuit breaker's rules with a clock of the test's
 * own: it opens after the threshold of consecutive failures, fails fast for
 * the cool-down, lets one trial through after it, and a success closes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arcade/breaker.h"

#define MS UINT64_C(1000000)

static void
opens_after_threshold_consecutive_failures(void **state)
{
    (void)state;
    struct arc_breaker b;
    arc_breaker_init(&b, 3, 2000);
    uint64_t t = 1000 * MS;
    assert_true(arc_breaker_allow(&b, t));
    arc_breaker_failure(&b, t);
    arc_breaker_failure(&b, t);
    assert_true(arc_breaker_allow(&b, t));
    arc_breaker_success(&b); /* not consecutive: starts over */
    arc_breaker_failure(&b, t);
    arc_breaker_failure(&b, t);
    assert_true(arc_breaker_allow(&b, t));
    arc_breaker_failure(&b, t);
    assert_false(arc_breaker_allow(&b, t));
    assert_false(arc_breaker_allow(&b, t + 1999 * MS));
    assert_int_equal(arc_breaker_retry_after_s(&b, t), 2);
    assert_int_equal(arc_breaker_retry_after_s(&b, t + 1500 * MS), 1);
}

static void
half_open_trial_closes_or_reopens(void **state)
{
    (void)state;
    struct arc_breaker b;
    arc_breaker_init(&b, 1, 500);
    uint64_t t = 5000 * MS;
    arc_breaker_failure(&b, t);
    assert_false(arc_breaker_allow(&b, t + 499 * MS));
    /* cool-down over: one trial; it fails, open again from then */
    t += 500 * MS;
    assert_true(arc_breaker_allow(&b, t));
    arc_breaker_failure(&b, t);
    assert_false(arc_breaker_allow(&b, t + 1 * MS));
    t += 500 * MS;
    assert_true(arc_breaker_allow(&b, t));
    arc_breaker_success(&b);
    assert_true(arc_breaker_allow(&b, t));
    assert_int_equal(arc_breaker_retry_after_s(&b, t), 1);
    /* closed again: the next failure opens it (threshold 1) */
    arc_breaker_failure(&b, t);
    assert_false(arc_breaker_allow(&b, t));
}

static void
zero_threshold_counts_as_one(void **state)
{
    (void)state;
    struct arc_breaker b;
    arc_breaker_init(&b, 0, 1000);
    arc_breaker_failure(&b, 0);
    assert_false(arc_breaker_allow(&b, 1));
    assert_true(arc_breaker_allow(&b, 1000 * MS));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opens_after_threshold_consecutive_failures),
        cmocka_unit_test(half_open_trial_closes_or_reopens),
        cmocka_unit_test(zero_threshold_counts_as_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
