/*
 * gen_test.c - the shared generation table: counters seen through two
 * mappings, the epoch, and refusal of a file made for another size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "arcade/gen.h"

static char path[64];

static int
setup(void **state)
{
    snprintf(path, sizeof path, "/tmp/arcade-gen-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path); /* arc_gen_open creates it */
    return 0;
}

static int
teardown(void **state)
{
    unlink(path);
    return 0;
}

static void
bumps_are_seen_through_another_mapping(void **state)
{
    arc_gen *a = arc_gen_open(path, 8);
    arc_gen *b = arc_gen_open(path, 8);
    assert_non_null(a);
    assert_non_null(b);
    uint64_t before = arc_gen_get(b, 42);
    uint64_t other = arc_gen_get(b, 43);
    arc_gen_bump(a, 42);
    assert_int_not_equal(arc_gen_get(b, 42), before);
    assert_int_equal(arc_gen_get(b, 43), other); /* a different slot is untouched */

    /* 2^8 slots: 42 and 42 + 256 share one; a collision only costs a spurious miss. */
    uint64_t shared = arc_gen_get(b, 42 + 256);
    arc_gen_bump(a, 42);
    assert_int_equal(arc_gen_get(b, 42 + 256), shared + 1);
    assert_int_not_equal(arc_gen_epoch(a), 0);
    assert_int_equal(arc_gen_epoch(a), arc_gen_epoch(b));
    arc_gen_close(a);
    arc_gen_close(b);
}

static void
bumps_cross_processes(void **state)
{
    arc_gen *g = arc_gen_open(path, 8);
    assert_non_null(g);
    uint64_t before = arc_gen_get(g, 7);
    pid_t pid = fork();
    if (pid == 0) {
        arc_gen *child = arc_gen_open(path, 8);
        for (int i = 0; i < 1000; i++)
            arc_gen_bump(child, 7);
        _exit(child ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(arc_gen_get(g, 7), before + 1000);
    arc_gen_close(g);
}

static void
epoch_survives_reopen_and_size_is_checked(void **state)
{
    arc_gen *a = arc_gen_open(path, 8);
    assert_non_null(a);
    uint64_t epoch = arc_gen_epoch(a);
    arc_gen_close(a);
    a = arc_gen_open(path, 8);
    assert_non_null(a);
    assert_int_equal(arc_gen_epoch(a), epoch);
    arc_gen_close(a);
    assert_null(arc_gen_open(path, 9)); /* made for another slot count */
    assert_null(arc_gen_open(path, 2)); /* out of range */
}

static void
close_null_is_a_no_op(void **state)
{
    arc_gen_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bumps_are_seen_through_another_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(bumps_cross_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(epoch_survives_reopen_and_size_is_checked, setup, teardown),
        cmocka_unit_test(close_null_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
