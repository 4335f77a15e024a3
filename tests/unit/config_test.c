/*
 * config_test.c - environment parsing: defaults, overrides, malformed values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arcade/config.h"

static const char *const vars[] = {
    "ARCADE_DB_HOST",
    "ARCADE_DB_PORT",
    "ARCADE_DB_SOCKET",
    "ARCADE_DB_USER",
    "ARCADE_DB_PASSWORD",
    "ARCADE_DB_NAME",
    "ARCADE_DB_CONNECT_TIMEOUT",
    "ARCADE_DB_RW_TIMEOUT",
    "ARCADE_MEMCACHED_SERVERS",
    "ARCADE_CACHE_TIMEOUT_MS",
    "ARCADE_ADMIN_KEY",
    "ARCADE_LOG_FILE",
    "ARCADE_LOG_LEVEL",
    "ARCADE_RUN_DIR",
    "ARCADE_LOCAL_CACHE",
    "ARCADE_AMQP_URL",
};

static int
clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

static void
test_defaults(void **state)
{
    (void)state;
    struct arc_config c;
    assert_int_equal(arc_config_load(&c, "catalog"), 0);
    assert_string_equal(c.service, "catalog");
    assert_string_equal(c.db.host, "127.0.0.1");
    assert_int_equal(c.db.port, 3306);
    assert_null(c.db.socket);
    assert_string_equal(c.db.user, "arcade_catalog");
    assert_string_equal(c.db.password, "");
    assert_string_equal(c.db.name, "arcade_catalog");
    assert_int_equal(c.db.connect_timeout_s, 2);
    assert_int_equal(c.db.rw_timeout_s, 10);
    assert_string_equal(c.memcached, "127.0.0.1:11211");
    assert_int_equal(c.cache_timeout_ms, 50);
    assert_string_equal(c.admin_key, "");
    assert_string_equal(c.amqp_url, "");
    assert_string_equal(c.log_file, "");
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.run_dir, "/tmp");
    assert_true(c.local_cache);
}

static void
test_overrides(void **state)
{
    (void)state;
    setenv("ARCADE_DB_HOST", "db.internal", 1);
    setenv("ARCADE_DB_PORT", "13306", 1);
    setenv("ARCADE_DB_SOCKET", "/run/db.sock", 1);
    setenv("ARCADE_DB_USER", "u", 1);
    setenv("ARCADE_DB_PASSWORD", "p w", 1);
    setenv("ARCADE_DB_NAME", "n", 1);
    setenv("ARCADE_DB_CONNECT_TIMEOUT", "5", 1);
    setenv("ARCADE_DB_RW_TIMEOUT", "30", 1);
    setenv("ARCADE_MEMCACHED_SERVERS", "", 1);
    setenv("ARCADE_CACHE_TIMEOUT_MS", "20", 1);
    setenv("ARCADE_ADMIN_KEY", "k3y", 1);
    setenv("ARCADE_LOG_FILE", "/tmp/x.log", 1);
    setenv("ARCADE_LOG_LEVEL", "debug", 1);
    setenv("ARCADE_RUN_DIR", "/run/arcade", 1);
    setenv("ARCADE_LOCAL_CACHE", "0", 1);
    setenv("ARCADE_AMQP_URL", "amqp://u:p@mq:5672/%2f", 1);
    struct arc_config c;
    assert_int_equal(arc_config_load(&c, "orders"), 0);
    assert_string_equal(c.db.host, "db.internal");
    assert_int_equal(c.db.port, 13306);
    assert_string_equal(c.db.socket, "/run/db.sock");
    assert_string_equal(c.db.user, "u");
    assert_string_equal(c.db.password, "p w");
    assert_string_equal(c.db.name, "n");
    assert_int_equal(c.db.connect_timeout_s, 5);
    assert_int_equal(c.db.rw_timeout_s, 30);
    assert_string_equal(c.memcached, "");
    assert_int_equal(c.cache_timeout_ms, 20);
    assert_string_equal(c.admin_key, "k3y");
    assert_string_equal(c.log_file, "/tmp/x.log");
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.run_dir, "/run/arcade");
    assert_false(c.local_cache);
    assert_string_equal(c.amqp_url, "amqp://u:p@mq:5672/%2f");
}

static void
test_malformed(void **state)
{
    (void)state;
    struct arc_config c;
    static const char *const bad[][2] = {
        {"ARCADE_DB_PORT", "abc"},
        {"ARCADE_DB_PORT", "0"},
        {"ARCADE_DB_PORT", "65536"},
        {"ARCADE_DB_PORT", "-1"},
        {"ARCADE_DB_PORT", " 3306"},
        {"ARCADE_DB_PORT", ""},
        {"ARCADE_DB_PORT", "99999999999999999999"},
        {"ARCADE_CACHE_TIMEOUT_MS", "0"},
        {"ARCADE_LOG_LEVEL", "verbose"},
        {"ARCADE_LOCAL_CACHE", "yes"},
        {"ARCADE_DB_RW_TIMEOUT", "1.5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env(NULL);
        setenv(bad[i][0], bad[i][1], 1);
        if (arc_config_load(&c, "catalog") != -1)
            fail_msg("accepted %s=%s", bad[i][0], bad[i][1]);
    }
    clear_env(NULL);
    assert_int_equal(arc_config_load(&c, "Bad Name"), -1);
    assert_int_equal(arc_config_load(&c, ""), -1);
}

static void
test_env_helpers(void **state)
{
    (void)state;
    unsigned v = 0;
    unsetenv("ARCADE_TEST_X");
    assert_string_equal(arc_env_str("ARCADE_TEST_X", "def"), "def");
    assert_int_equal(arc_env_uint("ARCADE_TEST_X", 7, 1, 10, &v), 0);
    assert_int_equal(v, 7);
    setenv("ARCADE_TEST_X", "", 1);
    assert_string_equal(arc_env_str("ARCADE_TEST_X", "def"), ""); /* empty counts as set */
    assert_int_equal(arc_env_uint("ARCADE_TEST_X", 7, 1, 10, &v), -1);
    setenv("ARCADE_TEST_X", "10", 1);
    assert_int_equal(arc_env_uint("ARCADE_TEST_X", 7, 1, 10, &v), 0);
    assert_int_equal(v, 10);
    setenv("ARCADE_TEST_X", "11", 1);
    assert_int_equal(arc_env_uint("ARCADE_TEST_X", 7, 1, 10, &v), -1);
    setenv("ARCADE_TEST_X", "4294967295", 1);
    assert_int_equal(arc_env_uint("ARCADE_TEST_X", 7, 0, 4294967295u, &v), 0);
    assert_int_equal(v, 4294967295u);
    setenv("ARCADE_TEST_X", "4294967296", 1);
    assert_int_equal(arc_env_uint("ARCADE_TEST_X", 7, 0, 4294967295u, &v), -1);
    unsetenv("ARCADE_TEST_X");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_overrides, clear_env),
        cmocka_unit_test_setup(test_malformed, clear_env),
        cmocka_unit_test(test_env_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
