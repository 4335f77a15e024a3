/*
 * cache_test.c - arc_cache against a real memcached that the test starts on a
 * port memcached picks and reports (arc_test_memcached_start; always killed by
 * PID). Skipped when no memcached
 * binary is installed. Checks the failure behaviour the services rely on:
 * a stopped server makes every call fail fast, a hung (SIGSTOPped) one makes
 * calls fail within about the timeout, and both recover without restarting the
 * process once the server answers again.
 */
#include "arc_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcade/cache.h"
#include "arcade/log.h"

#define TIMEOUT_MS 100
/* Generous bound for one failing call: the timeout plus scheduling noise
 * (sanitizers, a loaded CI machine); libmemcached's defaults would be 4-5 s. */
#define SLOW_MS 600

static struct arc_test_memcached mc;
static bool have_memcached;

static uint64_t
ms_since(uint64_t t0)
{
    return (arc_now_ns() - t0) / 1000000;
}

static int
group_setup(void **state)
{
    have_memcached = arc_test_memcached_start(&mc) == 0;
    return 0;
}

static int
group_teardown(void **state)
{
    arc_test_memcached_stop(&mc);
    return 0;
}

static int
setup(void **state)
{
    if (!have_memcached)
        return 0;
    if (mc.pid <= 0)
        assert_int_equal(arc_test_memcached_start(&mc), 0);
    *state = arc_cache_new(mc.servers, TIMEOUT_MS);
    assert_non_null(*state);
    return 0;
}

static int
teardown(void **state)
{
    arc_cache_free(*state);
    return 0;
}

#define NEED_MEMCACHED() ARC_TEST_NEED(have_memcached, "no memcached installed")

#define K(s) (s), strlen(s)

/* --- tests without a server ---------------------------------------------------- */

static void
test_no_servers_is_always_unavailable(void **state)
{
    arc_buf b = ARC_BUF_INIT;
    const char *cfgs[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        arc_cache *c = arc_cache_new(cfgs[i], 50);
        assert_non_null(c);
        assert_int_equal(arc_cache_get(c, K("k"), &b), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_set(c, K("k"), "v", 1, 0), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_add(c, K("k"), "v", 1, 0), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_delete(c, K("k")), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_ping(c), ARC_UNAVAILABLE);
        arc_cache_free(c);
    }
    arc_cache_free(NULL);
    assert_int_equal(arc_cache_get(NULL, K("k"), &b), ARC_UNAVAILABLE);
    arc_buf_cleanup(&b);
}

static void
test_invalid_keys(void **state)
{
    arc_cache *c = arc_cache_new("127.0.0.1:1", 50);
    arc_buf b = ARC_BUF_INIT;
    char long_key[252];
    memset(long_key, 'k', sizeof(long_key));
    assert_int_equal(arc_cache_get(c, "", 0, &b), ARC_INVALID);
    assert_int_equal(arc_cache_get(c, long_key, 251, &b), ARC_INVALID);
    assert_int_equal(arc_cache_set(c, K("a b"), "v", 1, 0), ARC_INVALID);
    assert_int_equal(arc_cache_add(c, K("a\nb"), "v", 1, 0), ARC_INVALID);
    assert_int_equal(arc_cache_delete(c, "a\0b", 3), ARC_INVALID);
    assert_int_equal(arc_cache_get(c, K("a\x7f"), &b), ARC_INVALID);
    /* 250 bytes is fine (the server is unreachable, so UNAVAILABLE). */
    assert_int_equal(arc_cache_get(c, long_key, 250, &b), ARC_UNAVAILABLE);
    arc_cache_free(c);
    arc_buf_cleanup(&b);
}

/* --- tests with a server ------------------------------------------------------- */

