/*
 * trace_test.c - traceparent parsing, span creation and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arcade/trace.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static bool
lower_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    return true;
}

static void
test_parse_valid(void **state)
{
    (void)state;
    struct arc_trace t;
    assert_int_equal(arc_trace_parse(GOOD, &t), 0);
    assert_string_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t.parent_id, "00f067aa0ba902b7");
    assert_int_equal(t.flags, 1);
    assert_int_equal(arc_trace_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t),
                     0);
    assert_int_equal(t.flags, 0);
    assert_int_equal(arc_trace_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", &t),
                     0);
    assert_int_equal(t.flags, 0xff);
}

static void
test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace-id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero parent-id */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* upper case */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* too long */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",   /* too short */
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    };
    struct arc_trace t;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (arc_trace_parse(bad[i], &t) != -1)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(arc_trace_parse(NULL, &t), -1);
}

static void
test_start_and_format(void **state)
{
    (void)state;
    struct arc_trace t;
    char out[ARC_TRACEPARENT_LEN + 1];

    arc_trace_start(&t, GOOD);
    assert_string_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t.parent_id, "00f067aa0ba902b7");
    assert_true(lower_hex(t.span_id, 16));
    assert_string_not_equal(t.span_id, "00f067aa0ba902b7");
    arc_trace_format(&t, out);
    assert_int_equal(strlen(out), ARC_TRACEPARENT_LEN);
    assert_memory_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
    assert_memory_equal(out + 36, t.span_id, 16);
    assert_string_equal(out + 52, "-01");
    struct arc_trace back;
    assert_int_equal(arc_trace_parse(out, &back), 0); /* what we send is valid */

    for (int i = 0; i < 3; i++) {
        const char *h = i == 0 ? NULL : i == 1 ? "garbage" : "";
        arc_trace_start(&t, h);
        assert_true(lower_hex(t.trace_id, 32));
        assert_true(lower_hex(t.span_id, 16));
        assert_string_equal(t.parent_id, "");
        assert_int_equal(t.flags, 1);
        arc_trace_format(&t, out);
        assert_int_equal(arc_trace_parse(out, &back), 0);
    }

    /* ids are fresh every time */
    struct arc_trace a, b;
    arc_trace_start(&a, NULL);
    arc_trace_start(&b, NULL);
    assert_string_not_equal(a.trace_id, b.trace_id);
    assert_string_not_equal(a.span_id, b.span_id);
    arc_trace_start(&a, GOOD);
    arc_trace_start(&b, GOOD);
    assert_string_not_equal(a.span_id, b.span_id);
    assert_string_equal(a.trace_id, b.trace_id);
}

/* A forked child never repeats the ids its parent draws next. */
static void
test_fork_does_not_repeat(void **state)
{
    (void)state;
    struct arc_trace t;
    arc_trace_start(&t, NULL); /* fills the random pool */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        arc_trace_start(&t, NULL);
        ssize_t w = write(fds[1], t.span_id, 16);
        _exit(w == 16 ? 0 : 1);
    }
    arc_trace_start(&t, NULL);
    char child[17] = {0};
    assert_int_equal(read(fds[0], child, 16), 16);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_string_not_equal(child, t.span_id);
    close(fds[0]);
    close(fds[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_start_and_format),
        cmocka_unit_test(test_fork_does_not_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
