/*
 * common_test.c - the clocks and the one time format of documents and events
 * (common.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "arcade/common.h"

static void
test_time_format(void **state)
{
    (void)state;
    char t[ARC_TIME_LEN + 1];
    arc_time_format(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    arc_time_format(INT64_C(1795555116) * 1000, t);
    assert_string_equal(t, "2026-11-24T21:18:36.000Z");
    arc_time_format(INT64_C(1795555116007), t);
    assert_string_equal(t, "2026-11-24T21:18:36.007Z");
    arc_time_format(-1, t); /* the millisecond before the epoch */
    assert_string_equal(t, "1969-12-31T23:59:59.999Z");
    arc_time_format(INT64_C(253402300799999), t); /* the last of year 9999 */
    assert_string_equal(t, "9999-12-31T23:59:59.999Z");
    assert_int_equal(strlen(t), ARC_TIME_LEN);
}

static void
test_wall_clock(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t ms = arc_wall_ms();
    int64_t after = ((int64_t)time(NULL) + 1) * 1000;
    assert_true(ms >= before && ms < after);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_wall_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