static void
test_basic_operations(void **state)
{
    NEED_MEMCACHED();
    arc_cache *c = *state;
    arc_buf b = ARC_BUF_INIT;
    assert_int_equal(arc_cache_ping(c), ARC_OK);
    assert_int_equal(arc_cache_delete(c, K("basic")), ARC_OK); /* absent: still OK */
    assert_int_equal(arc_cache_get(c, K("basic"), &b), ARC_NOT_FOUND);
    const char val[] = "bin\0ary\r\nEND\r\n";
    assert_int_equal(arc_cache_set(c, K("basic"), val, sizeof(val), 60), ARC_OK);
    arc_buf_append(&b, "old content", 11);
    assert_int_equal(arc_cache_get(c, K("basic"), &b), ARC_OK);
    assert_int_equal(b.len, sizeof(val));
    assert_memory_equal(b.ptr, val, sizeof(val));
    assert_int_equal(arc_cache_add(c, K("basic"), "x", 1, 60), ARC_CONFLICT);
    assert_int_equal(arc_cache_delete(c, K("basic")), ARC_OK);
    assert_int_equal(arc_cache_add(c, K("basic"), "x", 1, 60), ARC_OK);
    assert_int_equal(arc_cache_get(c, K("basic"), &b), ARC_OK);
    assert_int_equal(b.len, 1);
    /* Empty values. */
    assert_int_equal(arc_cache_set(c, K("empty"), "", 0, 0), ARC_OK);
    assert_int_equal(arc_cache_get(c, K("empty"), &b), ARC_OK);
    assert_int_equal(b.len, 0);
    /* A value larger than the item size limit (1 MiB) is never cached. */
    size_t big_len = 2 * 1024 * 1024;
    char *big = calloc(1, big_len);
    enum arc_err e = arc_cache_set(c, K("big"), big, big_len, 0);
    assert_true(e == ARC_INVALID || e == ARC_UNAVAILABLE);
    free(big);
    /* The connection is still good after that. */
    assert_int_equal(arc_cache_set(c, K("after-big"), "1", 1, 0), ARC_OK);
    assert_int_equal(arc_cache_get(c, K("after-big"), &b), ARC_OK);
    arc_buf_cleanup(&b);
}

/* Calls until one succeeds; returns how long that took (ms), or fails. Each
 * failing call must be fast. */
static uint64_t
wait_recovery(arc_cache *c, uint64_t limit_ms)
{
    uint64_t t0 = arc_now_ns();
    for (;;) {
        uint64_t t1 = arc_now_ns();
        enum arc_err e = arc_cache_set(c, K("recovery"), "r", 1, 0);
        assert_true(ms_since(t1) < SLOW_MS);
        if (e == ARC_OK)
            return ms_since(t0);
        assert_int_equal(e, ARC_UNAVAILABLE);
        if (ms_since(t0) > limit_ms)
            fail_msg("no recovery within %llu ms", (unsigned long long)limit_ms);
        usleep(20 * 1000);
    }
}

static void
test_stopped_server_fails_fast_and_recovers(void **state)
{
    NEED_MEMCACHED();
    arc_cache *c = *state;
    arc_buf b = ARC_BUF_INIT;
    assert_int_equal(arc_cache_set(c, K("k1"), "v1", 2, 0), ARC_OK);
    arc_test_memcached_stop(&mc);

    /* For a second and a half, every call fails fast with UNAVAILABLE. */
    uint64_t t0 = arc_now_ns(), worst = 0;
    unsigned calls = 0;
    while (ms_since(t0) < 1500) {
        uint64_t t1 = arc_now_ns();
        assert_int_equal(arc_cache_get(c, K("k1"), &b), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_set(c, K("k1"), "v", 1, 0), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_add(c, K("k2"), "v", 1, 0), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_delete(c, K("k1")), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_ping(c), ARC_UNAVAILABLE);
        uint64_t d = ms_since(t1);
        worst = d > worst ? d : worst;
        calls += 5;
        usleep(10 * 1000);
    }
    assert_true(worst < SLOW_MS);
    print_message("stopped: %u calls, slowest round of 5 calls %llu ms\n", calls,
                  (unsigned long long)worst);

    assert_int_equal(arc_test_memcached_start(&mc), 0); /* on the same port */
    uint64_t rec = wait_recovery(c, 3000);
    print_message("stopped: recovered %llu ms after the restart\n", (unsigned long long)rec);
    assert_int_equal(arc_cache_get(c, K("recovery"), &b), ARC_OK);
    assert_int_equal(arc_cache_ping(c), ARC_OK);
    arc_buf_cleanup(&b);
}

