/*
 * log_test.c - JSON lines: fields, escaping, levels, trace id, file mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcade/config.h"
#include "arcade/log.h"

static char path[64];

static int
read_lines(char lines[][8192], int max)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int n = 0;
    while (n < max && fgets(lines[n], 8192, fp) != NULL)
        n++;
    fclose(fp);
    return n;
}

static void
test_lines(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/arcade-log-test-%d.log", (int)getpid());
    unlink(path);
    mode_t old = umask(0);
    assert_int_equal(arc_log_open("cat\"alog", path), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    arc_log_set_level(ARC_LOG_INFO);
    arc_log(ARC_LOG_DEBUG, "hidden %d", 1);
    arc_log_info("hello \"%s\"\n\t%d", "world", 42);
    arc_log_set_trace("4bf92f3577b34da6a3ce929d0e0e4736");
    arc_log_warn("with trace");
    arc_log_set_trace(NULL);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    arc_log_error("%s", big);

    arc_buf line = ARC_BUF_INIT;
    arc_log_begin(&line, ARC_LOG_INFO);
    arc_buf_append_str(&line, ",\"extra\":1");
    arc_log_end(&line);
    arc_log_begin(&line, ARC_LOG_DEBUG); /* below the level: dropped */
    arc_log_end(&line);
    arc_buf_cleanup(&line);
    arc_log_close();

    static char lines[8][8192];
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    fclose(fp);
    int n = read_lines(lines, 8);
    assert_int_equal(n, 4);
    json_object *o = json_tokener_parse(lines[0]);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "msg", &v));
    assert_string_equal(json_object_get_string(v), "hello \"world\"\n\t42");
    assert_true(json_object_object_get_ex(o, "service", &v));
    assert_string_equal(json_object_get_string(v), "cat\"alog");
    assert_true(json_object_object_get_ex(o, "level", &v));
    assert_string_equal(json_object_get_string(v), "info");
    assert_true(json_object_object_get_ex(o, "pid", &v));
    assert_int_equal(json_object_get_int(v), getpid());
    assert_true(json_object_object_get_ex(o, "ts", &v));
    const char *ts = json_object_get_string(v);
    assert_int_equal(strlen(ts), 24);
    assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
    assert_false(json_object_object_get_ex(o, "trace_id", NULL));
    json_object_put(o);

    o = json_tokener_parse(lines[1]);
    assert_true(json_object_object_get_ex(o, "trace_id", &v));
    assert_string_equal(json_object_get_string(v), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_true(json_object_object_get_ex(o, "level", &v));
    assert_string_equal(json_object_get_string(v), "warn");
    json_object_put(o);
    assert_non_null(strstr(lines[2], "\"level\":\"error\""));
    assert_non_null(strstr(lines[3], ",\"extra\":1}\n"));
    unlink(path);
}

static void
test_open_fails(void **state)
{
    (void)state;
    assert_int_equal(arc_log_open("x", "/nonexistent-dir/x.log"), -1);
    arc_log_info("still goes to stderr");
}

/* Lines written after arc_log_start from the environment at the given level. */
static int
lines_at_level(const char *level, char lines[][8192], int max)
{
    snprintf(path, sizeof path, "/tmp/arcade-log-test-%d.log", (int)getpid());
    unlink(path);
    setenv("ARCADE_LOG_FILE", path, 1);
    setenv("ARCADE_LOG_LEVEL", level, 1);
    struct arc_config cfg;
    assert_int_equal(arc_config_load(&cfg, "catalog"), 0);
    assert_int_equal(arc_log_start(&cfg), 0);
    arc_log(ARC_LOG_DEBUG, "a debug line");
    arc_log_info("an info line");
    arc_log_warn("a warn line");
    arc_log_error("an error line");
    arc_log_close();
    int n = read_lines(lines, max);
    unlink(path);
    return n;
}

/* ARCADE_LOG_LEVEL decides the lowest level written, for every main that
 * starts its log with arc_log_start. */
static void
test_start_applies_level(void **state)
{
    (void)state;
    static char lines[8][8192];
    assert_int_equal(lines_at_level("debug", lines, 8), 4);
    assert_non_null(strstr(lines[0], "\"level\":\"debug\""));
    assert_non_null(strstr(lines[0], "\"service\":\"catalog\""));
    assert_int_equal(lines_at_level("info", lines, 8), 3);
    assert_non_null(strstr(lines[0], "an info line"));
    assert_int_equal(lines_at_level("warn", lines, 8), 2);
    assert_non_null(strstr(lines[0], "a warn line"));
    assert_int_equal(lines_at_level("error", lines, 8), 1);
    assert_non_null(strstr(lines[0], "an error line"));
    unsetenv("ARCADE_LOG_FILE");
    unsetenv("ARCADE_LOG_LEVEL");
    arc_log_set_level(ARC_LOG_INFO);
}

static void
test_level_parse(void **state)
{
    (void)state;
    enum arc_log_level l = ARC_LOG_INFO;
    assert_int_equal(arc_log_level_parse("warn", &l), 0);
    assert_int_equal(l, ARC_LOG_WARN);
    assert_int_equal(arc_log_level_parse("verbose", &l), -1);
    assert_int_equal(arc_log_level_parse(NULL, &l), -1);
    assert_int_equal(l, ARC_LOG_WARN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_open_fails),
        cmocka_unit_test(test_start_applies_level),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