static void
test_hung_server_times_out_and_recovers(void **state)
{
    NEED_MEMCACHED();
    arc_cache *c = *state;
    arc_buf b = ARC_BUF_INIT;
    assert_int_equal(arc_cache_set(c, K("h1"), "value-of-h1", 11, 0), ARC_OK);
    assert_int_equal(arc_cache_set(c, K("h2"), "value-of-h2", 11, 0), ARC_OK);
    assert_int_equal(kill(mc.pid, SIGSTOP), 0);
    usleep(50 * 1000);

    /* Calls fail within about the timeout; after the first timeout the server
     * is skipped for a while, so most calls do not even wait. */
    uint64_t t0 = arc_now_ns(), worst = 0;
    unsigned calls = 0;
    while (ms_since(t0) < 1500) {
        uint64_t t1 = arc_now_ns();
        assert_int_equal(arc_cache_get(c, K("h1"), &b), ARC_UNAVAILABLE);
        uint64_t d = ms_since(t1);
        worst = d > worst ? d : worst;
        t1 = arc_now_ns();
        assert_int_equal(arc_cache_set(c, K("h2"), "new", 3, 0), ARC_UNAVAILABLE);
        d = ms_since(t1);
        worst = d > worst ? d : worst;
        calls += 2;
        usleep(10 * 1000);
    }
    assert_true(worst < SLOW_MS);
    print_message("hung: %u calls, slowest %llu ms (timeout %u ms)\n", calls,
                  (unsigned long long)worst, TIMEOUT_MS);
    uint64_t t1 = arc_now_ns();
    assert_int_equal(arc_cache_ping(c), ARC_UNAVAILABLE);
    assert_true(ms_since(t1) < SLOW_MS);

    assert_int_equal(kill(mc.pid, SIGCONT), 0);
    uint64_t rec = wait_recovery(c, 3000);
    print_message("hung: recovered %llu ms after SIGCONT\n", (unsigned long long)rec);

    /* Answers that arrived late never pass for the answers to later calls. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(arc_cache_get(c, K("h1"), &b), ARC_OK);
        assert_int_equal(b.len, 11);
        assert_memory_equal(b.ptr, "value-of-h1", 11);
        assert_int_equal(arc_cache_get(c, K("recovery"), &b), ARC_OK);
        assert_int_equal(b.len, 1);
    }
    assert_int_equal(arc_cache_ping(c), ARC_OK);
    arc_buf_cleanup(&b);
}

/* A pool with one dead server: keys on the live one keep working, keys of the
 * dead one are misses (never moved to the live server). */
static void
test_pool_with_a_dead_server(void **state)
{
    NEED_MEMCACHED();
    char pool[128];
    unsigned short dead;
    close(arc_test_listen_loopback(&dead)); /* nothing listens there now */
    snprintf(pool, sizeof(pool), "%s,127.0.0.1:%u", mc.servers, dead);
    arc_cache *c = arc_cache_new(pool, TIMEOUT_MS);
    unsigned ok = 0, unavailable = 0;
    char key[32];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 40; i++) {
            snprintf(key, sizeof(key), "pool-%d", i);
            uint64_t t1 = arc_now_ns();
            enum arc_err e = arc_cache_set(c, K(key), "v", 1, 0);
            assert_true(ms_since(t1) < SLOW_MS);
            if (e == ARC_OK)
                ok++;
            else if (e == ARC_UNAVAILABLE)
                unavailable++;
            else
                fail_msg("unexpected %s", arc_err_name(e));
        }
    }
    print_message("pool: %u stored, %u unavailable\n", ok, unavailable);
    assert_true(ok > 0);
    assert_true(unavailable > 0);
    assert_int_equal(arc_cache_ping(c), ARC_UNAVAILABLE); /* not every server answers */
    arc_cache_free(c);
}

/* A malformed list gives a cache that is always unavailable (and an error
 * log line), never a default server such as localhost:11211. */
static void
test_bad_server_list(void **state)
{
    const char *bad[] = {",,,",         "127.0.0.1",       "127.0.0.1:",       ":11211",
                         "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:11211,", "a b:1",
                         "127.0.0.1:1x"};
    arc_buf b = ARC_BUF_INIT;
    for (size_t i = 0; i < ARC_ARRAY_LEN(bad); i++) {
        arc_cache *c = arc_cache_new(bad[i], 50);
        assert_non_null(c);
        uint64_t t0 = arc_now_ns();
        assert_int_equal(arc_cache_get(c, K("k"), &b), ARC_UNAVAILABLE);
        assert_int_equal(arc_cache_ping(c), ARC_UNAVAILABLE);
        assert_true(ms_since(t0) < 5);
        arc_cache_free(c);
    }
    arc_buf_cleanup(&b);
}

int
main(int argc, char **argv)
{
    (void)argc;
    arc_test_init(argv[0], 50);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_servers_is_always_unavailable),
        cmocka_unit_test(test_invalid_keys),
        cmocka_unit_test(test_bad_server_list),
        cmocka_unit_test_setup_teardown(test_basic_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_server_fails_fast_and_recovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hung_server_times_out_and_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_with_a_dead_server, setup, teardown),
    };
    return arc_test_exit(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
